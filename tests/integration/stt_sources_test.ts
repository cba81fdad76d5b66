/**
 * stt-worker `mqtt` audio source through the shared source suite on a real broker (the file
 * and alsa sources run it in tests/unit/stt_sources_test.ts), plus odd-sized messages.
 */
import assert from "node:assert/strict";
import { topics } from "../../core/mod.ts";
import { MqttAudioSource } from "../../services/stt-worker/sources/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import { pcmFrames } from "../helpers/speech_audio.ts";
import { sttClips } from "../helpers/stt_audio.ts";
import { audioSourceSuite } from "../helpers/stt_source_suite.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

audioSourceSuite("mqtt", async () => {
  const clips = await sttClips();
  const broker = await startBroker();
  const client = testClient(broker.url);
  const peer = testClient(broker.url);
  await client.connect({ timeoutMs: 30_000 });
  await peer.connect({ timeoutMs: 30_000 });
  const expected = clips.question.subarray(0, 32_000); // 1 s
  return {
    source: new MqttAudioSource({ client, source: "ui-web" }),
    expected,
    feed: async () => {
      // 30 ms chunks: not a multiple of the 20 ms frame, re-cut by the source
      for (const chunk of pcmFrames(expected, 30)) {
        await peer.publishRaw(topics.audioPcm, chunk, { params: { source: "ui-web" } });
      }
    },
    [Symbol.asyncDispose]: async () => {
      await peer.shutdown();
      await client.shutdown();
      await broker[Symbol.asyncDispose]();
    },
  };
});

Deno.test("stt source mqtt: odd-sized messages and other sources are ignored", async () => {
  await using broker = await startBroker();
  await using client = testClient(broker.url);
  await using peer = testClient(broker.url);
  await client.connect({ timeoutMs: 30_000 });
  await peer.connect({ timeoutMs: 30_000 });
  const source = new MqttAudioSource({ client, source: "kitchen" });
  await source.open();
  const frames: Uint8Array[] = [];
  const reading = (async () => {
    for await (const frame of source.frames()) frames.push(frame);
  })();
  try {
    await peer.publishRaw(topics.audioPcm, new Uint8Array(641), { params: { source: "kitchen" } });
    await peer.publishRaw(topics.audioPcm, new Uint8Array(640), { params: { source: "other" } });
    await peer.publishRaw(topics.audioPcm, new Uint8Array(1280).fill(1), {
      params: { source: "kitchen" },
    });
    await waitFor(() => frames.length === 2, "two frames", 10_000);
    assert.equal(source.stats.rejected, 1);
    assert.ok(frames.every((f) => f.length === 640 && f[0] === 1));
  } finally {
    await source.close();
    await reading;
  }
});
