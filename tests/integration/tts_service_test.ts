import assert from "node:assert/strict";
import { topics } from "../../core/mod.ts";
import { fromBase64, peak } from "../../services/tts-worker/audio.ts";
import { startTtsHarness } from "../helpers/tts_service.ts";
import { sleep, waitFor } from "../helpers/wait.ts";

const LONG = "This is the first sentence of a fairly long answer, spoken slowly. " +
  "Here comes the second sentence, which is also quite long. And a third one to finish.";

function samplesOf(chunks: { payload: { data: string } }[]): Int16Array {
  const bytes = chunks.map((c) => fromBase64(c.payload.data));
  const all = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const b of bytes) {
    all.set(b, offset);
    offset += b.length;
  }
  return new Int16Array(all.buffer);
}

Deno.test("tts service: tts/say → speaking_start, ~100 ms PCM chunks on tts/audio, speaking_end", async () => {
  await using h = await startTtsHarness({ TTS_WAKE_ACK_TEXTS: "Yes?" });
  await h.world.publishEvent(topics.ttsSay, {
    text: "**Hello** there. I am `TARS`.",
    utt_id: "u1",
  });
  await waitFor(() => h.events().includes("speaking_end:u1"), "speaking_end", 20_000);
  assert.deepEqual(h.events(), ["speaking_start:u1", "speaking_end:u1"]);
  const start = h.statuses[0].payload as { text?: string };
  assert.equal(start.text, "Hello there. I am TARS."); // markdown stripped
  const mine = h.chunks.filter((c) => c.payload.utt_id === "u1");
  assert.deepEqual(mine.map((c) => c.payload.seq), mine.map((_, i) => i));
  assert.equal(mine.at(-1)!.payload.final, true);
  assert.ok(mine.slice(0, -1).every((c) => !c.payload.final));
  const first = mine[0].payload;
  assert.equal(first.sample_rate, 22050);
  assert.equal(first.channels, 1);
  assert.equal(first.format, "pcm_s16le");
  assert.equal(fromBase64(first.data).length, 2205 * 2); // 100 ms
  const audio = samplesOf(mine);
  const seconds = audio.length / 22050;
  assert.ok(seconds > 1 && seconds < 6, `${seconds} s of audio`);
  assert.ok(peak(audio) > 1000, "not silence");
  // Paced in real time: the chunks span most of the audio's duration.
  const span = (mine.at(-1)!.at - mine[0].at) / 1000;
  assert.ok(span > seconds - 0.6, `chunks spread over ${span} s for ${seconds} s of audio`);
  // The end is reported after the audio was played out.
  assert.ok(h.statuses[1].at >= mine.at(-2)!.at);
});

Deno.test("tts service: the first audio chunk says how long its synthesis took", async () => {
  await using h = await startTtsHarness({ TTS_WAKE_ACK_TEXTS: "Yes?" });
  await h.service.preloaded;
  const before = h.engine.calls.length;
  await h.world.publishEvent(topics.ttsSay, { text: "Sure, here it is.", utt_id: "s1" });
  await h.world.publishEvent(topics.ttsSay, { text: "yes?", wake_ack: true, utt_id: "w1" });
  await waitFor(() => h.events().includes("speaking_end:w1"), "speaking_end", 20_000);
  const call = h.engine.calls[before];
  assert.equal(call.text, "Sure, here it is.");
  const engineMs = call.endedAt! - call.startedAt;
  const [first, ...rest] = h.chunks.filter((c) => c.payload.utt_id === "s1");
  const reported = first.payload.synthesis_ms;
  assert.equal(typeof reported, "number");
  assert.ok(
    reported! >= engineMs - 0.05 && reported! < engineMs + 50,
    `reported ${reported} ms, the engine took ${engineMs} ms`,
  );
  assert.ok(rest.every((c) => c.payload.synthesis_ms == null), "only on the first chunk");
  // A phrase from the cache was not synthesized: no synthesis time.
  const cached = h.chunks.find((c) => c.payload.utt_id === "w1")!;
  assert.equal(cached.payload.synthesis_ms, undefined);
});

