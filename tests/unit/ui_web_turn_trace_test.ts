import assert from "node:assert/strict";
import { TurnTiming } from "../../core/mod.ts";
import {
  MAX_KEYS_PER_TURN,
  traceConverters,
  TurnTracer,
} from "../../services/ui-web/turn_trace.ts";

const T0 = 1_700_000_000; // epoch seconds
const at = (ms: number) => T0 + ms / 1000;

Deno.test("turn trace: a voice turn through the LLM gets every mark and stage", () => {
  const tracer = new TurnTracer();
  assert.equal(tracer.add({ kind: "wake", ts: at(0), type: "wake" }), null);
  tracer.add({ kind: "vad", ts: at(500), event: "speech_start", uttId: "u1" });
  tracer.add({ kind: "vad", ts: at(2000), event: "speech_end", uttId: "u1", reason: "silence" });
  tracer.add({
    kind: "final",
    ts: at(2100),
    messageId: "m1",
    uttId: "u1",
    sttTs: at(2099),
    text: "tell me a joke",
  });
  tracer.add({ kind: "llm_request", ts: at(2105), envelopeId: "m1", requestId: "u1" });
  assert.equal(tracer.add({ kind: "llm_stream", ts: at(2300), requestId: "u1", text: "" }), null);
  tracer.add({ kind: "llm_stream", ts: at(2400), requestId: "u1", text: "Why" });
  tracer.add({ kind: "llm_stream", ts: at(2450), requestId: "u1", text: " not." });
  tracer.add({ kind: "say", ts: at(2460), uttId: "u1", sttTs: at(2099) });
  tracer.add({ kind: "say", ts: at(2470), uttId: "u1", sttTs: at(2099) }); // 2nd sentence
  tracer.add({ kind: "tts_status", ts: at(2700), event: "speaking_start", uttId: "u1" });
  tracer.add({ kind: "audio", ts: at(2710), uttId: "u1" });
  tracer.add({ kind: "audio", ts: at(2810), uttId: "u1" });
  const end = tracer.add({ kind: "tts_status", ts: at(4000), event: "speaking_end", uttId: "u1" });
  assert.ok(end);
  assert.equal(end.finished, true);
  assert.deepEqual(end.turn, {
    turn_id: "u1",
    text: "tell me a joke",
    decision: "llm",
    started: T0,
    marks: {
      wake: 0,
      speech_start: 500,
      speech_end: 2000,
      stt_final: 2100,
      decision: 2105,
      llm_request: 2105,
      first_token: 2400,
      first_sentence: 2460,
      playback_start: 2700,
      first_audio: 2710,
      playback_end: 4000,
    },
    stages: [
      { stage: "listen", start_ms: 0, ms: 500 },
      { stage: "speech", start_ms: 500, ms: 1500 },
      { stage: "stt", start_ms: 2000, ms: 100 },
      { stage: "route", start_ms: 2100, ms: 5 },
      { stage: "llm", start_ms: 2105, ms: 295 },
      { stage: "sentence", start_ms: 2400, ms: 60 },
      { stage: "tts", start_ms: 2460, ms: 250 },
      { stage: "playback", start_ms: 2700, ms: 1300 },
    ],
    response_ms: 710,
    done: true,
  });
  // The wire schema accepts it.
  TurnTiming.parse(end.turn);
  // A second speaking_end (another sentence) moves the end but is not a new finish.
  const again = tracer.add({
    kind: "tts_status",
    ts: at(5000),
    event: "speaking_end",
    uttId: "u1",
  });
  assert.equal(again?.finished, false);
  assert.equal(again?.turn.marks.playback_end, 5000);
  assert.equal(tracer.turns().length, 1);
});

Deno.test("turn trace: a typed question (no utt_id) is tied by the transcript's message id", () => {
  const tracer = new TurnTracer();
  tracer.add({ kind: "final", ts: at(0), messageId: "m2", text: "hello there" });
  tracer.add({ kind: "llm_request", ts: at(3), envelopeId: "m2", requestId: "rt-abc" });
  tracer.add({ kind: "llm_stream", ts: at(103), requestId: "rt-abc", text: "Hi." });
  tracer.add({ kind: "say", ts: at(110), uttId: "rt-abc" });
  tracer.add({ kind: "audio", ts: at(300), uttId: "rt-abc" });
  const [turn] = tracer.turns();
  assert.equal(turn.turn_id, "m2");
  assert.equal(turn.decision, "llm");
  assert.deepEqual(turn.stages.map((s) => [s.stage, s.ms]), [
    ["route", 3],
    ["llm", 100],
    ["sentence", 7],
    ["tts", 190],
  ]);
  assert.equal(turn.response_ms, 300); // from the transcript: no end of speech was seen
  assert.equal(turn.done, false);
});

