/** The router's state machine, driven with a fake clock (@sinonjs/fake-timers). */
import assert from "node:assert/strict";
import { FinalTranscript, HealthPing, LLMCancel, TtsStatus } from "../../core/mod.ts";
import { DEFAULT_LLM_NOT_CONFIGURED_TEXT } from "../../services/router/config.ts";
import { RECENT_FINAL_IDS } from "../../services/router/router.ts";
import { fakeRouter } from "../helpers/router_fake_core.ts";

Deno.test("router core: the gate drops transcripts without wake, live mode or response window", () => {
  const r = fakeRouter();
  assert.equal(r.final("what time is it"), "dropped:no-wake");
  assert.deepEqual(r.outputs, []);
  assert.equal(r.core.counters.droppedNoWake, 1);
});

Deno.test("router core: a wake opens the window for ROUTER_WAKE_WINDOW_SEC, one utterance only", () => {
  const r = fakeRouter({ ROUTER_WAKE_WINDOW_SEC: "8" });
  r.wake("wake");
  r.clock.tick(7_900);
  assert.equal(r.final("what time is it"), "rule:time");
  assert.deepEqual(r.said().at(-1), "It is 3:07 PM.");
  assert.equal(r.final("what time is it"), "dropped:no-wake", "window closes after an utterance");
  r.wake("wake");
  r.clock.tick(8_001);
  assert.equal(r.final("what time is it"), "dropped:no-wake", "window expired");
});

Deno.test("router core: speech that started inside the wake window is answered after the window closed", () => {
  const r = fakeRouter({ ROUTER_WAKE_WINDOW_SEC: "8" });
  r.wake("wake");
  r.clock.tick(1_500); // a pause after the wake phrase
  r.core.onSpeechActivity({ event: "speech_start", utt_id: "u1", max_ms: 20_000 });
  r.clock.tick(12_000); // a long sentence and a slow transcriber: past the 8 s window
  assert.equal(r.core.wakeWindowOpen, false);
  assert.equal(r.final("what time is it", { utt_id: "u1" }), "rule:time");
  // one transcript per admission; other utterances still need a window
  assert.equal(r.final("what time is it", { utt_id: "u1" }), "dropped:no-wake");
  assert.equal(r.final("what time is it", { utt_id: "u2" }), "dropped:no-wake");
});

Deno.test("router core: speech starting outside every window admits nothing; admissions expire", () => {
  const r = fakeRouter({ ROUTER_WAKE_WINDOW_SEC: "8" });
  r.core.onSpeechActivity({ event: "speech_start", utt_id: "u1", max_ms: 20_000 });
  assert.equal(r.final("what time is it", { utt_id: "u1" }), "dropped:no-wake");
  r.wake("wake");
  r.core.onSpeechActivity({ event: "speech_end", utt_id: "u2" }); // only starts admit
  r.core.onSpeechActivity({ event: "speech_start", utt_id: "u3", max_ms: 10_000 });
  r.clock.tick(10_000 + 8_000); // max_ms + the wake window
  assert.equal(r.final("what time is it", { utt_id: "u2" }), "dropped:no-wake");
  assert.equal(r.final("what time is it", { utt_id: "u3" }), "dropped:no-wake");
});

Deno.test("router core: wake acks cycle through the choices with wake_ack set", () => {
  const r = fakeRouter({ ROUTER_WAKE_ACK_CHOICES: "Hmm?|Huh?|Yes?" });
  for (let i = 0; i < 4; i++) r.wake("wake");
  r.wake("wake", { tts_id: "tts-9" });
  assert.deepEqual(r.said(), ["Hmm?", "Huh?", "Yes?", "Hmm?", "Huh?"]);
  const says = r.outputs.flatMap((o) => o.topic === "tts/say" ? [o.say] : []);
  assert.ok(says.every((s) => s.wake_ack === true && s.style === "friendly"));
  assert.equal(says[0].utt_id, `wake-ack-${Date.UTC(2026, 0, 15, 15, 7, 0)}`);
  assert.equal(says[4].utt_id, "tts-9");

  const single = fakeRouter({ ROUTER_WAKE_ACK_TEXT: "Yes, boss?" });
  single.wake("wake");
  assert.deepEqual(single.said(), ["Yes, boss?"]);
  const off = fakeRouter({ ROUTER_WAKE_ACK_ENABLED: "off", ROUTER_WAKE_REPROMPT_TEXT: "Go on." });
  off.wake("wake");
  assert.deepEqual(off.said(), ["Go on."]);
});