Deno.test("tts service: the next sentence is synthesized while the current one plays", async () => {
  await using h = await startTtsHarness({ TTS_AGGREGATE: "0" });
  await h.service.preloaded;
  const preloadCalls = h.engine.calls.length;
  await h.world.publishEvent(topics.ttsSay, { text: LONG, utt_id: "p1" });
  await waitFor(() => h.events().includes("speaking_end:p1"), "speaking_end", 30_000);
  const calls = h.engine.calls.slice(preloadCalls);
  assert.equal(calls.length, 3, "one synthesis per sentence");
  const chunks = h.chunks.filter((c) => c.payload.utt_id === "p1" && !c.payload.final);
  // Sentence 2 started synthesizing as soon as sentence 1 was ready, i.e. while it played
  // (sentence 1 alone is several seconds of audio) ...
  assert.ok(calls[1].startedAt - calls[0].endedAt! < 100);
  assert.ok(calls[2].startedAt < chunks.at(-1)!.at - 1_000);
  // ... so the stream has no gap: chunk arrivals never stall for long.
  const gaps = chunks.slice(1).map((c, i) => c.at - chunks[i].at);
  assert.ok(Math.max(...gaps) < 400, `largest gap ${Math.max(...gaps)} ms`);
  assert.deepEqual(h.events(), ["speaking_start:p1", "speaking_end:p1"]); // one utterance
});

Deno.test("tts service: pause and resume act mid-sentence (enveloped control)", async () => {
  await using h = await startTtsHarness({ TTS_AGGREGATE: "0" });
  await h.world.publishEvent(topics.ttsSay, { text: LONG, utt_id: "c1" });
  await waitFor(() => h.chunks.length >= 5, "playback started", 20_000);
  await h.world.publishEvent(topics.ttsControl, {
    action: "pause",
    reason: "wake_interrupt",
    id: "c1",
  });
  await waitFor(() => h.events().includes("paused:c1"), "paused", 5_000);
  const atPause = h.chunks.length;
  // Real time, not a marker: playback is paced by the clock, and a pause must hold over time.
  await sleep(800);
  // At most the chunks already in flight (lead 250 ms + one chunk) arrive after the pause.
  assert.ok(h.chunks.length - atPause <= 4, `${h.chunks.length - atPause} chunks while paused`);
  const frozen = h.chunks.length;
  await sleep(300);
  assert.equal(h.chunks.length, frozen, "nothing while paused");
  // A control for another utterance is ignored.
  const ignored = h.service.counters.ignoredControls;
  await h.world.publishEvent(topics.ttsControl, { action: "resume", id: "other" });
  await waitFor(() => h.service.counters.ignoredControls === ignored + 1, "the resume ignored");
  assert.equal(h.chunks.length, frozen);
  await h.world.publishEvent(topics.ttsControl, {
    action: "resume",
    reason: "wake_resume",
    id: "c1",
  });
  await waitFor(() => h.events().includes("speaking_end:c1"), "speaking_end", 30_000);
  assert.deepEqual(h.events(), ["speaking_start:c1", "paused:c1", "resumed:c1", "speaking_end:c1"]);
  assert.ok(h.service.counters.ignoredControls >= 1);
});