Deno.test("turn trace: a rule reply is tied by stt_ts and tts-worker's made-up utterance id", () => {
  const tracer = new TurnTracer();
  tracer.add({ kind: "vad", ts: at(0), event: "speech_start", uttId: "u3" });
  tracer.add({ kind: "vad", ts: at(900), event: "speech_end", uttId: "u3" });
  tracer.add({
    kind: "final",
    ts: at(1000),
    messageId: "m3",
    uttId: "u3",
    sttTs: at(999),
    text: "what time is it",
  });
  // A wake ack and an announcement belong to no turn.
  assert.equal(tracer.add({ kind: "say", ts: at(1001), wakeAck: true }), null);
  tracer.add({ kind: "say", ts: at(1002), sttTs: at(999) });
  tracer.add({ kind: "tts_status", ts: at(1100), event: "speaking_start", uttId: null });
  tracer.add({ kind: "audio", ts: at(1101), uttId: "tts-xyz" });
  const end = tracer.add({ kind: "tts_status", ts: at(2000), event: "speaking_end" });
  assert.equal(end?.finished, true);
  assert.equal(end?.turn.decision, "rule");
  assert.equal(end?.turn.marks.decision, 1002);
  assert.equal(end?.turn.marks.first_audio, 1101);
  assert.equal(end?.turn.response_ms, 201);
  assert.equal(end?.turn.marks.wake, undefined);
});

Deno.test("turn trace: blips and muted utterances are dropped; old turns are forgotten", () => {
  const tracer = new TurnTracer(2);
  tracer.add({ kind: "vad", ts: at(0), event: "speech_start", uttId: "b" });
  tracer.add({ kind: "vad", ts: at(100), event: "speech_end", uttId: "b", reason: "blip" });
  assert.equal(tracer.turns().length, 0);
  assert.equal(
    tracer.add({ kind: "vad", ts: at(200), event: "speech_end", uttId: "b" }),
    null,
    "an unknown utterance is ignored",
  );
  for (const id of ["a1", "a2", "a3"]) {
    tracer.add({ kind: "final", ts: at(300), messageId: id, text: id });
  }
  assert.deepEqual(tracer.turns().map((t) => t.turn_id), ["a2", "a3"]);
  // The forgotten turn's ids no longer match.
  assert.equal(
    tracer.add({ kind: "llm_request", ts: at(400), envelopeId: "a1", requestId: "r" }),
    null,
  );
  // Messages of unknown requests are ignored.
  assert.equal(tracer.add({ kind: "audio", ts: at(500), uttId: "nobody" }), null);
  assert.equal(
    tracer.add({ kind: "llm_stream", ts: at(500), requestId: "nobody", text: "x" }),
    null,
  );
});

Deno.test("turn trace: a wake word older than the link window starts no turn", () => {
  const tracer = new TurnTracer();
  tracer.add({ kind: "wake", ts: at(0), type: "wake" });
  tracer.add({ kind: "wake", ts: at(10), type: "timeout" }); // not a wake
  tracer.add({ kind: "vad", ts: at(20_000), event: "speech_start", uttId: "late" });
  assert.equal(tracer.turns()[0].marks.wake, undefined);
  assert.equal(tracer.turns()[0].started, at(20_000));
});

Deno.test("turn trace: repeated requests for one transcript do not grow the index", () => {
  const tracer = new TurnTracer();
  tracer.add({ kind: "final", ts: at(0), messageId: "m", uttId: "u", sttTs: at(0), text: "x" });
  for (let i = 0; i < 1000; i++) {
    tracer.add({ kind: "llm_request", ts: at(1), envelopeId: "m", requestId: `r${i}` });
  }
  // utt, msg and stt keys, then request ids up to the cap: later ones are not indexed.
  const indexed = MAX_KEYS_PER_TURN - 3;
  assert.notEqual(
    tracer.add({ kind: "llm_stream", ts: at(2), requestId: `r${indexed - 1}`, text: "a" }),
    null,
  );
  assert.equal(tracer.add({ kind: "audio", ts: at(3), uttId: `r${indexed}` }), null);
  assert.equal(tracer.add({ kind: "audio", ts: at(3), uttId: "r999" }), null);
});

