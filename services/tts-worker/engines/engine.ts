/**
 * The speech engine interface: text in, mono PCM16 out.
 *
 * @module
 */
import type { PcmAudio } from "../audio.ts";

/** A text-to-speech engine (one per `TTS_PROVIDER`). */
export interface SpeechEngine {
  /** Short name for logs and the cache key, e.g. `espeak:en-us:175`. */
  readonly id: string;
  /** Synthesizes `text` (plain text, one sentence or more); aborting `signal` cancels it. */
  synthesize(text: string, signal?: AbortSignal): Promise<PcmAudio>;
  /** Frees the engine's resources. Idempotent. */
  close(): Promise<void>;
}

/** Thrown when synthesis was cancelled through its signal. */
export class SynthesisAborted extends Error {
  /** Builds the error. */
  constructor() {
    super("synthesis aborted");
    this.name = "SynthesisAborted";
  }
}
