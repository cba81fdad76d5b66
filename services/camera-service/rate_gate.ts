/**
 * The camera/frame rate limiter. py-tars published every `fps // CAMERA_MQTT_RATE`-th frame,
 * which divides by zero when the MQTT rate exceeds the capture rate and rounds other rates
 * (fps 10, rate 3 → every 3rd frame = 3.3/s). This gate is time based instead: it lets a
 * frame through when its publication is due, keeps the average rate exact, and when the rate
 * is above the frame rate it simply lets every frame through.
 *
 * @module
 */

/** Lets frames through at most `ratePerSecond` times per second on average. */
export class RateGate {
  readonly #intervalMs: number;
  #nextDue = Number.NEGATIVE_INFINITY;

  /** @param ratePerSecond publications per second; 0 (or less) lets nothing through. */
  constructor(ratePerSecond: number) {
    this.#intervalMs = ratePerSecond > 0 ? 1000 / ratePerSecond : Number.POSITIVE_INFINITY;
  }

  /** Whether the gate ever opens. */
  get enabled(): boolean {
    return Number.isFinite(this.#intervalMs);
  }

  /** The time between publications, ms (`Infinity` when disabled). */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** Whether a frame arriving at `nowMs` should be published (and books it if so). */
  admit(nowMs: number): boolean {
    if (!this.enabled || nowMs < this.#nextDue) return false;
    // Advance from the due time, not from now, so jitter does not lower the average rate;
    // after a gap (no frames for a while) start afresh instead of bursting to catch up.
    this.#nextDue = this.#nextDue + this.#intervalMs > nowMs
      ? this.#nextDue + this.#intervalMs
      : nowMs + this.#intervalMs;
    return true;
  }
}
