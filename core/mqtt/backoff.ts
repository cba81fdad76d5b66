/**
 * Exponential backoff with jitter for reconnect delays.
 *
 * @module
 */

/** Options of {@linkcode ExponentialBackoff}. */
export interface BackoffOptions {
  /** First delay and lower bound of every delay, in ms. */
  minMs: number;
  /** Upper bound of every delay, in ms. */
  maxMs: number;
  /** Growth per attempt; default 2. */
  factor?: number;
  /**
   * Fraction of the delay that is randomised downwards (0 = none, 1 = full jitter);
   * default 0.5, so clients that lost the broker together do not return together.
   */
  jitter?: number;
  /** Random source in [0, 1); default `Math.random`. */
  random?: () => number;
}

/**
 * Delays `min * factor^n`, capped at `max`, each reduced by up to `jitter` of itself,
 * never below `min`: every delay lies between the min and max delay.
 *
 * @example
 * ```ts
 * const backoff = new ExponentialBackoff({ minMs: 500, maxMs: 5000 });
 * const delay = backoff.next(); // 500 on the first attempt
 * backoff.reset();              // after a successful connect
 * ```
 */
export class ExponentialBackoff {
  readonly #min: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  /** Creates a backoff; throws when the bounds are not `0 < min <= max`. */
  constructor(options: BackoffOptions) {
    if (!(options.minMs > 0) || !(options.maxMs >= options.minMs)) {
      throw new RangeError(
        `Backoff needs 0 < minMs <= maxMs (got minMs=${options.minMs}, maxMs=${options.maxMs})`,
      );
    }
    this.#min = options.minMs;
    this.#max = options.maxMs;
    this.#factor = options.factor ?? 2;
    this.#jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
    this.#random = options.random ?? Math.random;
  }

  /** Number of delays handed out since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt, in ms. */
  next(): number {
    const base = Math.min(this.#max, this.#min * this.#factor ** this.#attempt);
    this.#attempt++;
    const delay = base * (1 - this.#jitter * this.#random());
    return Math.min(this.#max, Math.max(this.#min, delay));
  }

  /** Starts over at the min delay. */
  reset(): void {
    this.#attempt = 0;
  }
}
