/**
 * A sleep that an {@linkcode AbortSignal} cuts short.
 *
 * @module
 */

/**
 * Resolves after `ms` milliseconds (a negative or NaN `ms` counts as 0), or at once when
 * `signal` aborts; never rejects, so a loop checks `signal.aborted` after it. The timer and the
 * abort listener are removed either way, so nothing is left pending. Uses the global
 * `setTimeout` at call time, so fake timers (`@sinonjs/fake-timers`) drive it.
 *
 * @example
 * ```ts
 * import { abortableSleep } from "./mod.ts";
 *
 * const stop = new AbortController();
 * setTimeout(() => stop.abort(), 10);
 * await abortableSleep(60_000, stop.signal); // returns after about 10 ms
 * ```
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms || 0));
    signal?.addEventListener("abort", done, { once: true });
  });
}
