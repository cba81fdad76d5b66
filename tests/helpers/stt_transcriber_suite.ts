/**
 * The shared test suite every stt-worker {@linkcode Transcriber} runs: the utterance's audio
 * arrives whole, the trimmed text and a 0..1 confidence (or none, when the recogniser gives
 * none) come back, and one transcriber serves utterance after utterance. Backends that call a
 * server (openai, ws) also run the failure cases: a server error rejects naming the backend, a
 * hung server times out. A local recogniser (sherpa) has no server, no request to inspect and
 * no timeout, so those cases do not apply to it.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Transcriber } from "../../services/stt-worker/transcribers/mod.ts";
import type { FakeServer } from "./stt_fake_servers.ts";

/** A transcriber under test; disposing it frees what the factory made (server, model dir). */
export interface TranscriberFixture extends AsyncDisposable {
  /** The transcriber under test. */
  readonly transcriber: Transcriber;
  /** One utterance, PCM16LE mono 16 kHz. */
  readonly utterance: Uint8Array;
  /** What the recogniser answers for it, before trimming. */
  readonly text: string;
  /** Whether the recogniser reports a confidence (sherpa's Whisper gives none). */
  readonly reportsConfidence: boolean;
  /** The recogniser's stand-in server, for backends that call one. */
  readonly server?: FakeServer;
}

/** Options of {@linkcode transcriberSuite}. */
export interface TranscriberSuiteOptions {
  /** The recogniser runs in-process (no server): the server-failure cases do not apply. */
  readonly local?: boolean;
  /** Skip every case (e.g. `requireBinary(...).ignore` when a program it needs is missing). */
  readonly ignore?: boolean;
}

/** 0.5 s of PCM that is not silence: the utterance for backends whose server is a stand-in. */
export function syntheticUtterance(): Uint8Array {
  return Uint8Array.from({ length: 16_000 }, (_, i) => (i * 37) % 256);
}

/**
 * Registers the suite; `make(timeoutMs)` builds a fresh fixture for every case (a local
 * recogniser ignores `timeoutMs`). The suite closes the transcriber, then disposes the fixture.
 */
export function transcriberSuite(
  name: string,
  make: (timeoutMs: number) => Promise<TranscriberFixture>,
  options: TranscriberSuiteOptions = {},
): void {
  const test = (
    title: string,
    timeoutMs: number,
    fn: (fixture: TranscriberFixture) => Promise<void>,
  ) =>
    Deno.test(`stt transcriber ${name}: ${title}`, { ignore: options.ignore }, async () => {
      await using fixture = await make(timeoutMs);
      try {
        await fn(fixture);
      } finally {
        await fixture.transcriber.close();
      }
    });

  test("sends the whole utterance, returns text and confidence", 10_000, async (f) => {
    const result = await f.transcriber.transcribe(f.utterance);
    assert.equal(result.text, f.text.trim());
    if (f.reportsConfidence) {
      assert.ok(result.confidence !== null && result.confidence > 0 && result.confidence <= 1);
    } else {
      assert.equal(result.confidence, null);
    }
    if (f.server) {
      assert.equal(f.server.received.length, 1);
      assert.equal(f.server.received[0].sampleRate, 16_000);
      assert.deepEqual(f.server.received[0].pcm, f.utterance);
    }
    assert.equal(f.transcriber.name, name);
  });

  test("one transcriber serves utterance after utterance", 10_000, async (f) => {
    assert.equal((await f.transcriber.transcribe(f.utterance)).text, f.text.trim());
    const prefix = f.utterance.subarray(0, Math.min(f.utterance.length, 32_000));
    assert.equal((await f.transcriber.transcribe(prefix)).text, f.text.trim());
  });

  if (options.local) return;

  test("a server error rejects naming the backend", 10_000, async (f) => {
    assert.ok(f.server, "a fixture of a backend that calls a server has one");
    f.server.reply = () => ({ status: 500, body: "model exploded" });
    await assert.rejects(
      () => f.transcriber.transcribe(f.utterance),
      (error: Error) =>
        error.message.startsWith(`${name} transcription`) &&
        error.message.includes("model exploded"),
    );
  });

  test("a server that never answers times out", 300, async (f) => {
    assert.ok(f.server, "a fixture of a backend that calls a server has one");
    f.server.reply = () => ({ hang: true });
    const started = performance.now();
    await assert.rejects(
      () => f.transcriber.transcribe(f.utterance),
      new RegExp(`^Error: ${name}|${name} transcription`),
    );
    assert.ok(performance.now() - started < 5_000);
  });
}