Deno.test("trace converters: each traced topic's payload becomes its tracer event", () => {
  const e = { id: "env1", ts: at(10) };
  assert.deepEqual(traceConverters.wakeEvent({ type: "wake" }, e), {
    kind: "wake",
    ts: e.ts,
    type: "wake",
  });
  assert.deepEqual(
    traceConverters.sttVad({ event: "speech_end", utt_id: "u1", reason: "silence" }, e),
    { kind: "vad", ts: e.ts, event: "speech_end", uttId: "u1", reason: "silence" },
  );
  // The transcript is found again by its envelope id (the llm/request's envelope id).
  assert.deepEqual(
    traceConverters.sttFinal({ utt_id: "u1", ts: at(9), text: "hi" }, e),
    { kind: "final", ts: e.ts, messageId: "env1", uttId: "u1", sttTs: at(9), text: "hi" },
  );
  assert.deepEqual(traceConverters.llmRequest({ id: "r1" }, e), {
    kind: "llm_request",
    ts: e.ts,
    envelopeId: "env1",
    requestId: "r1",
  });
  assert.deepEqual(traceConverters.llmStream({ id: "r1", delta: "Hi" }, e), {
    kind: "llm_stream",
    ts: e.ts,
    requestId: "r1",
    text: "Hi",
  });
  // The done marker has no delta: an empty text, which marks nothing.
  assert.deepEqual(traceConverters.llmStream({ id: "r1", delta: null }, e), {
    kind: "llm_stream",
    ts: e.ts,
    requestId: "r1",
    text: "",
  });
  assert.deepEqual(
    traceConverters.ttsSay(
      { utt_id: "r1", stt_ts: at(9), wake_ack: false, system_announce: null },
      e,
    ),
    { kind: "say", ts: e.ts, uttId: "r1", sttTs: at(9), wakeAck: false, systemAnnounce: null },
  );
  assert.deepEqual(traceConverters.ttsStatus({ event: "speaking_start", utt_id: "r1" }, e), {
    kind: "tts_status",
    ts: e.ts,
    event: "speaking_start",
    uttId: "r1",
  });
  assert.deepEqual(traceConverters.ttsAudio({ seq: 0, utt_id: "r1" }, e), {
    kind: "audio",
    ts: e.ts,
    uttId: "r1",
  });
});

Deno.test("trace converters: only the first tts/audio chunk with a string utt_id counts", () => {
  const e = { id: "env", ts: at(0) };
  assert.equal(traceConverters.ttsAudio({ seq: 1, utt_id: "r1" }, e), null);
  assert.equal(traceConverters.ttsAudio({ seq: "0", utt_id: "r1" }, e), null);
  assert.equal(traceConverters.ttsAudio({ seq: 0, utt_id: 7 }, e), null);
  assert.equal(traceConverters.ttsAudio({ seq: 0 }, e), null);
});

Deno.test("trace converters: a turn fed from payloads gets the same timeline as from events", () => {
  const byEvents = new TurnTracer();
  byEvents.add({ kind: "vad", ts: at(0), event: "speech_start", uttId: "u" });
  byEvents.add({ kind: "vad", ts: at(900), event: "speech_end", uttId: "u", reason: "silence" });
  byEvents.add({
    kind: "final",
    ts: at(910),
    messageId: "m",
    uttId: "u",
    sttTs: at(905),
    text: "q",
  });
  byEvents.add({ kind: "llm_request", ts: at(912), envelopeId: "m", requestId: "u" });
  byEvents.add({ kind: "llm_stream", ts: at(1000), requestId: "u", text: "A." });
  byEvents.add({ kind: "say", ts: at(1010), uttId: "u", sttTs: at(905) });
  byEvents.add({ kind: "tts_status", ts: at(1200), event: "speaking_start", uttId: "u" });
  byEvents.add({ kind: "audio", ts: at(1202), uttId: "u" });
  const expected = byEvents.add({
    kind: "tts_status",
    ts: at(2000),
    event: "speaking_end",
    uttId: "u",
  });

  const c = traceConverters;
  const tracer = new TurnTracer();
  const env = (ms: number, id = "x") => ({ id, ts: at(ms) });
  const feed = (event: ReturnType<typeof c.ttsAudio>) => event && tracer.add(event);
  feed(c.sttVad({ event: "speech_start", utt_id: "u" }, env(0)));
  feed(c.sttVad({ event: "speech_end", utt_id: "u", reason: "silence" }, env(900)));
  feed(c.sttFinal({ utt_id: "u", ts: at(905), text: "q" }, env(910, "m")));
  feed(c.llmRequest({ id: "u" }, env(912)));
  feed(c.llmStream({ id: "u", delta: "A." }, env(1000)));
  feed(c.ttsSay({ utt_id: "u", stt_ts: at(905) }, env(1010)));
  feed(c.ttsStatus({ event: "speaking_start", utt_id: "u" }, env(1200)));
  feed(c.ttsAudio({ seq: 0, utt_id: "u" }, env(1202)));
  feed(c.ttsAudio({ seq: 1, utt_id: "u" }, env(1300)));
  const got = feed(c.ttsStatus({ event: "speaking_end", utt_id: "u" }, env(2000)));
  assert.ok(expected?.finished);
  assert.deepEqual(got, expected);
});
