/**
 * tts-worker bench: time from tts/say to the first tts/audio chunk at the mqtt sink (espeak
 * engine, real Mosquitto), and the real-time factor of synthesis, each against a baseline
 * measured in the same run: the bare `espeak-ng --stdout` CLI for the same sentence.
 *
 * `deno run -A bench/tts-worker.ts`
 *
 * @module
 */
import { getLogger, topics } from "../core/mod.ts";
import { durationMs } from "../services/tts-worker/audio.ts";
import { readTtsConfig } from "../services/tts-worker/config.ts";
import { EspeakEngine } from "../services/tts-worker/engines/mod.ts";
import { startTtsService } from "../services/tts-worker/service.ts";
import { startBroker } from "../tests/helpers/broker.ts";
import { testClient } from "../tests/helpers/wait.ts";

const SENTENCE =
  "Good evening. The weather tomorrow looks clear, with a light breeze from the west.";
const RUNS = 8;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function cliMs(text: string): Promise<number> {
  const started = performance.now();
  const out = await new Deno.Command("espeak-ng", {
    args: ["--stdout", "-v", "en-us", "-s", "175", text],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) throw new Error("espeak-ng failed");
  return performance.now() - started;
}

/** Runs the bench and returns a Markdown section. */
export async function run(): Promise<string> {
  // Baseline: the bare CLI, whole sentence.
  await cliMs(SENTENCE); // warm the page cache
  const cli: number[] = [];
  for (let i = 0; i < RUNS; i++) cli.push(await cliMs(SENTENCE));

  // Engine: whole sentence and first sentence (what the pipeline waits for).
  const engine = new EspeakEngine();
  const synth: number[] = [];
  let audioMs = 0;
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const audio = await engine.synthesize(SENTENCE);
    synth.push(performance.now() - started);
    audioMs = durationMs(audio);
  }

  // Service: tts/say → first tts/audio chunk over a real broker.
  await using broker = await startBroker();
  const serviceClient = testClient(broker.url, { clientId: "tars-tts-bench" });
  const world = testClient(broker.url);
  await Promise.all([
    serviceClient.connect({ timeoutMs: 10_000 }),
    world.connect({ timeoutMs: 10_000 }),
  ]);
  const cacheDir = await Deno.makeTempDir({ prefix: "tts-bench-" });
  const service = await startTtsService(
    { client: serviceClient, logger: getLogger("tts-bench") },
    { config: readTtsConfig({ TTS_WAKE_CACHE_DIR: cacheDir, TTS_AGGREGATE: "0" }) },
  );
  await service.preloaded;
  const firstChunk = new Map<string, number>();
  await world.subscribe(topics.ttsAudio, (chunk) => {
    if (!firstChunk.has(chunk.utt_id)) firstChunk.set(chunk.utt_id, performance.now());
  }, { queueSize: 4096 });
  const ended = new Set<string>();
  await world.subscribe(topics.ttsStatus, (status) => {
    if (status.event === "speaking_end" && status.utt_id) ended.add(status.utt_id);
  });
  const latency: number[] = [];
  const cachedLatency: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    for (
      const [uttId, text, cached] of [[`b${i}`, SENTENCE, false], [`w${i}`, "Yes?", true]] as const
    ) {
      const sent = performance.now();
      await world.publishEvent(topics.ttsSay, { text, utt_id: uttId, wake_ack: cached || null });
      while (!firstChunk.has(uttId)) await new Promise((r) => setTimeout(r, 1));
      (cached ? cachedLatency : latency).push(firstChunk.get(uttId)! - sent);
      await world.publishEvent(topics.ttsControl, { action: "stop", id: uttId });
      while (!ended.has(uttId)) await new Promise((r) => setTimeout(r, 5));
    }
  }
  await service.close();
  await serviceClient.shutdown();
  await world.shutdown();
  await Deno.remove(cacheDir, { recursive: true });

  const cliMedian = median(cli);
  const synthMedian = median(synth);
  const latencyMedian = median(latency);
  const cachedMedian = median(cachedLatency);
  const f = (n: number) => n.toFixed(1);
  return [
    "## tts-worker",
    "",
    `Sentence: "${SENTENCE}" (${
      f(audioMs / 1000)
    } s of audio at 22.05 kHz), ${RUNS} runs, medians.`,
    "",
    "| measure | ms | vs baseline |",
    "|---|---:|---:|",
    `| baseline: bare \`espeak-ng --stdout\` CLI, whole text | ${f(cliMedian)} | 1.00× |`,
    `| EspeakEngine.synthesize, whole text | ${f(synthMedian)} | ${
      (synthMedian / cliMedian).toFixed(2)
    }× |`,
    `| tts/say → first tts/audio chunk (mqtt sink, pipelined, first sentence) | ${
      f(latencyMedian)
    } | ${(latencyMedian / cliMedian).toFixed(2)}× |`,
    `| tts/say (wake ack, phrase cache) → first chunk | ${f(cachedMedian)} | ${
      (cachedMedian / cliMedian).toFixed(2)
    }× |`,
    "",
    `Real-time factor (synthesis time / audio duration): engine ${
      (synthMedian / audioMs).toFixed(3)
    }, ` +
    `bare CLI ${(cliMedian / audioMs).toFixed(3)} (lower is faster; < 1 = faster than real time).`,
    "",
  ].join("\n");
}

if (import.meta.main) console.log(await run());
