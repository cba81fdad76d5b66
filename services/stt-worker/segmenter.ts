/**
 * Utterance segmentation: per frame, a speech probability (Silero) and the frame's RMS go
 * through a noise-floor gate (py-tars' EMA floor: gate = max(NOISE_MIN_RMS,
 * floor × NOISE_GATE_OFFSET), the floor tracking non-speech frames with NOISE_FLOOR_ALPHA);
 * speech starts on a gated speech frame (with VAD_PREROLL_MS of audio kept before it) and ends
 * after SILENCE_THRESHOLD_MS of non-speech or at UTTERANCE_MAX_SEC. Pure: no I/O, no timers.
 *
 * @module
 */
import { rmsPcm16, SAMPLE_RATE } from "./pcm.ts";

/** Settings of {@linkcode UtteranceSegmenter}. */
export interface SegmenterSettings {
  /** Frame length, ms. */
  readonly frameMs: number;
  /** Speech probability threshold (the end uses threshold − 0.15, like Silero's own). */
  readonly threshold: number;
  /** Audio kept before the start, ms. */
  readonly prerollMs: number;
  /** Non-speech that ends an utterance, ms. */
  readonly silenceMs: number;
  /** Longest utterance, ms. */
  readonly maxUtteranceMs: number;
  /** Lowest gate RMS. */
  readonly minRms: number;
  /** Starting noise floor RMS. */
  readonly floorInit: number;
  /** Floor EMA factor. */
  readonly floorAlpha: number;
  /** Gate = max(minRms, floor × gateOffset). */
  readonly gateOffset: number;
  /** Utterances with less voiced audio than this are dropped as blips, ms (default 100). */
  readonly minSpeechMs?: number;
  /** Trailing non-speech kept at the end of an utterance, ms (default 300). */
  readonly keepTrailingMs?: number;
}

/** A finished utterance. */
export interface Utterance {
  /** PCM16LE mono 16 kHz audio (preroll + speech + a little trailing silence). */
  readonly pcm: Uint8Array;
  /** Length of `pcm`, ms. */
  readonly durationMs: number;
  /** Voiced frames, ms. */
  readonly speechMs: number;
  /** RMS over the voiced frames (int16 scale). */
  readonly rms: number;
  /** Share of frames with RMS > 0.8 × minRms (py-tars' active-frame ratio). */
  readonly activeRatio: number;
  /** Why it ended: trailing silence, the length limit, or the end of the audio. */
  readonly endedBy: "silence" | "max_length" | "flush";
}

/** What one frame did. */
export type SegmenterEvent =
  | { readonly type: "speech_start" }
  | { readonly type: "utterance"; readonly utterance: Utterance }
  | { readonly type: "blip"; readonly speechMs: number };

/** The frame-by-frame utterance segmenter. */
export class UtteranceSegmenter {
  readonly #s: Required<SegmenterSettings>;
  #floor: number;
  #inSpeech = false;
  #preroll: Uint8Array[] = [];
  #frames: Uint8Array[] = [];
  #frameRms: number[] = [];
  #voiced: boolean[] = [];
  #silentRun = 0;

  /** @param settings thresholds and durations. */
  constructor(settings: SegmenterSettings) {
    this.#s = { minSpeechMs: 100, keepTrailingMs: 300, ...settings };
    this.#floor = settings.floorInit;
  }

  /** Whether an utterance is in progress. */
  get inSpeech(): boolean {
    return this.#inSpeech;
  }

  /** The current noise floor RMS. */
  get noiseFloor(): number {
    return this.#floor;
  }

  /** The current gate RMS. */
  get gate(): number {
    return Math.max(this.#s.minRms, this.#floor * this.#s.gateOffset);
  }

  /** Duration of the utterance in progress, ms (0 when idle). */
  get activeMs(): number {
    return this.#frames.length * this.#s.frameMs;
  }

  /** The audio of the utterance in progress (for partials). */
  activeAudio(): Uint8Array {
    return concat(this.#frames);
  }

  /**
   * Feeds one frame and its speech probability.
   *
   * @returns what happened, or null.
   */
  push(frame: Uint8Array, probability: number, rms = rmsPcm16(frame)): SegmenterEvent | null {
    const s = this.#s;
    if (!this.#inSpeech) {
      const voiced = probability >= s.threshold && rms >= this.gate;
      if (!voiced) {
        this.#floor = this.#floor * (1 - s.floorAlpha) + rms * s.floorAlpha;
        this.#preroll.push(frame);
        const keep = Math.floor(s.prerollMs / s.frameMs);
        while (this.#preroll.length > keep) this.#preroll.shift();
        return null;
      }
      this.#inSpeech = true;
      this.#frames = [...this.#preroll];
      this.#frameRms = this.#frames.map((f) => rmsPcm16(f));
      this.#voiced = this.#frames.map(() => false);
      this.#preroll = [];
      this.#silentRun = 0;
      this.#add(frame, rms, true);
      return { type: "speech_start" };
    }
    const voiced = probability >= Math.max(0.01, s.threshold - 0.15);
    this.#add(frame, rms, voiced);
    this.#silentRun = voiced ? 0 : this.#silentRun + 1;
    if (this.#silentRun * s.frameMs >= s.silenceMs) return this.#finish("silence");
    if (this.#frames.length * s.frameMs >= s.maxUtteranceMs) return this.#finish("max_length");
    return null;
  }

  /** Ends the utterance in progress (end of audio, mute); returns it or null. */
  flush(): SegmenterEvent | null {
    return this.#inSpeech ? this.#finish("flush") : null;
  }

  /** Drops the utterance in progress and the preroll (mute). The floor is kept. */
  reset(): void {
    this.#inSpeech = false;
    this.#preroll = [];
    this.#frames = [];
    this.#frameRms = [];
    this.#voiced = [];
    this.#silentRun = 0;
  }

  #add(frame: Uint8Array, rms: number, voiced: boolean): void {
    this.#frames.push(frame);
    this.#frameRms.push(rms);
    this.#voiced.push(voiced);
  }

  #finish(endedBy: Utterance["endedBy"]): SegmenterEvent {
    const s = this.#s;
    const keepTrailing = Math.floor(s.keepTrailingMs / s.frameMs);
    const cut = Math.max(0, this.#silentRun - keepTrailing);
    const frames = this.#frames.slice(0, this.#frames.length - cut);
    const rmsList = this.#frameRms.slice(0, frames.length);
    const voiced = this.#voiced.slice(0, frames.length);
    this.reset();
    const voicedRms = rmsList.filter((_, i) => voiced[i]);
    const speechMs = voicedRms.length * s.frameMs;
    if (speechMs < s.minSpeechMs) return { type: "blip", speechMs };
    const meanSquare = voicedRms.reduce((sum, r) => sum + r * r, 0) / voicedRms.length;
    const active = rmsList.filter((r) => r > 0.8 * s.minRms).length;
    const pcm = concat(frames);
    return {
      type: "utterance",
      utterance: {
        pcm,
        durationMs: (pcm.length / 2 / SAMPLE_RATE) * 1000,
        speechMs,
        rms: Math.sqrt(meanSquare),
        activeRatio: rmsList.length ? active / rmsList.length : 0,
        endedBy,
      },
    };
  }
}

function concat(frames: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const frame of frames) {
    out.set(frame, offset);
    offset += frame.length;
  }
  return out;
}
