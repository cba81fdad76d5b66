/**
 * The stt-worker service: frames from the {@linkcode AudioSource} are published on
 * `audio/pcm/<AUDIO_SOURCE_NAME>` (muted or not, never for the mqtt source), and while the
 * {@linkcode MicState} listens they go through Silero VAD and the {@linkcode UtteranceSegmenter};
 * each utterance is transcribed (one at a time, off the capture loop), judged by the
 * {@linkcode Suppressor} and published on stt/final; partials go to stt/partial while speaking.
 * The start and end of each utterance go to stt/vad (wake-activation holds its session open
 * while the user speaks), and the utterance holds the {@linkcode MicState}'s window open until
 * it is handed to the transcriber, so a wake ttl never cuts a sentence in the middle.
 * tts/say, tts/status, wake/mic and wake/event drive the mic state and the echo check. A
 * transcriber failure is logged, counted and reported in health; it never stops the service.
 *
 * @module
 */
import {
  clipText,
  type FinalTranscript,
  RateLimitedLog,
  type ServiceDeps,
  type SpeechEndReason,
  TEXT_LIMITS,
  topics,
} from "../../core/mod.ts";
import { type SttConfig, sttNotConfigured } from "./config.ts";
import { type MicChange, MicState } from "./mic_state.ts";
import { pcm16ToFloat } from "../../lib/audio/mod.ts";
import { rmsPcm16 } from "./pcm.ts";
import { type SegmenterEvent, type Utterance, UtteranceSegmenter } from "./segmenter.ts";
import type { AudioSource } from "./sources/mod.ts";
import { Suppressor } from "./suppression.ts";
import type { Transcriber } from "./transcribers/mod.ts";
import type { VoiceActivityDetector } from "./vad.ts";

/** Quiet frames right after an unmute are skipped below this RMS (py-tars 180). */
export const UNMUTE_GUARD_RMS = 180;

/** Options of {@linkcode startSttWorker}. */
export interface SttServiceOptions {
  /** The configuration (`readSttConfig`). */
  readonly config: SttConfig;
  /** The audio source, not yet opened. */
  readonly source: AudioSource;
  /** The voice activity detector. */
  readonly vad: VoiceActivityDetector;
  /** The transcriber. */
  readonly transcriber: Transcriber;
}

/** Counters of the service. */
export interface SttServiceCounters {
  /** Frames captured. */
  frames: number;
  /** Frames that skipped the VAD: outside speech and far below the noise gate. */
  vadSkipped: number;
  /** Frames published on audio/pcm. */
  framesPublished: number;
  /** Frame publishes that failed. */
  publishErrors: number;
  /** Utterances segmented. */
  utterances: number;
  /** Blips dropped (too little voiced audio). */
  blips: number;
  /** Utterances dropped because the mic was muted before they were transcribed. */
  droppedMuted: number;
  /** Transcriptions that failed. */
  transcriberErrors: number;
  /** Transcripts suppressed. */
  suppressed: number;
  /** stt/final published. */
  finals: number;
  /** stt/partial published. */
  partials: number;
  /** stt/vad publishes that failed. */
  vadPublishErrors: number;
}

/** Timing of one published final. */
export interface FinalTiming {
  /** The transcript as published (without the message id the client adds). */
  readonly final: Omit<FinalTranscript, "message_id">;
  /** End of speech (segmenter decision) → stt/final published, ms. */
  readonly endToFinalMs: number;
  /** Of which the transcriber took, ms. */
  readonly transcribeMs: number;
}

/** A running stt-worker. */
export interface SttService {
  /** Mic state. */
  readonly mic: MicState;
  /** Suppression state. */
  readonly suppressor: Suppressor;
  /** Counters. */
  readonly counters: Readonly<SttServiceCounters>;
  /** Timings of the finals published (last 100). */
  readonly timings: readonly FinalTiming[];
  /** Resolves when the source has ended and its last utterance was handled. */
  readonly sourceEnded: Promise<void>;
  /** Stops capture, timers and subscriptions; frees the models. */
  close(): Promise<void>;
}

