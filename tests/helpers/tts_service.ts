/**
 * Harness for tts-worker service tests: a real broker, the service on the espeak-ng engine
 * (wrapped to record when each synthesis starts and ends) and the mqtt sink, and a listener
 * collecting tts/status and tts/audio.
 *
 * @module
 */
import { getLogger, type MqttClient, topics, type TtsAudioChunk } from "../../core/mod.ts";
import type { PcmAudio } from "../../services/tts-worker/audio.ts";
import { readTtsConfig } from "../../services/tts-worker/config.ts";
import { EspeakEngine, type SpeechEngine } from "../../services/tts-worker/engines/mod.ts";
import { startTtsService, type TtsService } from "../../services/tts-worker/service.ts";
import { startBroker, type TestBroker } from "./broker.ts";
import { testClient } from "./wait.ts";

/** One synthesis the recording engine ran. */
export interface SynthesisRecord {
  readonly text: string;
  readonly startedAt: number;
  endedAt: number | null;
}

/** The real espeak-ng engine, recording every call. */
export class RecordingEngine implements SpeechEngine {
  readonly id = "espeak:test";
  readonly calls: SynthesisRecord[] = [];
  readonly #inner = new EspeakEngine();
  async synthesize(text: string, signal?: AbortSignal): Promise<PcmAudio> {
    const record: SynthesisRecord = { text, startedAt: performance.now(), endedAt: null };
    this.calls.push(record);
    const audio = await this.#inner.synthesize(text, signal);
    record.endedAt = performance.now();
    return audio;
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** A status or chunk as the listener saw it, with its arrival time. */
export interface Seen<T> {
  readonly at: number;
  readonly payload: T;
}

/** The running harness. */
export interface TtsHarness extends AsyncDisposable {
  readonly broker: TestBroker;
  readonly service: TtsService;
  readonly engine: RecordingEngine;
  /** Publishes tts/say etc. */
  readonly world: MqttClient;
  readonly statuses: Seen<{ event: string; utt_id?: string | null; reason?: string | null }>[];
  readonly chunks: Seen<TtsAudioChunk>[];
  /** Status events so far, `event:utt_id`. */
  events(): string[];
}

/** Starts broker, service and listener; `env` overrides the tts-worker variables. */
export async function startTtsHarness(env: Record<string, string> = {}): Promise<TtsHarness> {
  const broker = await startBroker();
  const serviceClient = testClient(broker.url, { clientId: "tars-tts-test", enableHealth: true });
  const world = testClient(broker.url);
  await Promise.all([
    serviceClient.connect({ timeoutMs: 10_000 }),
    world.connect({ timeoutMs: 10_000 }),
  ]);
  const statuses: TtsHarness["statuses"] = [];
  const chunks: TtsHarness["chunks"] = [];
  await world.subscribe(topics.ttsStatus, (payload) => {
    statuses.push({ at: performance.now(), payload });
  });
  await world.subscribe(topics.ttsAudio, (payload) => {
    chunks.push({ at: performance.now(), payload });
  }, { queueSize: 4096 });
  const cacheDir = await Deno.makeTempDir({ prefix: "tts-cache-" });
  const config = readTtsConfig({ TTS_WAKE_CACHE_DIR: cacheDir, ...env });
  const engine = new RecordingEngine();
  const service = await startTtsService(
    { client: serviceClient, logger: getLogger("tts-worker-test") },
    { config, engine },
  );
  return {
    broker,
    service,
    engine,
    world,
    statuses,
    chunks,
    events: () => statuses.map((s) => `${s.payload.event}:${s.payload.utt_id ?? ""}`),
    async [Symbol.asyncDispose]() {
      await service.close();
      await serviceClient.shutdown();
      await world.shutdown();
      await broker[Symbol.asyncDispose]();
      await Deno.remove(cacheDir, { recursive: true });
    },
  };
}
