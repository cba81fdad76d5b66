/**
 * The shared test suite every stt-worker {@linkcode AudioSource} runs: frames are whole
 * CHUNK_DURATION_MS frames carrying the input audio in order, and close() ends the stream
 * promptly and may be called twice.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { AudioSource } from "../../services/stt-worker/sources/mod.ts";

/** One source under test, with its input; disposing it frees what the factory made. */
export interface SourceFixture extends AsyncDisposable {
  /** The source (not opened). */
  readonly source: AudioSource;
  /** The PCM16LE 16 kHz mono audio it must deliver (a prefix of what it delivers). */
  readonly expected: Uint8Array;
  /** Pushes the input after open() (mqtt: publishes it); optional. */
  readonly feed?: () => Promise<void>;
}

/**
 * Registers the suite for one implementation. Every case gets a fresh fixture; the suite
 * closes the source, then disposes the fixture. `options` (e.g. `requireBinary(...)`) go to each
 * test.
 */
export function audioSourceSuite(
  name: string,
  make: () => Promise<SourceFixture>,
  options: { ignore?: boolean } = {},
): void {
  Deno.test(
    `stt source ${name}: delivers the input as whole 20 ms frames in order`,
    options,
    async () => {
      await using fixture = await make();
      try {
        await fixture.source.open();
        const got: Uint8Array[] = [];
        const whole = Math.floor(fixture.expected.length / 640) * 640;
        let bytes = 0;
        const reading = (async () => {
          for await (const frame of fixture.source.frames()) {
            assert.equal(frame.length, 640, "frame size");
            got.push(frame);
            bytes += frame.length;
            if (bytes >= whole) break;
          }
        })();
        await fixture.feed?.();
        const deadline = setTimeout(() => fixture.source.close(), 20_000);
        await reading;
        clearTimeout(deadline);
        const all = new Uint8Array(bytes);
        let offset = 0;
        for (const frame of got) (all.set(frame, offset), offset += frame.length);
        assert.ok(bytes >= whole, `${bytes} bytes of ${fixture.expected.length}`);
        assert.deepEqual(all.subarray(0, whole), fixture.expected.subarray(0, whole));
        assert.ok(fixture.source.stats.frames >= got.length);
      } finally {
        await fixture.source.close();
      }
    },
  );

  Deno.test(
    `stt source ${name}: close() ends frames() promptly and twice is fine`,
    options,
    async () => {
      await using fixture = await make();
      try {
        await fixture.source.open();
        let count = 0;
        const reading = (async () => {
          for await (const _ of fixture.source.frames()) count++;
        })();
        await fixture.feed?.();
        const started = performance.now();
        await fixture.source.close();
        await reading;
        assert.ok(performance.now() - started < 3_000, "ended within 3 s");
        await fixture.source.close();
        assert.ok(count >= 0);
      } finally {
        await fixture.source.close();
      }
    },
  );
}
