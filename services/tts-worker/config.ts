/**
 * tts-worker configuration from the environment (py-tars names and defaults where they exist,
 * except `TTS_PROVIDER`, espeak here; docs/migration.md says why; see the README for the table).
 *
 * @module
 */
import { ConfigError, envVar, readEnv } from "../../core/mod.ts";

/** The speech engines of `TTS_PROVIDER`. */
export const TTS_PROVIDERS = ["espeak", "piper"] as const;
/** One of {@linkcode TTS_PROVIDERS}. */
export type TtsProvider = typeof TTS_PROVIDERS[number];

/** The audio sinks of `TTS_SINK`. */
export const TTS_SINKS = ["mqtt", "alsa", "file"] as const;
/** One of {@linkcode TTS_SINKS}. */
export type TtsSinkKind = typeof TTS_SINKS[number];

/** The players of `TTS_ALSA_PLAYER`. */
export const TTS_ALSA_PLAYERS = ["aplay", "paplay"] as const;
/** One of {@linkcode TTS_ALSA_PLAYERS}. */
export type TtsAlsaPlayer = typeof TTS_ALSA_PLAYERS[number];

/** The default wake acknowledgements (router's `ROUTER_WAKE_ACK_CHOICES` default). */
export const DEFAULT_WAKE_ACK_TEXTS = ["Hmm?", "Huh?", "Yes?"] as const;

/** The variables, their defaults and ranges. */
export const TTS_ENV = {
  TTS_PROVIDER: envVar.choice<TtsProvider>("espeak", TTS_PROVIDERS),
  TTS_SINK: envVar.choice<TtsSinkKind>("mqtt", TTS_SINKS),
  PIPER_VOICE: envVar.string("/voices/TARS.onnx"),
  TTS_PIPER_SPEAKER: envVar.int(0, { min: 0, max: 10_000 }),
  TTS_ESPEAK_BIN: envVar.string("espeak-ng"),
  TTS_ESPEAK_VOICE: envVar.string("en-us"),
  TTS_ESPEAK_RATE: envVar.int(175, { min: 80, max: 450 }),
  TTS_ALSA_PLAYER: envVar.choice<TtsAlsaPlayer>("aplay", TTS_ALSA_PLAYERS),
  TTS_ALSA_DEVICE: envVar.string("default"),
  TTS_OUTPUT_DIR: envVar.string("data/tts-out"),
  TTS_PIPELINE: envVar.bool(true),
  TTS_CONCURRENCY: envVar.int(1, { min: 1, max: 4 }),
  TTS_AGGREGATE: envVar.bool(true),
  TTS_AGGREGATE_DEBOUNCE_MS: envVar.int(150, { min: 0, max: 60_000 }),
  TTS_AGGREGATE_SINGLE_WAV: envVar.bool(true),
  TTS_WAKE_CACHE_ENABLE: envVar.bool(true),
  TTS_WAKE_CACHE_DIR: envVar.string("data/tts-cache"),
  TTS_WAKE_CACHE_MAX: envVar.int(16, { min: 1, max: 10_000 }),
  TTS_WAKE_ACK_TEXTS: envVar.list([]),
  ROUTER_WAKE_ACK_CHOICES: envVar.list([...DEFAULT_WAKE_ACK_TEXTS], /\|/),
  ONLINE_ANNOUNCE_TEXT: envVar.string("System online."),
  TTS_CHUNK_MS: envVar.int(100, { min: 10, max: 1_000 }),
  TTS_STREAM_LEAD_MS: envVar.int(250, { min: 0, max: 10_000 }),
};