Deno.test("router core: the end of a spoken reply opens the response window (not acks, not announcements)", () => {
  const r = fakeRouter({ ROUTER_RESPONSE_WINDOW_SEC: "10" });
  r.core.onTtsStatus(TtsStatus.parse({ event: "speaking_end", wake_ack: true }));
  r.core.onTtsStatus(TtsStatus.parse({ event: "speaking_end", system_announce: true }));
  r.core.onTtsStatus(TtsStatus.parse({ event: "speaking_start" }));
  assert.equal(r.core.responseWindowOpen, false);
  r.core.onTtsStatus(TtsStatus.parse({ event: "speaking_end" }));
  r.clock.tick(9_999);
  assert.equal(r.final("hi"), "rule:greeting");
  r.core.onTtsStatus(TtsStatus.parse({ event: "speaking_end" }));
  r.clock.tick(10_000);
  assert.equal(r.final("hi"), "dropped:no-wake");
});

Deno.test("router core: a leading wake phrase opens the gate and is stripped; ui-web text is ungated", () => {
  const r = fakeRouter();
  assert.equal(r.final("Hey TARS, what time is it"), "rule:time");
  assert.equal(r.final("Hey TARS."), "wake-phrase-only");
  assert.equal(r.core.wakeWindowOpen, true);
  assert.equal(r.final("tell me a joke"), "llm");
  assert.equal(r.requests()[0].text, "tell me a joke");
  assert.equal(r.final("tell me another", {}, "ui-web"), "llm");
  const strict = fakeRouter({ ROUTER_WAKE_PHRASE_OPENS_GATE: "0", ROUTER_UNGATED_SOURCES: "x" });
  assert.equal(strict.final("Hey TARS, what time is it"), "dropped:no-wake");
  assert.equal(strict.final("hi", {}, "ui-web"), "dropped:no-wake");
});

Deno.test("router core: rules answer with no LLM: say, greeting only when whole, time", () => {
  const r = fakeRouter({ ROUTER_LIVE_MODE_DEFAULT: "1" });
  assert.equal(r.final("Say good night, Gracie"), "rule:say");
  assert.equal(r.final("Hello there!"), "rule:greeting");
  assert.equal(r.final("hey, tell me a story"), "llm");
  assert.deepEqual(r.said(), ["good night, Gracie", "Hello! How can I help?"]);
  const says = r.outputs.flatMap((o) => o.topic === "tts/say" ? [o.say] : []);
  assert.equal(says[1].style, "friendly");
  assert.equal(says[0].lang, "en");
});

Deno.test("router core: live mode enter/exit with acks and hints", () => {
  const r = fakeRouter();
  r.wake("wake");
  r.clear();
  assert.equal(r.final("enter live mode"), "live:enter");
  assert.equal(r.core.liveMode, true);
  assert.equal(r.final("what time is it"), "rule:time", "no wake needed in live mode");
  assert.equal(r.final("Enter live mode!"), "live:already-on");
  assert.equal(r.final("exit live mode"), "live:exit");
  assert.equal(r.final("exit live mode"), "dropped:no-wake");
  r.wake("wake");
  r.clear();
  assert.equal(r.final("exit live mode"), "live:already-off");
  assert.deepEqual(r.said(), ["Live mode is already off."]);
});

Deno.test("router core: live mode by command (router/live_mode/set) is silent; every change is reported", () => {
  const r = fakeRouter();
  const reported = () =>
    r.outputs.flatMap((o) => o.topic === "router/live_mode" ? [o.enabled] : []);
  assert.equal(r.core.setLiveMode(true), true);
  assert.equal(r.core.liveMode, true);
  assert.equal(r.core.setLiveMode(true), false, "no change, no report");
  assert.equal(r.final("what time is it"), "rule:time", "the gate is open");
  assert.equal(r.core.setLiveMode(false), true);
  assert.equal(r.final("what time is it"), "dropped:no-wake");
  assert.equal(r.said().length, 1, "only the time: switching by command says nothing");
  // The voice phrases report their change too (Home Assistant's switch follows them).
  r.wake("wake");
  assert.equal(r.final("enter live mode"), "live:enter");
  assert.equal(r.final("enter live mode"), "live:already-on");
  assert.equal(r.final("exit live mode"), "live:exit");
  assert.deepEqual(reported(), [true, false, true, false]);
});

