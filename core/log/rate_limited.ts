/**
 * Rate-limited warnings: one line per key per interval, with the count of lines that were
 * held back, so a flood of bad messages cannot flood the log.
 *
 * @module
 */

/** Emits at most one message per key per interval; counts the suppressed ones. */
export class RateLimitedLog {
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  /**
   * Creates a limiter.
   *
   * @param intervalMs minimum time between two lines of the same key
   * @param maxKeys keys remembered at most (oldest forgotten first), bounding memory
   */
  constructor(intervalMs = 10_000, maxKeys = 1024) {
    this.#intervalMs = intervalMs;
    this.#maxKeys = maxKeys;
  }

  /**
   * Calls `emit(suppressed)` when `key` has not been emitted within the interval;
   * `suppressed` is how many calls for that key were held back since its last line.
   * Returns whether it emitted.
   */
  maybe(key: string, emit: (suppressed: number) => void, now = Date.now()): boolean {
    const entry = this.#last.get(key);
    if (entry && now - entry.at < this.#intervalMs) {
      entry.suppressed++;
      return false;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.#last.delete(key);
    this.#last.set(key, { at: now, suppressed: 0 });
    if (this.#last.size > this.#maxKeys) {
      this.#last.delete(this.#last.keys().next().value as string);
    }
    emit(suppressed);
    return true;
  }
}