function uttId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** Starts the worker: subscribes, opens the source and runs the capture loop. */
export async function startSttWorker(
  context: ServiceDeps,
  options: SttServiceOptions,
): Promise<SttService> {
  const { client, logger } = context;
  const { config, source, vad, transcriber } = options;
  const counters: SttServiceCounters = {
    frames: 0,
    framesPublished: 0,
    vadSkipped: 0,
    publishErrors: 0,
    utterances: 0,
    blips: 0,
    droppedMuted: 0,
    transcriberErrors: 0,
    suppressed: 0,
    finals: 0,
    partials: 0,
    vadPublishErrors: 0,
  };
  const warnings = new RateLimitedLog(10_000);
  const suppressor = new Suppressor(config.suppression);
  const segmenter = new UtteranceSegmenter({
    frameMs: config.audio.frameMs,
    ...config.vad,
  });
  const timings: FinalTiming[] = [];
  let closed = false;
  let healthy = true;
  let cooldownUntil = 0;
  let currentUtt = uttId();
  let lastPartial = "";
  let partialBusy = false;
  let work: Promise<void> = Promise.resolve();
  const abort = new AbortController();

  /** stt/vad: never awaited (the capture loop must not wait for the broker). */
  const publishVad = (
    event: "speech_start" | "speech_end",
    id: string,
    end?: { reason: SpeechEndReason; durationMs: number },
  ) => {
    client.publishEvent(topics.sttVad, {
      event,
      utt_id: id,
      ...(end
        ? { reason: end.reason, duration_ms: Math.round(end.durationMs) }
        : { max_ms: Math.round(config.vad.maxUtteranceMs) }),
      ts: Date.now() / 1000,
    }).catch(() => counters.vadPublishErrors++);
  };

  const mic = new MicState(config.mic, (change: MicChange) => {
    logger.info("Mic {state} ({reason})", {
      state: change.muted ? "muted" : "unmuted",
      reason: change.reason,
    });
    if (change.muted) {
      if (segmenter.inSpeech) {
        const id = currentUtt;
        currentUtt = uttId();
        logger.info("Dropped the utterance in progress ({ms} ms): the mic was muted ({reason})", {
          ms: segmenter.activeMs,
          reason: change.reason,
        });
        publishVad("speech_end", id, { reason: "muted", durationMs: segmenter.activeMs });
      }
      segmenter.reset();
      lastPartial = "";
    } else vad.reset();
  });

  const setHealth = (ok: boolean, event: string, err?: string) => {
    if (ok === healthy) return;
    healthy = ok;
    client.publishHealth(ok ? { ok, event } : { ok, event, err }).catch(() => {});
  };
  // Not configured: said once, in the log and in health (the dashboard's banner), not per
  // utterance; a transcription that works later makes it ready.
  const notConfigured = sttNotConfigured(config.transcriber);
  if (notConfigured) {
    logger.warn("{reason}", { reason: notConfigured });
    setHealth(false, "stt_not_configured", notConfigured);
  }

  const transcribe = async (utterance: Utterance, id: string, endedAt: number) => {
    if (closed) return;
    const listening = mic.listening;
    // Handed over (or dropped): a window that ended while it was spoken may close now.
    mic.releaseUtterance(id);
    if (!listening) {
      counters.droppedMuted++;
      logger.info("Dropped an utterance of {ms} ms: the mic was muted before transcription", {
        ms: Math.round(utterance.durationMs),
      });
      return;
    }
    const started = performance.now();
    let result;
    try {
      result = await transcriber.transcribe(utterance.pcm, { signal: abort.signal });
    } catch (error) {
      if (closed) return;
      counters.transcriberErrors++;
      setHealth(false, "transcriber_error", `${error}`);
      warnings.maybe(
        "transcribe",
        (suppressed) =>
          logger.error("Transcription failed: {error} (+{suppressed} more)", {
            error: (error as Error).message,
            suppressed,
          }),
      );
      return;
    }
    setHealth(true, "ready");
    const transcribeMs = performance.now() - started;
    const decision = suppressor.evaluate({
      text: result.text,
      confidence: result.confidence,
      durationMs: utterance.durationMs,
      rms: utterance.rms,
      activeRatio: utterance.activeRatio,
      noSpeechProb: result.noSpeechProb,
      avgLogprob: result.avgLogprob,
      inResponseWindow: mic.inResponseWindow,
    }, Date.now());
    if (!decision.accept) {
      counters.suppressed++;
      logger.info("Suppressed {text}: {reasons}", {
        text: JSON.stringify(result.text),
        reasons: decision.reasons.join(", "),
        confidence: result.confidence,
        durationMs: Math.round(utterance.durationMs),
        rms: Math.round(utterance.rms),
      });
      return;
    }
    if (closed) return;
    const final = {
      text: clipText(result.text, TEXT_LIMITS.text),
      lang: config.transcriber.language,
      confidence: result.confidence,
      utt_id: id,
      ts: Date.now() / 1000,
      is_final: true,
    };
    suppressor.recordPublished(result.text, Date.now());
    mic.onFinalPublished();
    cooldownUntil = Date.now() + config.postPublishCooldownMs;
    try {
      await client.publishEvent(topics.sttFinal, final);
    } catch (error) {
      logger.error("Could not publish stt/final: {error}", { error: `${error}` });
      return;
    }
    counters.finals++;
    const timing = {
      final,
      endToFinalMs: performance.now() - endedAt,
      transcribeMs,
    };
    timings.push(timing);
    if (timings.length > 100) timings.shift();
    logger.info("Final {text} (confidence {confidence}{overridden})", {
      text: JSON.stringify(final.text),
      confidence: result.confidence?.toFixed(2) ?? "n/a",
      overridden: decision.overridden ? `, overrode ${decision.reasons.join(", ")}` : "",
    });
  };

  const onSegment = (event: SegmenterEvent | null) => {
    if (!event) return;
    if (event.type === "speech_start") {
      lastPartial = "";
      logger.debug("Speech started");
      mic.holdUtterance(currentUtt);
      publishVad("speech_start", currentUtt);
    } else if (event.type === "blip") {
      counters.blips++;
      const id = currentUtt;
      currentUtt = uttId();
      logger.debug("Ignored a blip of {ms} ms voiced audio", { ms: event.speechMs });
      publishVad("speech_end", id, { reason: "blip", durationMs: event.speechMs });
      mic.releaseUtterance(id);
    } else {
      counters.utterances++;
      const id = currentUtt;
      currentUtt = uttId();
      lastPartial = "";
      const endedAt = performance.now();
      logger.debug("Utterance of {ms} ms ({by})", {
        ms: Math.round(event.utterance.durationMs),
        by: event.utterance.endedBy,
      });
      publishVad("speech_end", id, {
        reason: event.utterance.endedBy,
        durationMs: event.utterance.durationMs,
      });
      work = work.then(() => transcribe(event.utterance, id, endedAt));
    }
  };

  const partialTick = async () => {
    const p = config.partials;
    if (partialBusy || closed || !segmenter.inSpeech || !mic.listening) return;
    if (segmenter.activeMs < p.minDurationMs) return;
    partialBusy = true;
    const id = currentUtt;
    try {
      const result = await transcriber.transcribe(segmenter.activeAudio(), {
        partial: true,
        signal: abort.signal,
      });
      const text = result.text;
      const letters = (text.match(/\p{L}/gu) ?? []).length;
      const visible = text.replace(/\s/g, "").length;
      if (
        id !== currentUtt || !segmenter.inSpeech || text === lastPartial ||
        text.length < p.minChars || (visible > 0 ? letters / visible : 0) < p.alphaRatioMin ||
        (text.length - lastPartial.length < p.minNewChars && !text.endsWith("."))
      ) return;
      lastPartial = text;
      await client.publishEvent(topics.sttPartial, {
        text: clipText(text, TEXT_LIMITS.text),
        lang: config.transcriber.language,
        confidence: result.confidence,
        utt_id: id,
        ts: Date.now() / 1000,
        is_final: false,
      });
      counters.partials++;
    } catch (error) {
      if (!closed) {
        warnings.maybe(
          "partial",
          (suppressed) =>
            logger.warn("Partial transcription failed: {error} (+{suppressed} more)", {
              error: (error as Error).message,
              suppressed,
            }),
        );
      }
    } finally {
      partialBusy = false;
    }
  };

  const onFrame = async (frame: Uint8Array) => {
    counters.frames++;
    if (config.audio.publish) {
      client.publishRaw(topics.audioPcm, frame, { params: { source: config.audio.publishName } })
        .then(() => counters.framesPublished++, () => counters.publishErrors++);
    }
    if (!mic.listening) return;
    const now = Date.now();
    if (now < cooldownUntil) return;
    const rms = rmsPcm16(frame);
    if (
      !segmenter.inSpeech && now - mic.lastUnmuteAt < config.unmuteGuardMs &&
      rms < UNMUTE_GUARD_RMS
    ) {
      // A quiet frame right after an unmute cannot start speech, but it stays in the preroll:
      // the soft onset of a word said just after the wake is part of the utterance.
      onSegment(segmenter.push(frame, 0, rms));
      return;
    }
    // Outside speech a frame far below the gate cannot start speech: spare the VAD call
    // (most of a robot's day is quiet). Frames nearer the gate keep the VAD's state warm.
    if (!segmenter.inSpeech && rms < segmenter.gate * config.vad.skipBelowGate) {
      counters.vadSkipped++;
      onSegment(segmenter.push(frame, 0, rms));
      return;
    }
    const probability = await vad.push(pcm16ToFloat(frame));
    if (!mic.listening) return; // muted while the VAD ran
    onSegment(segmenter.push(frame, probability, rms));
  };

  const subscriptions = client.group();
  const live = { ignoreRetained: true };
  try {
    await subscriptions.subscribe(topics.ttsSay, (say) => {
      if (!say.wake_ack && say.text.trim() !== "") suppressor.rememberTts(say.text);
      mic.onTtsSay(say);
    }, live);
    await subscriptions.subscribe(topics.ttsStatus, (status) => mic.onTtsStatus(status), live);
    await subscriptions.subscribe(topics.wakeMic, (command) => mic.onWakeMic(command), live);
    await subscriptions.subscribe(topics.wakeEvent, (event) => mic.onWakeEvent(event), live);
    await source.open();
  } catch (error) {
    mic.close();
    await subscriptions.close().catch(() => {});
    throw error;
  }
  logger.info("Listening on {source}, transcribing with {backend}; mic {state} ({mode} mode)", {
    source: source.label,
    backend: transcriber.name,
    state: mic.muted ? "muted" : "open",
    mode: config.mic.mode,
  });

  const partialTimer = config.partials.enabled
    ? setInterval(() => void partialTick(), config.partials.intervalMs)
    : undefined;

  const pump = (async () => {
    try {
      for await (const frame of source.frames()) {
        if (closed) break;
        try {
          await onFrame(frame);
        } catch (error) {
          warnings.maybe(
            "frame",
            (suppressed) =>
              logger.error("Audio frame failed: {error} (+{suppressed} more)", {
                error: `${error}`,
                suppressed,
              }),
          );
        }
      }
    } finally {
      if (!closed) {
        onSegment(segmenter.flush());
        logger.info("Audio source {source} ended", { source: source.label });
      }
    }
    await work;
  })();

  return {
    mic,
    suppressor,
    counters,
    timings,
    sourceEnded: pump,
    async close() {
      closed = true;
      abort.abort();
      if (partialTimer !== undefined) clearInterval(partialTimer);
      mic.close();
      await source.close();
      await pump.catch(() => {});
      await work.catch(() => {});
      await subscriptions.close().catch(() => {});
      await Promise.allSettled([vad.close(), transcriber.close()]);
    },
  };
}