/** The parsed configuration. */
export interface TtsConfig {
  /** `TTS_PROVIDER`: the engine; `piper` falls back to `espeak` when its voice fails. */
  readonly provider: TtsProvider;
  /** `TTS_SINK`: where audio goes. */
  readonly sink: TtsSinkKind;
  /** `PIPER_VOICE`: the Piper `.onnx` (its config is `<path>.json`). */
  readonly piperVoice: string;
  /** `TTS_PIPER_SPEAKER`: speaker id of a multi-speaker voice. */
  readonly piperSpeaker: number;
  /** `TTS_ESPEAK_BIN`: the espeak-ng executable. */
  readonly espeakBin: string;
  /** `TTS_ESPEAK_VOICE`: espeak-ng voice, e.g. `en-us`. */
  readonly espeakVoice: string;
  /** `TTS_ESPEAK_RATE`: words per minute. */
  readonly espeakRate: number;
  /** `TTS_ALSA_PLAYER`: `aplay` or `paplay`. */
  readonly alsaPlayer: TtsAlsaPlayer;
  /** `TTS_ALSA_DEVICE`: the ALSA (or PulseAudio) device; `default` = the system's. */
  readonly alsaDevice: string;
  /** `TTS_OUTPUT_DIR`: where the file sink writes WAVs. */
  readonly outputDir: string;
  /** `TTS_PIPELINE`: split text into sentences and synthesize ahead of playback. */
  readonly pipeline: boolean;
  /** `TTS_CONCURRENCY`: sentences synthesized ahead of the one playing. */
  readonly concurrency: number;
  /** `TTS_AGGREGATE`: join the sentences of one utt_id that arrive close together. */
  readonly aggregate: boolean;
  /** `TTS_AGGREGATE_DEBOUNCE_MS` (at least 10 ms, as in py-tars). */
  readonly aggregateDebounceMs: number;
  /** `TTS_AGGREGATE_SINGLE_WAV`: one utterance (one start/end) per aggregate. */
  readonly aggregateSingleWav: boolean;
  /** `TTS_WAKE_CACHE_ENABLE`: preload and replay wake acks without synthesis. */
  readonly wakeCacheEnable: boolean;
  /** `TTS_WAKE_CACHE_DIR`: WAV files of the phrase cache. */
  readonly wakeCacheDir: string;
  /** `TTS_WAKE_CACHE_MAX`: files kept in the cache directory. */
  readonly wakeCacheMax: number;
  /** Phrases preloaded into the cache (wake acks + the online announcement). */
  readonly preloadTexts: readonly string[];
  /** `TTS_CHUNK_MS`: audio chunk length. */
  readonly chunkMs: number;
  /** `TTS_STREAM_LEAD_MS`: how far ahead of the playhead audio is handed to the sink. */
  readonly streamLeadMs: number;
}

/** Reads the configuration; throws one {@linkcode ConfigError} naming every bad variable. */
export function readTtsConfig(env: Readonly<Record<string, string | undefined>>): TtsConfig {
  const { values: v, issues } = readEnv(TTS_ENV, env);
  if (issues.length > 0) throw new ConfigError(issues, "tts-worker configuration");
  const acks = v.TTS_WAKE_ACK_TEXTS.length > 0 ? v.TTS_WAKE_ACK_TEXTS : v.ROUTER_WAKE_ACK_CHOICES;
  const preload = [...acks, v.ONLINE_ANNOUNCE_TEXT].filter((t) => t.trim() !== "");
  return {
    provider: v.TTS_PROVIDER,
    sink: v.TTS_SINK,
    piperVoice: v.PIPER_VOICE,
    piperSpeaker: v.TTS_PIPER_SPEAKER,
    espeakBin: v.TTS_ESPEAK_BIN,
    espeakVoice: v.TTS_ESPEAK_VOICE,
    espeakRate: v.TTS_ESPEAK_RATE,
    alsaPlayer: v.TTS_ALSA_PLAYER,
    alsaDevice: v.TTS_ALSA_DEVICE,
    outputDir: v.TTS_OUTPUT_DIR,
    pipeline: v.TTS_PIPELINE,
    concurrency: v.TTS_CONCURRENCY,
    aggregate: v.TTS_AGGREGATE,
    aggregateDebounceMs: Math.max(10, v.TTS_AGGREGATE_DEBOUNCE_MS),
    aggregateSingleWav: v.TTS_AGGREGATE_SINGLE_WAV,
    wakeCacheEnable: v.TTS_WAKE_CACHE_ENABLE,
    wakeCacheDir: v.TTS_WAKE_CACHE_DIR,
    wakeCacheMax: v.TTS_WAKE_CACHE_MAX,
    preloadTexts: [...new Set(preload)],
    chunkMs: v.TTS_CHUNK_MS,
    streamLeadMs: v.TTS_STREAM_LEAD_MS,
  };
}
