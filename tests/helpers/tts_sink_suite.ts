/**
 * The shared test suite of tts-worker audio sinks: every `AudioSink` implementation
 * registers the same cases through {@linkcode ttsSinkSuite}, with a way to read back
 * what it really played (MQTT chunks from a broker, the WAV file, the ALSA file device).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { AudioSink } from "../../services/tts-worker/sinks/mod.ts";

/** One sink made for one test case; disposing it frees everything the factory made. */
export interface SinkFixture extends AsyncDisposable {
  /** The sink. */
  readonly sink: AudioSink;
  /** What reached the output for `uttId`, once the utterance ended (waits for it). */
  played(uttId: string): Promise<Int16Array>;
}

/** A 440 Hz tone at 16 kHz, `chunks` chunks of 100 ms. */
export function toneChunks(chunks: number): Int16Array[] {
  return Array.from({ length: chunks }, (_, c) =>
    Int16Array.from(
      { length: 1600 },
      (_, i) => Math.round(Math.sin(((c * 1600 + i) * 2 * Math.PI * 440) / 16000) * 12000),
    ));
}

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** `played` starts with `expected`; anything after it is silence (device padding). */
function assertPlayed(played: Int16Array, expected: Int16Array): void {
  assert.ok(played.length >= expected.length, `${played.length} < ${expected.length} samples`);
  assert.deepEqual(played.subarray(0, expected.length), expected);
  assert.ok(played.subarray(expected.length).every((s) => s === 0), "padding is silence");
}

/**
 * Registers the sink cases under `name`. Every case gets a fresh fixture; the suite closes the
 * sink, then disposes the fixture.
 */
export function ttsSinkSuite(name: string, make: () => Promise<SinkFixture>): void {
  const withSink = (fn: (s: SinkFixture) => Promise<void>) => async () => {
    await using s = await make();
    try {
      await fn(s);
    } finally {
      await s.sink.close();
    }
  };

  Deno.test(
    `${name} sink: plays every sample written, in order`,
    withSink(async (s) => {
      const chunks = toneChunks(5);
      const stream = await s.sink.open({ uttId: "u-all", text: "tone" }, 16000);
      for (const chunk of chunks) await stream.write(chunk);
      await stream.finish();
      await stream.finish(); // idempotent
      assertPlayed(await s.played("u-all"), concat(chunks));
    }),
  );

  Deno.test(
    `${name} sink: pause and resume lose nothing`,
    withSink(async (s) => {
      const chunks = toneChunks(4);
      const stream = await s.sink.open({ uttId: "u-pause", text: "tone" }, 16000);
      await stream.write(chunks[0]);
      stream.pause();
      stream.pause(); // repeated: harmless
      await new Promise((r) => setTimeout(r, 50));
      stream.resume();
      for (const chunk of chunks.slice(1)) await stream.write(chunk);
      await stream.finish();
      assertPlayed(await s.played("u-pause"), concat(chunks));
    }),
  );

  Deno.test(
    `${name} sink: abort ends the utterance at once`,
    withSink(async (s) => {
      const chunks = toneChunks(6);
      const stream = await s.sink.open({ uttId: "u-abort", text: "tone" }, 16000);
      await stream.write(chunks[0]);
      await stream.write(chunks[1]);
      stream.pause(); // abort also works on a paused stream
      const started = performance.now();
      await stream.abort();
      assert.ok(performance.now() - started < 1_000, "abort is prompt");
      await stream.write(chunks[2]); // ignored after the end
      await stream.finish(); // no-op
      await stream.abort(); // idempotent
      const played = await s.played("u-abort");
      assert.ok(played.length < concat(chunks.slice(0, 3)).length, "nothing after the abort");
    }),
  );

  Deno.test(
    `${name} sink: utterances play one after the other`,
    withSink(async (s) => {
      for (const uttId of ["u-1", "u-2"]) {
        const chunks = toneChunks(2);
        const stream = await s.sink.open({ uttId, text: uttId }, 16000);
        for (const chunk of chunks) await stream.write(chunk);
        await stream.finish();
        assertPlayed(await s.played(uttId), concat(chunks));
      }
    }),
  );
}
