/**
 * stt-worker bench: Silero VAD cost per second of audio (target < 5 ms), the bus cost of
 * publishing every 20 ms frame on audio/pcm/<source>, and the time from the end of speech to
 * stt/final excluding the transcriber (VAD tail, suppression, QoS 1 publish).
 *
 * `deno run -A bench/stt-worker.ts`
 *
 * @module
 */
import { getLogger, topics } from "../core/mod.ts";
import { readSttConfig } from "../services/stt-worker/config.ts";
import { pcm16ToFloat } from "../lib/audio/mod.ts";
import { rmsPcm16 } from "../services/stt-worker/pcm.ts";
import { UtteranceSegmenter } from "../services/stt-worker/segmenter.ts";
import { startSttWorker } from "../services/stt-worker/service.ts";
import { MqttAudioSource } from "../services/stt-worker/sources/mod.ts";
import { OpenAiTranscriber } from "../services/stt-worker/transcribers/mod.ts";
import { SileroVad } from "../services/stt-worker/vad.ts";
import { startBroker } from "../tests/helpers/broker.ts";
import { pcmFrames, roomNoise } from "../tests/helpers/speech_audio.ts";
import { sttClips } from "../tests/helpers/stt_audio.ts";
import { startFakeOpenAiTranscription } from "../tests/helpers/stt_fake_servers.ts";
import { testClient, waitFor } from "../tests/helpers/wait.ts";

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface VadCost {
  /** ms per s of audio with every frame scored by Silero (VAD_SKIP_BELOW_GATE=0). */
  vad: number;
  /** ms per s of audio with the default pre-gate (quiet frames outside speech skip Silero). */
  gated: number;
  /** Fraction of frames the pre-gate skipped. */
  skipped: number;
  /** ms per s of audio for framing, RMS and the segmenter alone. */
  baseline: number;
}

async function vadCost(audio: Uint8Array): Promise<VadCost> {
  const frames = pcmFrames(audio, 20).filter((f) => f.length === 640);
  const seconds = frames.length * 0.02;
  const vad = await SileroVad.load();
  try {
    for (const f of frames.slice(0, 50)) await vad.push(pcm16ToFloat(f)); // warm-up
    vad.reset();
    const segmenter = new UtteranceSegmenter({
      frameMs: 20,
      ...readSttConfig({}).vad,
    });
    let start = performance.now();
    for (let round = 0; round < 3; round++) {
      for (const f of frames) segmenter.push(f, await vad.push(pcm16ToFloat(f)), rmsPcm16(f));
    }
    const vadMs = (performance.now() - start) / 3 / seconds;
    // The service's pre-gate (service.ts): outside speech, frames far below the gate skip Silero.
    const skipBelowGate = readSttConfig({}).vad.skipBelowGate;
    let skippedFrames = 0;
    vad.reset();
    start = performance.now();
    for (let round = 0; round < 3; round++) {
      for (const f of frames) {
        const rms = rmsPcm16(f);
        if (!segmenter.inSpeech && rms < segmenter.gate * skipBelowGate) {
          skippedFrames++;
          segmenter.push(f, 0, rms);
        } else segmenter.push(f, await vad.push(pcm16ToFloat(f)), rms);
      }
    }
    const gatedMs = (performance.now() - start) / 3 / seconds;
    start = performance.now();
    for (let round = 0; round < 3; round++) {
      for (const f of frames) {
        pcm16ToFloat(f);
        segmenter.push(f, 0, rmsPcm16(f));
      }
    }
    return {
      vad: vadMs,
      gated: gatedMs,
      skipped: skippedFrames / (3 * frames.length),
      baseline: (performance.now() - start) / 3 / seconds,
    };
  } finally {
    await vad.close();
  }
}