Deno.test("router core: movement intents go to movement/test, stop/halt to movement/stop", () => {
  const r = fakeRouter({ ROUTER_LIVE_MODE_DEFAULT: "1" });
  assert.equal(r.final("Take a bow", { utt_id: "u-1" }), "movement");
  assert.equal(r.final("please wave at me"), "movement");
  assert.equal(r.final("I know"), "llm");
  assert.equal(r.final("Halt!"), "movement:stop");
  const moves = r.outputs.filter((o) => o.topic.startsWith("movement/"));
  assert.deepEqual(moves, [
    { topic: "movement/test", move: { command: "bow", speed: 1, request_id: "u-1" } },
    { topic: "movement/test", move: { command: "wave", speed: 1, request_id: "mv-00000001" } },
    { topic: "movement/stop", reason: "voice: Halt!" },
  ]);
  // "Halt" also barged in on the LLM request for "I know".
  assert.deepEqual(r.cancels(), [r.requests()[0].id]);
});

Deno.test("router core: System online. once when stt and tts are both healthy", () => {
  const r = fakeRouter();
  const ok = HealthPing.parse({ ok: true, event: "ready" });
  r.core.onHealth("system/health/tars-tts", ok);
  r.core.onHealth("system/health/tars-llm", ok);
  assert.deepEqual(r.said(), []);
  r.core.onHealth("system/health/tars-stt", HealthPing.parse({ ok: false, event: "lost" }));
  assert.deepEqual(r.said(), []);
  r.core.onHealth("system/health/tars-stt", ok);
  r.core.onHealth("system/health/tars-stt", ok);
  assert.deepEqual(r.outputs, [{
    topic: "tts/say",
    say: {
      text: "System online.",
      lang: "en",
      utt_id: "boot",
      style: "neutral",
      system_announce: true,
    },
  }]);
  const custom = fakeRouter({ TOPIC_HEALTH_STT: "system/health/stt", ONLINE_ANNOUNCE_TEXT: "Up." });
  custom.core.onHealth("system/health/tars-tts", ok);
  custom.core.onHealth("system/health/stt", ok);
  assert.deepEqual(custom.said(), ["Up."]);
});

Deno.test("router core: LLM request with bounded history and correlation = transcript id", () => {
  const r = fakeRouter({ ROUTER_LIVE_MODE_DEFAULT: "1", ROUTER_HISTORY_MAX_MESSAGES: "4" });
  const turns = ["one?", "two?", "three?"];
  for (const [i, text] of turns.entries()) {
    r.final(text, { utt_id: `utt-${i}`, message_id: `m${i}` });
    r.chunk(`utt-${i}`, 1, `Answer ${i}.`);
    r.chunk(`utt-${i}`, 2, null, true);
    r.respond(`utt-${i}`, { reply: `Answer ${i}.` });
  }
  r.final("four?", { utt_id: "utt-3", message_id: "m3" });
  const requests = r.outputs.flatMap((o) => o.topic === "llm/request" ? [o] : []);
  assert.deepEqual(requests.map((o) => o.correlationId), ["m0", "m1", "m2", "m3"]);
  assert.equal(requests[0].request.stream, true);
  assert.deepEqual(requests[0].request.conversation_history, []);
  assert.deepEqual(
    requests[3].request.conversation_history?.map((m) => `${m.role}:${m.content}`),
    ["user:two?", "assistant:Answer 1.", "user:three?", "assistant:Answer 2."],
  );
  // Fully streamed replies were spoken once each, never repeated by the final response.
  assert.deepEqual(r.said(), ["Answer 0.", "Answer 1.", "Answer 2."]);
  // A repeated utt_id gets a fresh request id.
  r.final("five?", { utt_id: "utt-3" });
  assert.equal(r.requests().at(-1)?.id, "rt-00000001");
});

Deno.test("router core: streamed sentences are spoken as they complete, utt_id = request id", () => {
  const r = fakeRouter({ ROUTER_LIVE_MODE_DEFAULT: "1" });
  r.final("tell me something", { utt_id: "q1", ts: 1234.5 });
  r.chunk("q1", 1, "Sure");
  r.chunk("q1", 2, "! Cats sleep");
  assert.deepEqual(r.said(), ["Sure!"]);
  r.chunk("q1", 3, " a lot.");
  r.chunk("q1", 4, " The end");
  r.chunk("q1", 5, null, true);
  assert.deepEqual(r.said(), ["Sure!", "Cats sleep a lot.", "The end"]);
  const says = r.outputs.flatMap((o) => o.topic === "tts/say" ? [o.say] : []);
  assert.ok(says.every((s) => s.utt_id === "q1" && s.stt_ts === 1234.5));
  r.respond("q1", { reply: "Sure! Cats sleep a lot. The end" });
  assert.equal(r.said().length, 3, "fully streamed: the final reply is skipped");
  r.respond("q1", { reply: "Sure! Cats sleep a lot. The end" });
  assert.equal(r.core.counters.staleMessages, 1, "a duplicate response is ignored");
});

