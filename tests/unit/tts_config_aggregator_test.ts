import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { ConfigError } from "../../core/mod.ts";
import { type AggregatedSay, SayAggregator } from "../../services/tts-worker/aggregator.ts";
import { TIMER_LATENESS_MS, timerDelayFor } from "../../lib/async/mod.ts";
import { readTtsConfig } from "../../services/tts-worker/config.ts";
import { EspeakEngine } from "../../services/tts-worker/engines/mod.ts";
import { PhraseCache } from "../../services/tts-worker/phrase_cache.ts";
import { requireBinary } from "../helpers/binaries.ts";

Deno.test("config: dev defaults and py-tars names", () => {
  const c = readTtsConfig({});
  assert.equal(c.provider, "espeak");
  assert.equal(c.sink, "mqtt");
  assert.equal(c.piperVoice, "/voices/TARS.onnx");
  assert.equal(c.aggregate, true);
  assert.equal(c.aggregateDebounceMs, 150);
  assert.equal(c.aggregateSingleWav, true);
  assert.equal(c.wakeCacheDir, "data/tts-cache");
  assert.equal(c.wakeCacheMax, 16);
  assert.deepEqual(c.preloadTexts, ["Hmm?", "Huh?", "Yes?", "System online."]);
  const custom = readTtsConfig({
    TTS_PROVIDER: "PIPER",
    TTS_SINK: "alsa",
    TTS_AGGREGATE_DEBOUNCE_MS: "0",
    TTS_WAKE_ACK_TEXTS: "Yes?, What?",
    ONLINE_ANNOUNCE_TEXT: "Ready.",
  });
  assert.equal(custom.provider, "piper");
  assert.equal(custom.sink, "alsa");
  assert.equal(custom.aggregateDebounceMs, 10); // py-tars minimum
  assert.deepEqual(custom.preloadTexts, ["Yes?", "What?", "Ready."]);
  assert.deepEqual(
    readTtsConfig({ ROUTER_WAKE_ACK_CHOICES: "Yo?|Sup?" }).preloadTexts,
    ["Yo?", "Sup?", "System online."],
  );
});

Deno.test("config: bad values name the variable and what is allowed", () => {
  assert.throws(
    () => readTtsConfig({ TTS_SINK: "speaker", TTS_AGGREGATE: "maybe", TTS_CHUNK_MS: "5" }),
    (error) =>
      error instanceof ConfigError &&
      error.issues.map((i) => i.variable).join() === "TTS_SINK,TTS_AGGREGATE,TTS_CHUNK_MS" &&
      /one of mqtt, alsa, file/.test(error.message),
  );
});

Deno.test("aggregator: debounced per utt_id; another utt_id flushes first", () => {
  const clock = FakeTimers.install();
  try {
    const batches: AggregatedSay<string>[] = [];
    const agg = new SayAggregator<string>(150, (b) => batches.push(b));
    agg.add("u1", "One.", "m1");
    clock.tick(100);
    agg.add("u1", "Two.", "m2"); // re-arms the debounce
    clock.tick(100);
    assert.equal(batches.length, 0);
    assert.equal(agg.pendingUttId, "u1");
    clock.tick(60);
    assert.deepEqual(batches, [{ uttId: "u1", texts: ["One.", "Two."], meta: "m1" }]);
    agg.add("u2", "Three.", "m3");
    agg.add("u3", "Four.", "m4"); // u2 flushed at once
    assert.deepEqual(batches[1], { uttId: "u2", texts: ["Three."], meta: "m3" });
    assert.equal(agg.clear(), true); // a stop drops u3
    clock.tick(1_000);
    assert.equal(batches.length, 2);
    assert.equal(agg.clear(), false);
  } finally {
    clock.uninstall();
  }
});

Deno.test("aggregator: the debounce asks the timer for the setting less the runtime's lateness", () => {
  const clock = FakeTimers.install();
  try {
    const batches: AggregatedSay<string>[] = [];
    const agg = new SayAggregator<string>(150, (b) => batches.push(b));
    agg.add("u1", "One.", "m1");
    clock.tick(150 - TIMER_LATENESS_MS - 1);
    assert.equal(batches.length, 0, "not before");
    clock.tick(1); // Deno fires this timer about TIMER_LATENESS_MS late: at ~150 ms
    assert.equal(batches.length, 1);
    // A setting below the lateness does not ask for a negative delay.
    assert.equal(timerDelayFor(0), 0);
    assert.equal(timerDelayFor(150), 150 - TIMER_LATENESS_MS);
  } finally {
    clock.uninstall();
  }
});

Deno.test(
  "phrase cache: preloads to disk, reloads without synthesis, prunes",
  requireBinary("espeak-ng"),
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "tts-phrase-" });
    try {
      const engine = new EspeakEngine();
      const first = new PhraseCache({ dir, maxFiles: 2 });
      assert.equal(await first.preload(["Yes?", "Hmm?"], engine), 2);
      assert.ok(first.get(" YES? ")!.samples.length > 1000);
      const files = [...Deno.readDirSync(dir)].map((e) => e.name);
      assert.equal(files.length, 2);
      assert.ok(files.every((f) => /^[0-9a-f]{40}\.wav$/.test(f)));
      // A restart loads the files: nothing synthesized.
      const second = new PhraseCache({ dir, maxFiles: 2 });
      assert.equal(await second.preload(["Yes?", "Hmm?"], engine), 0);
      assert.deepEqual(second.get("yes?")!.samples, first.get("yes?")!.samples);
      // Another voice does not reuse them; the directory keeps the newest two.
      const other = new EspeakEngine({ rate: 200 });
      assert.equal(await new PhraseCache({ dir, maxFiles: 2 }).preload(["Yes?"], other), 1);
      assert.equal([...Deno.readDirSync(dir)].length, 2);
      // Memory only.
      const memory = new PhraseCache({ dir: null, maxFiles: 1 });
      assert.equal(await memory.preload(["Yes?"], engine), 1);
      assert.equal(memory.size, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
