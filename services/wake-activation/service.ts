/**
 * The wake-activation service: PCM frames from `audio/pcm/<source>` (WAKE_AUDIO_TOPIC) are
 * scored by openWakeWord, one detector per source topic; detections drive the
 * {@linkcode WakeSession}, which publishes wake/event, wake/mic and tts/control through the
 * topic table; stt/vad tells it when the user speaks, so the session is not timed out
 * mid-sentence. tts/status and stt/final are read as the envelopes they are (py-tars parsed
 * them as raw JSON and never saw a "speaking" state). Bad audio (odd byte counts, too many
 * sources, a scorer failure) is logged rate-limited and counted, never fatal.
 *
 * @module
 */
import {
  filterOf,
  type MessageContext,
  RateLimitedLog,
  type ServiceDeps,
  topics,
} from "../../core/mod.ts";
import type { WakeConfig } from "./config.ts";
import { WakeDetector } from "./detector.ts";
import type { WakeScorer } from "./scorer.ts";
import { WakeSession } from "./session.ts";

/** Options of {@linkcode startWakeActivation}. */
export interface WakeServiceOptions {
  /** The configuration (`readWakeConfig`). */
  readonly config: WakeConfig;
  /** Makes a scorer for each audio source (one stream state each). */
  readonly createScorer: () => Promise<WakeScorer>;
  /** A scorer already loaded (used for the first source). */
  readonly firstScorer?: WakeScorer;
}

/** Counters of the service. */
export interface WakeServiceCounters {
  /** Audio messages received. */
  audioMessages: number;
  /** Audio bytes received. */
  audioBytes: number;
  /** Audio messages dropped (too many sources, scorer failure). */
  audioDropped: number;
  /** Scorer failures. */
  scorerErrors: number;
}

/** A running wake-activation service. */
export interface WakeService {
  /** The state machine. */
  readonly session: WakeSession;
  /** Service counters. */
  readonly counters: Readonly<WakeServiceCounters>;
  /** The detectors, by source topic. */
  readonly detectors: ReadonlyMap<string, WakeDetector>;
  /** Unsubscribes, stops the timers and closes the models. */
  close(): Promise<void>;
}

/** Subscribes and starts listening. */
export async function startWakeActivation(
  context: ServiceDeps,
  options: WakeServiceOptions,
): Promise<WakeService> {
  const { client, logger } = context;
  const { config } = options;
  const counters: WakeServiceCounters = {
    audioMessages: 0,
    audioBytes: 0,
    audioDropped: 0,
    scorerErrors: 0,
  };
  const warnings = new RateLimitedLog(10_000);
  const session = new WakeSession(config.session, {
    event: (event) => client.publishEvent(topics.wakeEvent, event),
    mic: (command) => client.publishEvent(topics.wakeMic, command),
    ttsControl: (command) => client.publishEvent(topics.ttsControl, command),
  }, {
    onError: (error) =>
      warnings.maybe(
        "publish",
        (suppressed) =>
          logger.warn("Publish failed: {error} (+{suppressed} more)", {
            error: `${error}`,
            suppressed,
          }),
      ),
  });
  const detectors = new Map<string, WakeDetector>();
  let spare = options.firstScorer;
  let closed = false;

  const detectorFor = async (topic: string): Promise<WakeDetector | null> => {
    const known = detectors.get(topic);
    if (known) return known;
    if (detectors.size >= config.maxSources) return null;
    const scorer = spare ?? await options.createScorer();
    spare = undefined;
    const detector = new WakeDetector(scorer, {
      gate: config.gate,
      energyWindowMs: config.energyWindowMs,
    });
    detectors.set(topic, detector);
    logger.info("Listening for {model} on {topic}", { model: scorer.name, topic });
    return detector;
  };

  const onAudio = async (bytes: Uint8Array, message: MessageContext) => {
    if (closed) return;
    counters.audioMessages++;
    counters.audioBytes += bytes.length;
    if (bytes.length % 2 !== 0) {
      // PCM16 frames have whole samples: half a sample would shift every later sample of
      // the stream by one byte, and the wake word would never be heard again.
      counters.audioDropped++;
      warnings.maybe("odd-frame", (suppressed) =>
        logger.warn(
          "Ignoring a {bytes}-byte audio frame on {topic}: PCM16 needs an even byte count " +
            "(+{suppressed} more)",
          { bytes: bytes.length, topic: message.topic, suppressed },
        ));
      return;
    }
    const detector = await detectorFor(message.topic);
    if (!detector) {
      counters.audioDropped++;
      warnings.maybe("sources", (suppressed) =>
        logger.warn(
          "Ignoring audio on {topic}: already scoring {count} sources; raise WAKE_MAX_SOURCES " +
            "or narrow WAKE_AUDIO_TOPIC (+{suppressed} more)",
          { topic: message.topic, count: detectors.size, suppressed },
        ));
      return;
    }
    let detections;
    try {
      detections = await detector.push(bytes);
    } catch (error) {
      counters.scorerErrors++;
      counters.audioDropped++;
      warnings.maybe(
        "scorer",
        (suppressed) =>
          logger.error("Wake scorer failed on {topic}: {error}; resetting the stream (+{n} more)", {
            topic: message.topic,
            error: `${error}`,
            n: suppressed,
          }),
      );
      await detector.reset().catch(() => {});
      return;
    }
    for (const detection of detections) {
      if (closed) return;
      logger.info("Wake word on {topic}: score {score}, energy {energy}, tts {tts}", {
        topic: message.topic,
        score: detection.score.toFixed(3),
        energy: detection.energy.toFixed(4),
        tts: session.tts,
      });
      session.onDetection(detection);
    }
  };

  const subscriptions = client.group();
  const live = { ignoreRetained: true };
  try {
    const audioOptions = { queueSize: 512, overflow: "drop-oldest" as const };
    if (config.audioTopic === filterOf(topics.audioPcm)) {
      await subscriptions.subscribeRaw(topics.audioPcm, onAudio, audioOptions);
    } else {
      await subscriptions.subscribeRaw(config.audioTopic, onAudio, audioOptions);
    }
    await subscriptions.subscribe(topics.ttsStatus, (status) => session.onTtsStatus(status), live);
    await subscriptions.subscribe(
      topics.sttFinal,
      (final) => session.onTranscript(final.text),
      live,
    );
    await subscriptions.subscribe(topics.sttVad, (activity) => {
      session.onSpeechActivity(activity);
    }, live);
  } catch (error) {
    session.close();
    await subscriptions.close().catch(() => {});
    throw error;
  }

  return {
    session,
    counters,
    detectors,
    async close() {
      closed = true;
      session.close();
      await subscriptions.close().catch(() => {});
      await Promise.allSettled([...detectors.values()].map((d) => d.close()));
      if (spare) await spare.close();
      detectors.clear();
    },
  };
}
