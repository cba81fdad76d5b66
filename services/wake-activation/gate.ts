/**
 * The detection gate of py-tars' wake detector (§4.4): a score threshold, adaptive
 * sensitivity from the recent audio energy, an energy gate and a retrigger guard. Energy is
 * the RMS of samples scaled to [-1, 1] over the last WAKE_DETECTION_WINDOW_MS.
 *
 * @module
 */

/** How many frame energies adaptive sensitivity averages over. */
export const ENERGY_HISTORY = 50;
/** Adaptive sensitivity needs at least this many energies (py-tars: 10). */
export const MIN_ENERGY_HISTORY = 10;
/** The adaptive threshold never drops below this (py-tars: 0.1). */
export const THRESHOLD_FLOOR = 0.1;

/** Settings of a {@linkcode DetectionGate}. */
export interface GateSettings {
  /** Score threshold (WAKE_DETECTION_THRESHOLD). */
  readonly threshold: number;
  /** Minimum ms between two detections (WAKE_MIN_RETRIGGER_SEC × 1000). */
  readonly minRetriggerMs: number;
  /** Adapt the threshold to the background energy (WAKE_BACKGROUND_NOISE_SENSITIVITY). */
  readonly adaptive: boolean;
  /** Threshold factor when the audio is quieter than half the average (WAKE_LOW_ENERGY_THRESHOLD_FACTOR). */
  readonly lowEnergyFactor: number;
  /** Minimum window RMS for a detection, 0 = off (WAKE_MIN_ENERGY). */
  readonly minEnergy: number;
}

/** Why a frame did or did not detect. */
export type GateVerdict = "detected" | "below_threshold" | "low_energy" | "retrigger";

/** The outcome of {@linkcode DetectionGate.check}. */
export interface GateDecision {
  /** The verdict. */
  readonly verdict: GateVerdict;
  /** The threshold used for this frame (adaptive or not). */
  readonly threshold: number;
}

/** Decides, frame by frame, whether a score is a detection. */
export class DetectionGate {
  readonly #settings: GateSettings;
  readonly #energies: number[] = [];
  #lastDetectionMs = Number.NEGATIVE_INFINITY;

  /** A gate with these settings. */
  constructor(settings: GateSettings) {
    this.#settings = settings;
  }

  /** The threshold for a frame of this score and energy (py-tars' adaptive rules). */
  thresholdFor(score: number, energy: number): number {
    const { threshold, adaptive, lowEnergyFactor } = this.#settings;
    if (!adaptive || this.#energies.length < MIN_ENERGY_HISTORY) return threshold;
    const average = this.#energies.reduce((sum, value) => sum + value, 0) / this.#energies.length;
    let adapted = threshold;
    if (energy < 0.5 * average) adapted *= lowEnergyFactor;
    if (score > 0.7 && energy < 0.3 * average) adapted *= 0.8;
    return Math.max(THRESHOLD_FLOOR, adapted);
  }

  /**
   * Checks one frame's score and window energy at `nowMs` (a monotonic clock) and records the
   * energy for the adaptive average. A detection starts the retrigger guard.
   */
  check(score: number, energy: number, nowMs: number): GateDecision {
    const threshold = this.thresholdFor(score, energy);
    this.#energies.push(energy);
    if (this.#energies.length > ENERGY_HISTORY) this.#energies.shift();
    if (score < threshold) return { verdict: "below_threshold", threshold };
    if (energy < this.#settings.minEnergy) return { verdict: "low_energy", threshold };
    if (nowMs - this.#lastDetectionMs < this.#settings.minRetriggerMs) {
      return { verdict: "retrigger", threshold };
    }
    this.#lastDetectionMs = nowMs;
    return { verdict: "detected", threshold };
  }

  /** Forgets the energy history and the last detection. */
  reset(): void {
    this.#energies.length = 0;
    this.#lastDetectionMs = Number.NEGATIVE_INFINITY;
  }
}

/** RMS of PCM16 audio (scaled to [-1, 1]) over a sliding window of samples. */
export class EnergyMeter {
  readonly #squares: Float64Array;
  #next = 0;
  #filled = 0;
  #sum = 0;

  /** A meter over the last `windowSamples` samples (at least 1). */
  constructor(windowSamples: number) {
    this.#squares = new Float64Array(Math.max(1, Math.round(windowSamples)));
  }

  /** Adds samples and returns the RMS of the window so far. */
  push(samples: Int16Array): number {
    const squares = this.#squares;
    for (let i = 0; i < samples.length; i++) {
      const value = samples[i] / 32768;
      const square = value * value;
      this.#sum += square - squares[this.#next];
      squares[this.#next] = square;
      this.#next = (this.#next + 1) % squares.length;
      if (this.#filled < squares.length) this.#filled++;
    }
    return this.rms;
  }

  /** The RMS of the window (0 before any audio). */
  get rms(): number {
    if (this.#filled === 0) return 0;
    return Math.sqrt(Math.max(0, this.#sum) / this.#filled);
  }

  /** Empties the window. */
  reset(): void {
    this.#squares.fill(0);
    this.#next = 0;
    this.#filled = 0;
    this.#sum = 0;
  }
}

/**
 * Turns PCM16LE byte chunks of any length (odd byte counts included) into frames of
 * `frameSamples` samples, keeping the remainder for the next chunk.
 */
export class PcmFramer {
  readonly #frame: Int16Array;
  #filled = 0;
  #oddByte: number | null = null;

  /** A framer producing frames of `frameSamples` samples. */
  constructor(frameSamples: number) {
    this.#frame = new Int16Array(frameSamples);
  }

  /** Samples waiting for the next full frame. */
  get pending(): number {
    return this.#filled;
  }

  /** Adds bytes; returns the completed frames (copies), in order. */
  push(bytes: Uint8Array): Int16Array[] {
    const frames: Int16Array[] = [];
    let offset = 0;
    if (this.#oddByte !== null && bytes.length > 0) {
      this.#append((bytes[0] << 8 | this.#oddByte) << 16 >> 16, frames);
      this.#oddByte = null;
      offset = 1;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (; offset + 1 < bytes.length; offset += 2) {
      this.#append(view.getInt16(offset, true), frames);
    }
    if (offset < bytes.length) this.#oddByte = bytes[offset];
    return frames;
  }

  /** Drops the partial frame. */
  reset(): void {
    this.#filled = 0;
    this.#oddByte = null;
  }

  #append(sample: number, frames: Int16Array[]): void {
    this.#frame[this.#filled++] = sample;
    if (this.#filled === this.#frame.length) {
      frames.push(this.#frame.slice());
      this.#filled = 0;
    }
  }
}
