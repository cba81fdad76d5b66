/**
 * One audio stream's wake detector: PCM16LE bytes of any length in, detections out. Bytes are
 * cut into the scorer's frames, each frame is scored, its window energy measured and the pair
 * checked by the {@linkcode DetectionGate}.
 *
 * @module
 */
import { DetectionGate, EnergyMeter, type GateSettings, PcmFramer } from "./gate.ts";
import type { WakeScorer } from "./scorer.ts";

/** Samples per second of the audio/pcm wire format. */
export const SAMPLE_RATE = 16_000;

/** A detected wake word. */
export interface Detection {
  /** The scorer's score 0..1. */
  readonly score: number;
  /** The window RMS (0..1) at detection. */
  readonly energy: number;
  /** The threshold that was crossed. */
  readonly threshold: number;
  /** Seconds of this stream's audio before the end of the detecting frame. */
  readonly streamSec: number;
}

/** Options of {@linkcode WakeDetector}. */
export interface WakeDetectorOptions {
  /** Gate settings (threshold, retrigger, adaptive, energy gate). */
  readonly gate: GateSettings;
  /** Energy window, ms (WAKE_DETECTION_WINDOW_MS). */
  readonly energyWindowMs: number;
  /**
   * Clock in ms for the retrigger guard. Default: the stream's own audio time (frames × 80
   * ms), which equals wall time for a live microphone and stays right when frames arrive in a
   * burst (a backlog after a network hiccup, a file played faster than real time).
   */
  readonly now?: () => number;
}

/** Counters of a {@linkcode WakeDetector}. */
export interface DetectorStats {
  /** Frames scored. */
  frames: number;
  /** Detections. */
  detections: number;
  /** Highest score seen. */
  maxScore: number;
  /** Frames over the threshold suppressed by the retrigger guard. */
  retriggers: number;
  /** Frames over the threshold suppressed by the energy gate. */
  lowEnergy: number;
}

/** Scores a PCM stream and reports detections. */
export class WakeDetector {
  /** The scorer (owned: closed with the detector). */
  readonly scorer: WakeScorer;
  /** Counters. */
  readonly stats: DetectorStats = {
    frames: 0,
    detections: 0,
    maxScore: 0,
    retriggers: 0,
    lowEnergy: 0,
  };
  readonly #framer: PcmFramer;
  readonly #meter: EnergyMeter;
  readonly #gate: DetectionGate;
  readonly #now: () => number;
  #streamFrames = 0;

  /** A detector around `scorer`. */
  constructor(scorer: WakeScorer, options: WakeDetectorOptions) {
    this.scorer = scorer;
    this.#framer = new PcmFramer(scorer.frameSamples);
    this.#meter = new EnergyMeter((SAMPLE_RATE * options.energyWindowMs) / 1000);
    this.#gate = new DetectionGate(options.gate);
    this.#now = options.now ??
      (() => (this.#streamFrames * scorer.frameSamples * 1000) / SAMPLE_RATE);
  }

  /** Feeds PCM16LE mono 16 kHz bytes; resolves with the detections they completed. */
  async push(bytes: Uint8Array): Promise<Detection[]> {
    const detections: Detection[] = [];
    for (const frame of this.#framer.push(bytes)) {
      const energy = this.#meter.push(frame);
      const score = await this.scorer.score(frame);
      this.stats.frames++;
      this.#streamFrames++;
      if (score > this.stats.maxScore) this.stats.maxScore = score;
      const decision = this.#gate.check(score, energy, this.#now());
      if (decision.verdict === "retrigger") this.stats.retriggers++;
      if (decision.verdict === "low_energy") this.stats.lowEnergy++;
      if (decision.verdict !== "detected") continue;
      this.stats.detections++;
      detections.push({
        score,
        energy,
        threshold: decision.threshold,
        streamSec: (this.#streamFrames * this.scorer.frameSamples) / SAMPLE_RATE,
      });
    }
    return detections;
  }

  /** Starts a new stream (buffers, energy history, retrigger guard, stream time). */
  async reset(): Promise<void> {
    this.#streamFrames = 0;
    this.#framer.reset();
    this.#meter.reset();
    this.#gate.reset();
    await this.scorer.reset();
  }

  /** Closes the scorer. */
  async close(): Promise<void> {
    await this.scorer.close();
  }
}