Deno.test("router core: the final reply's residual or, on desync, the full reply is spoken", () => {
  const r = fakeRouter({ ROUTER_LIVE_MODE_DEFAULT: "1" });
  r.final("q", { utt_id: "a" });
  r.chunk("a", 1, "First part.");
  r.chunk("a", 2, " Second part");
  // The response overtakes the done marker: the rest comes from the reply, not the buffer.
  r.respond("a", { reply: "First part. Second part and more." });
  r.chunk("a", 3, null, true);
  assert.deepEqual(r.said(), ["First part.", "Second part and more."]);
  assert.equal(r.core.history.at(-1)?.content, "First part. Second part and more.");

  r.clear();
  r.final("q", { utt_id: "b" });
  r.chunk("b", 1, "Hello.");
  r.chunk("b", 2, null, true);
  r.respond("b", { reply: "Goodbye." });
  assert.deepEqual(r.said(), ["Hello.", "Goodbye."]);
  assert.equal(r.core.counters.desyncs, 1);

  r.clear();
  r.final("q", { utt_id: "c" });
  r.respond("c", { reply: "Not streamed at all." });
  assert.deepEqual(r.said(), ["Not streamed at all."]);
});

Deno.test("router core: with ROUTER_LLM_TTS_STREAM off only the final reply is spoken", () => {
  const r = fakeRouter({ ROUTER_LIVE_MODE_DEFAULT: "1", ROUTER_LLM_TTS_STREAM: "false" });
  r.final("q", { utt_id: "a" });
  r.chunk("a", 1, "Streamed. ");
  r.clock.tick(60_000); // the chunk counted as an answer: no timeout fallback
  r.respond("a", { reply: "Streamed. Whole." });
  assert.deepEqual(r.said(), ["Streamed. Whole."]);
});

Deno.test("router core: duplicate and out-of-order chunks never repeat speech", () => {
  const r = fakeRouter({ ROUTER_LIVE_MODE_DEFAULT: "1" });
  r.final("q", { utt_id: "a" });
  r.chunk("a", 2, " world.");
  r.chunk("a", 1, "Hello");
  r.chunk("a", 1, "Hello");
  r.chunk("a", 2, " world.");
  r.chunk("a", 4, " Again.");
  r.chunk("a", 3, " Hi.");
  r.chunk("a", 3, " Hi.");
  r.chunk("a", 5, null, true);
  r.respond("a", { reply: "Hello world. Hi. Again." });
  assert.deepEqual(r.said(), ["Hello world.", "Hi.", "Again."]);
  assert.equal(r.core.counters.duplicateChunks, 3);
  assert.equal(r.core.counters.outOfOrderChunks, 2);
});

Deno.test("router core: an LLM error speaks the fallback; 'LLM not configured' speaks how to configure", () => {
  const r = fakeRouter({ ROUTER_LIVE_MODE_DEFAULT: "1", ROUTER_LLM_FALLBACK_TEXT: "Oops." });
  r.final("q", { utt_id: "a" });
  r.respond("a", { error: "HTTP 500 from the LLM server" });
  r.final("q", { utt_id: "b" });
  r.respond("b", {
    error: "LLM not configured: set OPENAI_API_KEY or OPENAI_BASE_URL / LLM_BASE_URL.",
  });
  assert.deepEqual(r.said(), ["Oops.", DEFAULT_LLM_NOT_CONFIGURED_TEXT]);
  assert.equal(r.core.counters.llmErrors, 2);
  // An error after part of the reply was spoken: no fallback on top of it.
  r.clear();
  r.final("q", { utt_id: "c" });
  r.chunk("c", 1, "Half a reply.");
  r.respond("c", { error: "stream broke" });
  assert.deepEqual(r.said(), ["Half a reply."]);
});

Deno.test("router core: no first delta within ROUTER_LLM_TIMEOUT_SEC → fallback and llm/cancel", () => {
  const r = fakeRouter({ ROUTER_LIVE_MODE_DEFAULT: "1", ROUTER_LLM_TIMEOUT_SEC: "5" });
  r.final("q", { utt_id: "slow" });
  r.clock.tick(4_999);
  assert.deepEqual(r.said(), []);
  r.clock.tick(1);
  assert.deepEqual(r.said(), ["Sorry, my language model is not answering right now."]);
  assert.deepEqual(r.cancels(), ["slow"]);
  r.chunk("slow", 1, "Too late.");
  r.respond("slow", { reply: "Too late." });
  assert.equal(r.said().length, 1, "a late reply is not spoken");

  // A first delta in time stops the timer, even if the reply then takes long.
  r.clear();
  r.final("q", { utt_id: "ok" });
  r.clock.tick(4_000);
  r.chunk("ok", 1, "Thinking");
  r.clock.tick(30_000);
  r.respond("ok", { reply: "Thinking hard." });
  assert.deepEqual(r.said(), ["Thinking hard."]);
  assert.equal(r.core.counters.llmTimeouts, 1);
  assert.equal(r.clock.countTimers(), 0);
});

