/**
 * The shared test suite every stt-worker {@linkcode Transcriber} with a reachable recogniser
 * runs: the utterance's audio arrives whole, the text and a 0..1 confidence come back, a
 * server error rejects naming the backend, a hung server times out.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Transcriber } from "../../services/stt-worker/transcribers/mod.ts";
import type { FakeServer } from "./stt_fake_servers.ts";

/** A transcriber wired to its fake server. */
export interface TranscriberFixture {
  /** The transcriber under test. */
  readonly transcriber: Transcriber;
  /** Its recogniser stand-in. */
  readonly server: FakeServer;
}

/** Registers the suite; `make(timeoutMs)` builds a fresh fixture. */
export function transcriberSuite(
  name: string,
  make: (timeoutMs: number) => TranscriberFixture,
): void {
  const pcm = Uint8Array.from({ length: 16_000 }, (_, i) => (i * 37) % 256); // 0.5 s

  Deno.test(`stt transcriber ${name}: sends the whole utterance, returns text and confidence`, async () => {
    const { transcriber, server } = make(10_000);
    try {
      server.reply = () => "  What time is it?  ";
      const result = await transcriber.transcribe(pcm);
      assert.equal(result.text, "What time is it?");
      assert.ok(result.confidence !== null && result.confidence > 0 && result.confidence <= 1);
      assert.equal(server.received.length, 1);
      assert.equal(server.received[0].sampleRate, 16_000);
      assert.deepEqual(server.received[0].pcm, pcm);
      assert.equal(transcriber.name, name);
    } finally {
      await transcriber.close();
      await server.close();
    }
  });

  Deno.test(`stt transcriber ${name}: a server error rejects naming the backend`, async () => {
    const { transcriber, server } = make(10_000);
    try {
      server.reply = () => ({ status: 500, body: "model exploded" });
      await assert.rejects(
        () => transcriber.transcribe(pcm),
        (error: Error) =>
          error.message.startsWith(`${name} transcription`) &&
          error.message.includes("model exploded"),
      );
    } finally {
      await transcriber.close();
      await server.close();
    }
  });

  Deno.test(`stt transcriber ${name}: a server that never answers times out`, async () => {
    const { transcriber, server } = make(300);
    try {
      server.reply = () => ({ hang: true });
      const started = performance.now();
      await assert.rejects(
        () => transcriber.transcribe(pcm),
        new RegExp(`^Error: ${name}|${name} transcription`),
      );
      assert.ok(performance.now() - started < 5_000);
    } finally {
      await transcriber.close();
      await server.close();
    }
  });
}