/** Runs the bench and returns a Markdown section. */
export async function run(): Promise<string> {
  const clips = await sttClips();
  const audio = new Uint8Array(clips.question.length * 2 + clips.silence.length);
  audio.set(clips.question);
  audio.set(clips.silence, clips.question.length);
  audio.set(clips.question, clips.question.length + clips.silence.length);
  const cost = await vadCost(audio);
  // White noise at RMS 60 (≈ -55 dBFS, a quiet room) and 150 (≈ -47 dBFS, a fan nearby: the noise
  // floor then sits at the pre-gate's limit, half the gate).
  const rooms = [];
  for (const rms of [60, 150]) rooms.push({ rms, cost: await vadCost(roomNoise(audio, rms)) });

  await using broker = await startBroker();
  await using publisher = testClient(broker.url);
  await using receiver = testClient(broker.url);
  await publisher.connect({ timeoutMs: 30_000 });
  await receiver.connect({ timeoutMs: 30_000 });
  let received = 0;
  await receiver.subscribeRaw(topics.audioPcm, () => void received++, {
    params: { source: "bench" },
  });
  const frames = pcmFrames(audio, 20).filter((f) => f.length === 640);
  const total = frames.length * 4; // ~40 s of audio
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    await publisher.publishRaw(topics.audioPcm, frames[i % frames.length], {
      params: { source: "bench" },
    });
  }
  const publishMs = performance.now() - start;
  await waitFor(() => received === total, "all frames received", 60_000);
  const deliveredMs = performance.now() - start;
  const audioSec = total * 0.02;

  // End of speech → stt/final, transcriber time subtracted, over a real broker.
  const texts = ["what time is it", "tell me a joke", "what is the weather", "turn on the light"];
  let n = 0;
  await using fake = startFakeOpenAiTranscription(() => texts[n++ % texts.length]);
  await using serviceClient = testClient(broker.url);
  await serviceClient.connect({ timeoutMs: 30_000 });
  const config = readSttConfig({
    AUDIO_SOURCE: "mqtt",
    AUDIO_MQTT_SOURCE: "bench-in",
    STT_MIC_MODE: "open",
    OPENAI_BASE_URL: fake.url,
    REPEAT_COOLDOWN_SEC: "0",
    POST_PUBLISH_COOLDOWN_MS: "0",
  });
  const service = await startSttWorker({ client: serviceClient, logger: getLogger("bench") }, {
    config,
    source: new MqttAudioSource({ client: serviceClient, source: "bench-in" }),
    vad: await SileroVad.load(),
    transcriber: new OpenAiTranscriber({
      ...config.transcriber.openai,
      language: "en",
    }),
  });
  const rounds = 12;
  try {
    for (let i = 0; i < rounds; i++) {
      for (const frame of pcmFrames(clips.question, 20)) {
        await publisher.publishRaw(topics.audioPcm, frame, { params: { source: "bench-in" } });
        await new Promise((r) => setTimeout(r, 5));
      }
      await waitFor(() => service.timings.length === i + 1, `final ${i + 1}`, 30_000);
    }
  } finally {
    await service.close();
  }
  const latency = service.timings.map((t) => t.endToFinalMs - t.transcribeMs);
  const transcribe = service.timings.map((t) => t.transcribeMs);

  return [
    "## stt-worker",
    "",
    `Audio: espeak-ng "what time is it" ×2 + 3 s silence (${
      (frames.length * 0.02).toFixed(1)
    } s), 20 ms frames.`,
    "",
    "| measure | value | target |",
    "|---|---|---|",
    `| Silero VAD + segmenter, every frame scored, ms per s of audio | ${
      cost.vad.toFixed(2)
    } | < 5 |`,
    `| same with the default pre-gate (${
      (cost.skipped * 100).toFixed(0)
    }% of frames skipped Silero), ms per s | ${cost.gated.toFixed(2)} | < 5 |`,
    ...rooms.map(({ rms, cost }) =>
      `| same audio + white noise at RMS ${rms}, every frame / pre-gate (${
        (cost.skipped * 100).toFixed(0)
      }% skipped), ms per s | ${cost.vad.toFixed(2)} / ${cost.gated.toFixed(2)} | < 5 |`
    ),
    `| baseline (framing, RMS, segmenter without VAD), ms per s | ${
      cost.baseline.toFixed(3)
    } | – |`,
    `| VAD / baseline | ${(cost.vad / cost.baseline).toFixed(0)}× | – |`,
    `| publish audio/pcm frames, ms of client time per s of audio | ${
      (publishMs / audioSec).toFixed(2)
    } | – |`,
    `| publish → all ${total} frames received (${audioSec.toFixed(0)} s of audio), ms per s | ${
      (deliveredMs / audioSec).toFixed(2)
    } | – |`,
    `| bus bytes per s of audio | 32 000 payload + ~${
      "audio/pcm/stt".length + 4
    } topic/header per frame × 50 | – |`,
    `| end of speech → stt/final excluding the transcriber, p50 / p95 ms (${latency.length} utterances) | ${
      percentile(latency, 50).toFixed(1)
    } / ${percentile(latency, 95).toFixed(1)} | – |`,
    `| (local fake transcriber, for reference) p50 ms | ${
      percentile(transcribe, 50).toFixed(1)
    } | – |`,
  ].join("\n");
}

if (import.meta.main) console.log(await run());
