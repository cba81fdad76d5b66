/**
 * The wake-word scorer interface: the pluggable backend of wake-activation. A scorer turns
 * fixed-size frames of 16 kHz PCM16 audio into one wake-word score (0..1) per frame.
 *
 * @module
 */

/** Scores frames of 16 kHz mono PCM16 audio for one wake word. */
export interface WakeScorer {
  /** What is detected, for logs (e.g. `hey_jarvis_v0.1`). */
  readonly name: string;
  /** The number of samples {@linkcode WakeScorer.score} takes per call. */
  readonly frameSamples: number;
  /**
   * Scores the next frame of exactly {@linkcode WakeScorer.frameSamples} samples; frames must
   * be given in stream order. Resolves with the wake-word probability 0..1.
   */
  score(frame: Int16Array): Promise<number>;
  /** Forgets the audio seen so far (the next frame starts a new stream). */
  reset(): Promise<void>;
  /** Releases the models. The scorer cannot be used afterwards. */
  close(): Promise<void>;
}
