/**
 * The audio sink interface: where synthesized speech goes (a speaker through aplay/paplay,
 * WAV files, or PCM chunks over MQTT).
 *
 * @module
 */

/** The utterance a sink stream plays. */
export interface UtteranceInfo {
  /** Utterance id (the tts/say `utt_id`, or one made up for it). */
  readonly uttId: string;
  /** The text, for names and logs. */
  readonly text: string;
  /**
   * How long the engine took to synthesize the audio that starts the utterance, ms; absent
   * when it came from the phrase cache. The mqtt sink reports it on the first chunk.
   */
  readonly synthesisMs?: number;
}

/** A destination for speech audio (one per `TTS_SINK`). */
export interface AudioSink {
  /** `mqtt`, `alsa` or `file`. */
  readonly name: string;
  /**
   * Whether the sink plays in real time, so the speaker paces writes to the playhead; a
   * non-real-time sink (file) takes audio as fast as it comes.
   */
  readonly realtime: boolean;
  /** Starts one utterance at `sampleRate` (mono PCM16). */
  open(utterance: UtteranceInfo, sampleRate: number): Promise<SinkStream>;
  /** Frees the sink. Idempotent. */
  close(): Promise<void>;
}

/** One utterance being played. */
export interface SinkStream {
  /** Hands over the next samples (about one chunk). */
  write(samples: Int16Array): Promise<void>;
  /** Holds playback now (audio already handed over stops too where the sink can do that). */
  pause(): void;
  /** Continues after {@linkcode pause}. */
  resume(): void;
  /** Ends the utterance normally; resolves when the sink has taken everything. */
  finish(): Promise<void>;
  /** Ends the utterance now, dropping what is not played yet. */
  abort(): Promise<void>;
}
