/**
 * tts-worker wiring: tts/say → markdown stripped → aggregation (per utt_id, debounced) or
 * straight to the speaker; tts/control (enveloped or raw) → pause/resume/stop of the
 * speaker; the phrase cache preloaded in the background.
 *
 * @module
 */
import type { ServiceDeps, TtsControl, TtsSay } from "../../core/mod.ts";
import { topics } from "../../core/mod.ts";
import { SayAggregator } from "./aggregator.ts";
import type { TtsConfig } from "./config.ts";
import { createEngine, EspeakEngine, type SpeechEngine } from "./engines/mod.ts";
import { PhraseCache } from "./phrase_cache.ts";
import { type AudioSink, createSink } from "./sinks/mod.ts";
import { Speaker, type SpeechJob } from "./speaker.ts";
import { markdownToSpeech, splitSentences } from "./text.ts";

/**
 * Options of {@linkcode startTtsService}: the config, and for tests and the bench ready-made
 * backends instead of the configured ones.
 */
export interface TtsServiceOptions {
  /** The configuration (`readTtsConfig`). */
  readonly config: TtsConfig;
  /** Use this engine instead of `TTS_PROVIDER`'s. */
  readonly engine?: SpeechEngine;
  /** Use this sink instead of `TTS_SINK`'s. */
  readonly sink?: AudioSink;
}

/** A running tts-worker. */
export interface TtsService {
  /** The speaker (state and counters). */
  readonly speaker: Speaker;
  /** The phrase cache. */
  readonly cache: PhraseCache;
  /** Resolves when the phrase cache preload has finished. */
  readonly preloaded: Promise<void>;
  /** Counters of messages the service ignored or could not use. */
  readonly counters: { ignoredSays: number; ignoredControls: number };
  /** Unsubscribes, stops playback and frees the backends. */
  close(): Promise<void>;
}

type SayMeta = Pick<TtsSay, "wake_ack" | "system_announce">;

const STOPPED_MEMORY = 64;

/** Starts the worker on a connected client. */
export async function startTtsService(
  deps: ServiceDeps,
  options: TtsServiceOptions,
): Promise<TtsService> {
  const { client, logger } = deps;
  const { config, ...overrides } = options;
  const engine = overrides.engine ?? await createEngine(config, ({ error, stage }) => {
    logger.warn(
      "Piper voice {voice} unusable ({stage}): {error}; speaking with espeak-ng instead",
      { voice: config.piperVoice, stage, error: error.message },
    );
    client.publishHealth({ ok: true, event: "tts_fallback_espeak", err: error.message })
      .catch(() => {});
  });
  let missing: string | null = null;
  if (!overrides.engine) {
    // espeak-ng speaks (TTS_PROVIDER=espeak) or stands in for Piper: missing, nothing speaks.
    missing = await new EspeakEngine({ bin: config.espeakBin }).unavailable();
    if (missing) {
      logger.warn("{reason}", { reason: missing });
      client.publishHealth({ ok: false, event: "tts_unavailable", err: missing }).catch(() => {});
    }
  }
  const sink = overrides.sink ?? createSink(config, client, logger);
  const cache = new PhraseCache({
    dir: config.wakeCacheEnable ? config.wakeCacheDir : null,
    maxFiles: config.wakeCacheMax,
    onError: (message) => logger.warn("Phrase cache: {message}", { message }),
  });
  const speaker = new Speaker({
    engine,
    sink,
    chunkMs: config.chunkMs,
    leadMs: config.streamLeadMs,
    prefetch: config.pipeline ? config.concurrency : 1,
    logger,
    publishStatus: (status) => client.publishEvent(topics.ttsStatus, status),
    remember: (text, audio) => {
      if (config.wakeCacheEnable) cache.store(text, audio, engine.id).catch(() => {});
    },
  });
  const counters = { ignoredSays: 0, ignoredControls: 0 };
  // utt_ids stopped by tts/control: later sentences of a reply still streaming are dropped.
  const stoppedUtts: string[] = [];

  const jobFor = (text: string, meta: SayMeta, uttId: string | null): SpeechJob => {
    const cached = config.wakeCacheEnable ? cache.get(text) : undefined;
    return {
      uttId,
      text,
      parts: cached ? [text] : config.pipeline ? splitSentences(text) : [text],
      wakeAck: meta.wake_ack,
      systemAnnounce: meta.system_announce,
      cached,
      remember: !cached && meta.wake_ack === true && config.wakeCacheEnable,
    };
  };

  const aggregator = new SayAggregator<SayMeta>(config.aggregateDebounceMs, (batch) => {
    if (config.aggregateSingleWav) {
      speaker.enqueue(jobFor(batch.texts.join(" "), batch.meta, batch.uttId));
    } else {
      for (const text of batch.texts) speaker.enqueue(jobFor(text, batch.meta, batch.uttId));
    }
  });

  const onSay = (say: TtsSay) => {
    const text = markdownToSpeech(say.text);
    const uttId = say.utt_id || null;
    if (!text) {
      counters.ignoredSays++;
      return;
    }
    if (uttId && stoppedUtts.includes(uttId)) {
      counters.ignoredSays++;
      logger.debug("Dropping a sentence of stopped utterance {uttId}", { uttId });
      return;
    }
    const meta: SayMeta = { wake_ack: say.wake_ack, system_announce: say.system_announce };
    if (config.aggregate && uttId && !say.wake_ack && !say.system_announce) {
      aggregator.add(uttId, text, meta);
      return;
    }
    aggregator.flush();
    speaker.enqueue(jobFor(text, meta, uttId));
  };

  const onControl = async (control: TtsControl) => {
    if (control.action === "stop") {
      const pending = aggregator.pendingUttId;
      const matches = !control.id || pending === control.id || speaker.currentUttId === control.id;
      if (matches) {
        if (pending) aggregator.clear();
        const stopped = control.id ?? speaker.currentUttId ?? pending;
        if (stopped && !stoppedUtts.includes(stopped)) {
          stoppedUtts.push(stopped);
          if (stoppedUtts.length > STOPPED_MEMORY) stoppedUtts.shift();
        }
      }
    }
    const acted = await speaker.control(control);
    if (!acted) counters.ignoredControls++;
    logger.info("tts/control {action} ({reason}): {result}", {
      action: control.action,
      reason: control.reason ?? "",
      result: acted ? "applied" : "ignored",
    });
  };

  const subscriptions = client.group();
  await subscriptions.subscribe(topics.ttsSay, onSay);
  // Its own queue: control is handled while a sentence plays (py-tars could not).
  await subscriptions.subscribe(topics.ttsControl, onControl, { handlerTimeoutMs: 5_000 });

  const preloaded = (async () => {
    if (!config.wakeCacheEnable || config.preloadTexts.length === 0) return;
    const started = performance.now();
    // Without espeak-ng no phrase can be synthesized: load the files, do not repeat the error.
    const synthesized = await cache.preload(config.preloadTexts, engine, { synthesize: !missing });
    logger.info("Phrase cache ready: {count} phrases ({synthesized} synthesized) in {ms} ms", {
      count: cache.size,
      synthesized,
      ms: Math.round(performance.now() - started),
    });
  })().catch((error) => logger.warn("Phrase cache preload failed: {error}", { error }));

  logger.info("tts-worker ready: engine {engine}, sink {sink}", {
    engine: engine.id,
    sink: sink.name,
  });

  return {
    speaker,
    cache,
    preloaded,
    counters,
    async close() {
      await subscriptions.close().catch(() => {});
      aggregator.clear();
      await preloaded;
      await speaker.close();
      await sink.close();
      await engine.close();
    },
  };
}
