/**
 * The shared test suite of tts-worker speech engines: every `SpeechEngine` implementation
 * (and the `FallbackEngine` that wraps two) registers the same cases through
 * {@linkcode ttsEngineSuite}.
 *
 * @module
 */
import assert from "node:assert/strict";
import { durationMs, peak } from "../../services/tts-worker/audio.ts";
import { type SpeechEngine, SynthesisAborted } from "../../services/tts-worker/engines/mod.ts";

/** One engine for the suite; disposing it frees what the factory made besides the engine. */
export interface EngineFixture extends AsyncDisposable {
  /** The engine. */
  readonly engine: SpeechEngine;
  /** The sample rate it must produce. */
  readonly sampleRate: number;
}

/**
 * Registers the engine cases under `name`. Every case gets a fresh fixture; the suite closes
 * the engine (twice: idempotent), then disposes the fixture. `options` (e.g.
 * `requireBinary(...)`) go to each test.
 */
export function ttsEngineSuite(
  name: string,
  make: () => Promise<EngineFixture>,
  options: { ignore?: boolean } = {},
): void {
  const withEngine = (fn: (e: EngineFixture) => Promise<void>) => async () => {
    await using e = await make();
    try {
      await fn(e);
    } finally {
      await e.engine.close();
      await e.engine.close(); // idempotent
    }
  };

  Deno.test(
    `${name} engine: real, non-silent audio at its sample rate`,
    options,
    withEngine(async (e) => {
      const audio = await e.engine.synthesize("Hello there, I am TARS.");
      assert.equal(audio.sampleRate, e.sampleRate);
      const ms = durationMs(audio);
      assert.ok(ms > 300 && ms < 10_000, `duration ${ms} ms`);
      assert.ok(peak(audio.samples) > 1000, "not silence");
    }),
  );

  Deno.test(
    `${name} engine: longer text gives longer audio`,
    options,
    withEngine(async (e) => {
      const short = await e.engine.synthesize("Yes.");
      const long = await e.engine.synthesize(
        "Yes. The quick brown fox jumps over the lazy dog, twice, and then it rests.",
      );
      assert.ok(long.samples.length > short.samples.length * 2);
    }),
  );

  Deno.test(
    `${name} engine: text that looks like an option is spoken`,
    options,
    withEngine(async (e) => {
      const audio = await e.engine.synthesize("-v --help is not an option");
      assert.ok(durationMs(audio) > 500);
    }),
  );

  Deno.test(
    `${name} engine: an aborted signal cancels`,
    options,
    withEngine(async (e) => {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(
        e.engine.synthesize("Never spoken.", controller.signal),
        SynthesisAborted,
      );
      // Aborting while it runs.
      const running = new AbortController();
      const pending = e.engine.synthesize("A sentence that takes a moment.", running.signal);
      running.abort();
      await assert.rejects(pending, SynthesisAborted);
      // The engine still works afterwards.
      assert.ok((await e.engine.synthesize("Still here.")).samples.length > 0);
    }),
  );

  Deno.test(
    `${name} engine: has an id`,
    options,
    withEngine((e) => {
      assert.match(e.engine.id, /^[a-z]+:/);
      return Promise.resolve();
    }),
  );
}