Deno.test("router core: barge-in (interrupt, cancelled, wake) cancels the active request", () => {
  for (const type of ["interrupt", "cancelled", "wake"]) {
    const r = fakeRouter({ ROUTER_LIVE_MODE_DEFAULT: "1", ROUTER_WAKE_ACK_ENABLED: "0" });
    r.final("tell me a long story", { utt_id: "story" });
    r.chunk("story", 1, "Once upon a time.");
    r.chunk("story", 2, " There was");
    r.wake(type);
    r.chunk("story", 3, " a robot.");
    r.chunk("story", 4, null, true);
    r.respond("story", { reply: "Once upon a time. There was a robot." });
    assert.deepEqual(r.said(), ["Once upon a time."], type);
    assert.deepEqual(r.cancels(), ["story"], type);
    assert.equal(r.core.activeRequestId, null);
    assert.equal(r.core.history.at(-1)?.content, "Once upon a time.", "what was heard");
    assert.equal(r.core.wakeWindowOpen, type !== "cancelled");
  }
});

Deno.test("router core: a new question supersedes the active request; llm/cancel from others stops speech", () => {
  const r = fakeRouter({ ROUTER_LIVE_MODE_DEFAULT: "1" });
  r.final("first", { utt_id: "a" });
  r.final("second", { utt_id: "b" });
  assert.deepEqual(r.cancels(), ["a"]);
  r.chunk("a", 1, "Old answer.");
  r.chunk("b", 1, "New answer.");
  assert.deepEqual(r.said(), ["New answer."]);
  r.core.onCancel(LLMCancel.parse({ id: "b" }));
  r.chunk("b", 2, " More.");
  assert.deepEqual(r.said(), ["New answer."]);
  assert.deepEqual(r.cancels(), ["a"], "a foreign cancel is not re-published");
});

Deno.test("router core: wake timeout leaves the window to expire; resume closes it", () => {
  const r = fakeRouter({ ROUTER_WAKE_TIMEOUT_TEXT: "Never mind.", ROUTER_WAKE_ACK_ENABLED: "no" });
  r.wake("wake");
  r.clock.tick(3_000);
  r.wake("timeout");
  assert.deepEqual(r.said(), ["Never mind."]);
  assert.equal(r.final("what time is it"), "rule:time", "late transcript still answered");
  r.wake("wake");
  r.wake("resume");
  assert.equal(r.final("what time is it"), "dropped:no-wake");
  r.wake("something-else");
  assert.equal(r.core.wakeWindowOpen, false);
});

Deno.test("router core: empty and retained transcripts are ignored", () => {
  const r = fakeRouter({ ROUTER_LIVE_MODE_DEFAULT: "1" });
  assert.equal(r.final("   "), "ignored:empty");
  const final = FinalTranscript.parse({ text: "hi" });
  assert.equal(r.core.onFinal(final, { retained: true }), "ignored:retained");
  assert.deepEqual(r.outputs, []);
});

Deno.test("router core: a redelivered transcript (same envelope id) is ignored, not re-asked", () => {
  const r = fakeRouter({ ROUTER_LIVE_MODE_DEFAULT: "true" });
  const final = FinalTranscript.parse({ text: "tell me a story", utt_id: "utt-1" });
  assert.equal(r.core.onFinal(final, { id: "env-1" }), "llm");
  assert.equal(r.core.onFinal(final, { id: "env-1" }), "ignored:duplicate");
  assert.deepEqual(r.requests().map((q) => q.id), ["utt-1"]);
  assert.deepEqual(r.cancels(), [], "the first request is not cancelled by its own copy");
  assert.equal(r.core.counters.duplicateTranscripts, 1);
  // Another utterance with the same words is a new turn.
  assert.equal(r.core.onFinal(final, { id: "env-2" }), "llm");
  assert.equal(r.requests().length, 2);
  // The memory of ids is bounded: the oldest is forgotten first.
  for (let i = 0; i < RECENT_FINAL_IDS; i++) {
    r.core.onFinal(FinalTranscript.parse({ text: "" }), { id: `fill-${i}` });
  }
  assert.equal(r.core.onFinal(final, { id: "env-1" }), "llm");
});