Deno.test("tts service: stop (raw JSON) cuts the sentence and clears the queue", async () => {
  await using h = await startTtsHarness({ TTS_AGGREGATE: "0" });
  await h.world.publishEvent(topics.ttsSay, { text: LONG, utt_id: "s1" });
  await h.world.publishEvent(topics.ttsSay, { text: "A queued reply.", utt_id: "s2" });
  await waitFor(() => h.chunks.length >= 3, "playback started", 20_000);
  const stoppedAt = performance.now();
  await h.world.publishJson(topics.ttsControl.topic, { action: "stop", reason: "wake_cancel" }, {
    qos: 1,
  });
  await waitFor(() => h.events().includes("speaking_end:s1"), "speaking_end", 5_000);
  assert.ok(performance.now() - stoppedAt < 2_000, "acted at once");
  assert.deepEqual(h.events(), ["speaking_start:s1", "stopped:s1", "speaking_end:s1"]);
  const end = h.statuses.at(-1)!.payload;
  assert.equal(end.reason, "wake_cancel");
  const s1 = h.chunks.filter((c) => c.payload.utt_id === "s1");
  assert.equal(s1.at(-1)!.payload.final, true);
  // The queued utterance was dropped, and late sentences of the stopped one are too.
  const ignored = h.service.counters.ignoredSays;
  await h.world.publishEvent(topics.ttsSay, { text: "Late sentence.", utt_id: "s1" });
  await waitFor(() => h.service.counters.ignoredSays === ignored + 1, "the late sentence dropped");
  assert.equal(h.service.speaker.busy, false);
  // A new utterance plays normally; it is also the marker: the speaker plays in order, so s2
  // or the late sentence, had they been queued, would have started before it.
  await h.world.publishEvent(topics.ttsSay, { text: "Back again.", utt_id: "s3" });
  await waitFor(() => h.events().includes("speaking_end:s3"), "s3 spoken", 20_000);
  const beforeS3 = h.events().slice(0, h.events().indexOf("speaking_start:s3"));
  assert.ok(!beforeS3.some((e) => e.endsWith(":s2")), h.events().join());
  assert.equal(beforeS3.filter((e) => e.startsWith("speaking_start")).length, 1);
});

Deno.test("tts service: sentences of one utt_id are aggregated into one utterance", async () => {
  await using h = await startTtsHarness({ TTS_AGGREGATE_DEBOUNCE_MS: "300" });
  for (const text of ["First part.", "Second part.", "Third part."]) {
    await h.world.publishEvent(topics.ttsSay, { text, utt_id: "a1" });
  }
  await waitFor(() => h.events().includes("speaking_end:a1"), "speaking_end", 20_000);
  assert.deepEqual(h.events(), ["speaking_start:a1", "speaking_end:a1"]);
  assert.equal(
    (h.statuses[0].payload as { text?: string }).text,
    "First part. Second part. Third part.",
  );
});

Deno.test("tts service: wake acks come from the preloaded cache without synthesis", async () => {
  await using h = await startTtsHarness({ TTS_WAKE_ACK_TEXTS: "Yes?|Hmm?" });
  await h.service.preloaded;
  assert.equal(h.service.cache.size, 3); // + "System online."
  const before = h.engine.calls.length;
  await h.world.publishEvent(topics.ttsSay, { text: "yes?", wake_ack: true, utt_id: "w1" });
  await h.world.publishEvent(topics.ttsSay, {
    text: "System online.",
    system_announce: true,
  });
  await waitFor(
    () => h.events().filter((e) => e.startsWith("speaking_end")).length === 2,
    "both spoken",
    20_000,
  );
  assert.equal(h.engine.calls.length, before, "no synthesis");
  assert.equal(h.service.speaker.stats.cacheHits, 2);
  const end = h.statuses.find((s) => s.payload.event === "speaking_end")!.payload as {
    wake_ack?: boolean;
  };
  assert.equal(end.wake_ack, true);
  // The cache is on disk: one WAV per phrase.
  // (A restart loads them instead of synthesizing; see the phrase cache unit test.)
});

Deno.test("tts service: bad input never crashes it", async () => {
  await using h = await startTtsHarness();
  await h.world.publishJson(topics.ttsSay.topic, { nope: true }, { qos: 1 });
  await h.world.publishJson(topics.ttsControl.topic, { action: "explode" }, { qos: 1 });
  await h.world.publishEvent(topics.ttsSay, { text: "   **  ** " }); // nothing to say
  await h.world.publishEvent(topics.ttsControl, { action: "pause" }); // nothing playing
  await h.world.publishEvent(topics.ttsSay, { text: "Still alive." });
  await waitFor(() => h.events().includes("speaking_end:"), "spoken", 20_000);
  assert.deepEqual(h.events(), ["speaking_start:", "speaking_end:"]);
  assert.equal(h.service.counters.ignoredSays, 1);
});
