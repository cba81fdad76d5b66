/**
 * The transcriber interface (STT_BACKEND): speech to text for one utterance of PCM16LE mono
 * 16 kHz, and the confidence arithmetic the implementations share.
 *
 * Confidence comes from the recogniser (mean token probability), never from Whisper's
 * language probability as in py-tars.
 *
 * @module
 */

/** A transcription. */
export interface Transcript {
  /** The text, trimmed. */
  readonly text: string;
  /** Confidence 0..1 from the recogniser, null when it gives none. */
  readonly confidence: number | null;
  /** Whisper's mean no-speech probability, when known. */
  readonly noSpeechProb?: number | null;
  /** Whisper's mean log probability, when known. */
  readonly avgLogprob?: number | null;
  /** Language the recogniser reports, when known. */
  readonly language?: string | null;
}

/** Options of one transcription. */
export interface TranscribeOptions {
  /** Cancels the request. */
  readonly signal?: AbortSignal;
  /** A partial (the utterance is still in progress). */
  readonly partial?: boolean;
}

/** Speech to text for one utterance of PCM16LE mono 16 kHz. */
export interface Transcriber {
  /** "openai", "ws" or "sherpa". */
  readonly name: string;
  /** Transcribes `pcm`. Rejects with an error naming the backend and what to check. */
  transcribe(pcm: Uint8Array, options?: TranscribeOptions): Promise<Transcript>;
  /** Frees resources. */
  close(): Promise<void>;
}

/** A probability from a mean log probability, clamped to 0..1. */
export function probabilityFromLogprob(logprob: number): number {
  return Math.min(1, Math.max(0, Math.exp(logprob)));
}

/** The mean of `values`, null when there are none. */
export function mean(values: readonly number[]): number | null {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}
