import assert from "node:assert/strict";
import type { PcmAudio } from "../../services/tts-worker/audio.ts";
import type { SpeechEngine } from "../../services/tts-worker/engines/mod.ts";
import type { AudioSink, SinkStream } from "../../services/tts-worker/sinks/mod.ts";
import { Speaker, type TtsStatusInput } from "../../services/tts-worker/speaker.ts";
import { waitFor } from "../helpers/wait.ts";

/** 300 ms of a 16 kHz tone, synthesized at once. */
const engine: SpeechEngine = {
  id: "tone",
  synthesize: (): Promise<PcmAudio> =>
    Promise.resolve({ sampleRate: 16000, samples: new Int16Array(4800).fill(1000) }),
  close: () => Promise.resolve(),
};

Deno.test("speaker: the first chunk plays before speaking_start is acknowledged; speaking_end waits for it", async () => {
  const log: string[] = [];
  const acked = Promise.withResolvers<void>();
  const sink: AudioSink = {
    name: "memory",
    realtime: false,
    open: (utterance) => {
      log.push(`open ${utterance.uttId}`);
      const stream: SinkStream = {
        write: (samples) => {
          log.push(`write ${samples.length}`);
          return Promise.resolve();
        },
        pause: () => {},
        resume: () => {},
        finish: () => {
          log.push("finish");
          return Promise.resolve();
        },
        abort: () => Promise.resolve(),
      };
      return Promise.resolve(stream);
    },
    close: () => Promise.resolve(),
  };
  const speaker = new Speaker({
    engine,
    sink,
    chunkMs: 100,
    publishStatus: (status: TtsStatusInput) => {
      log.push(`status ${status.event}`);
      // The broker's acknowledgement of speaking_start is held back.
      return status.event === "speaking_start" ? acked.promise : Promise.resolve();
    },
  });
  try {
    speaker.enqueue({ uttId: "u1", text: "tone", parts: ["tone"] });
    await waitFor(() => log.filter((l) => l.startsWith("write")).length === 3, "3 chunks");
    // Sent first, then the audio, without waiting for the acknowledgement.
    assert.deepEqual(log.slice(0, 5), [
      "status speaking_start",
      "open u1",
      "write 1600",
      "write 1600",
      "write 1600",
    ]);
    // The utterance is over, but speaking_end waits for speaking_start's acknowledgement
    // (microtasks flushed: an unconditional speaking_end would be logged by now).
    await waitFor(() => log.includes("finish"), "finish");
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(log.includes("status speaking_end"), false);
    acked.resolve();
    await waitFor(() => log.includes("status speaking_end"), "speaking_end");
    assert.equal(log.at(-1), "status speaking_end");
  } finally {
    acked.resolve();
    await speaker.close();
  }
});
