/**
 * wake-activation bench: cost of the openWakeWord pipeline (melspectrogram → embedding →
 * hey_jarvis) in ms of wall time per second of audio, streamed in 20 ms chunks the way
 * audio/pcm frames arrive, on real espeak-ng speech plus silence and on a quiet room with one
 * request, each with every frame in full and with the default quiet skip (WAKE_QUIET_ENERGY).
 * Baseline measured in the same run: the embedding model alone, one 76-frame window per 80 ms
 * (the pipeline's floor), and the pipeline with 2 intra-op threads.
 *
 * `deno run -A bench/wake-activation.ts`
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { readWakeConfig } from "../services/wake-activation/config.ts";
import { WakeDetector } from "../services/wake-activation/detector.ts";
import { bundledEmbeddingModel, bundledKeywordModel } from "../services/wake-activation/models.ts";
import { OpenWakeWordScorer } from "../services/wake-activation/openwakeword.ts";
import { pcmFrames, roomNoise } from "../tests/helpers/speech_audio.ts";
import { concatPcm, makeWakeClips } from "../tests/helpers/wake_audio.ts";

const TARGET_MS_PER_SEC = 15;
const RUNS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

interface PipelineCost {
  /** ms of wall time per second of audio. */
  msPerSec: number;
  /** Fraction of 80 ms frames that took the quiet skip. */
  skipped: number;
}

async function pipelineMsPerSec(
  pcm: Uint8Array,
  threads: number,
  quietEnergy = 0,
): Promise<PipelineCost> {
  const config = readWakeConfig({});
  const scorer = await OpenWakeWordScorer.load({
    modelPath: bundledKeywordModel("hey_jarvis"),
    threads,
    quietEnergy,
  });
  const detector = new WakeDetector(scorer, { gate: config.gate, energyWindowMs: 750 });
  const chunks = pcmFrames(pcm, 20);
  const seconds = pcm.length / 2 / 16_000;
  const results: number[] = [];
  try {
    for (let run = 0; run <= RUNS; run++) {
      await detector.reset();
      const started = performance.now();
      for (const chunk of chunks) await detector.push(chunk);
      if (run > 0) results.push((performance.now() - started) / seconds); // run 0 warms up
    }
    const frames = (pcm.length / 2 / scorer.frameSamples) * (RUNS + 1);
    return { msPerSec: median(results), skipped: scorer.skippedFrames / frames };
  } finally {
    await detector.close();
  }
}

async function embeddingFloorMsPerSec(): Promise<number> {
  const session = await ort.InferenceSession.create(bundledEmbeddingModel(), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const window = new Float32Array(76 * 32).map((_, i) => Math.sin(i) + 1);
  const runs = 100;
  try {
    for (let i = 0; i < 10; i++) {
      await session.run({ input_1: new ort.Tensor("float32", window, [1, 76, 32, 1]) });
    }
    const started = performance.now();
    for (let i = 0; i < runs; i++) {
      await session.run({ input_1: new ort.Tensor("float32", window, [1, 76, 32, 1]) });
    }
    return ((performance.now() - started) / runs) * 12.5; // 12.5 windows per second
  } finally {
    await session.release();
  }
}

/** Runs the bench and returns a Markdown section. */
export async function run(): Promise<string> {
  const clips = await makeWakeClips();
  const audio = concatPcm(clips.heyJarvis, clips.sentence, clips.silence, clips.alexa);
  const seconds = audio.length / 2 / 16_000;
  // A robot's typical minute: a quiet room (white noise at RMS 60 ≈ -55 dBFS) with one request.
  const room = concatPcm(roomNoise(20, 60), clips.heyJarvis, clips.sentence, roomNoise(20, 60));
  const roomSeconds = room.length / 2 / 16_000;
  const quietEnergy = readWakeConfig({}).quietEnergy;
  const floor = await embeddingFloorMsPerSec();
  const one = await pipelineMsPerSec(audio, 1);
  const two = await pipelineMsPerSec(audio, 2);
  const skipping = await pipelineMsPerSec(audio, 1, quietEnergy);
  const roomFull = await pipelineMsPerSec(room, 1);
  const roomSkipping = await pipelineMsPerSec(room, 1, quietEnergy);
  const pct = (cost: PipelineCost) => `${(cost.skipped * 100).toFixed(0)}% of frames skipped`;
  const verdict = (ms: number) => ms < TARGET_MS_PER_SEC ? "meets" : "misses";
  return [
    "## wake-activation",
    "",
    `openWakeWord hey_jarvis, fed in 20 ms chunks (median of ${RUNS} runs, onnxruntime-node ` +
    `${ort.env.versions.node}). Speech: ${seconds.toFixed(1)} s of espeak-ng speech and 3 s of ` +
    `silence. Room: ${roomSeconds.toFixed(0)} s of quiet-room noise with one spoken request.`,
    "",
    "| measurement | ms per second of audio |",
    "| --- | --- |",
    `| baseline: embedding model alone, 12.5 windows/s | ${floor.toFixed(1)} |`,
    `| speech, every frame in full (WAKE_QUIET_ENERGY=0), 1 thread | ${one.msPerSec.toFixed(1)} |`,
    `| speech, every frame in full, 2 threads (WAKE_THREADS=2) | ${two.msPerSec.toFixed(1)} |`,
    `| speech, quiet skip ${quietEnergy} (default; ${pct(skipping)}) | ${
      skipping.msPerSec.toFixed(1)
    } |`,
    `| room, every frame in full | ${roomFull.msPerSec.toFixed(1)} |`,
    `| room, quiet skip (default; ${pct(roomSkipping)}) | ${roomSkipping.msPerSec.toFixed(1)} |`,
    "",
    `Every frame in full ${verdict(one.msPerSec)} the ${TARGET_MS_PER_SEC} ms/s target ` +
    `(${(one.msPerSec / floor).toFixed(2)}× the embedding-only floor; real-time factor ` +
    `${(one.msPerSec / 1000).toFixed(3)}); with the default quiet skip the room audio ` +
    `${verdict(roomSkipping.msPerSec)} it.`,
  ].join("\n");
}

if (import.meta.main) console.log(await run());
