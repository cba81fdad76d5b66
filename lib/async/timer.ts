/**
 * Timers that stand for a setting ("wait 150 ms for more sentences") and should fire when the
 * setting says, not a tick later.
 *
 * @module
 */

/**
 * How much later than asked Deno's timers fire, ms: a deadline is rounded up to the runtime's
 * next whole-millisecond tick, and the callback then waits for its turn of the event loop.
 * Measured on the 2-CPU dev VM (Deno 2.9.6, 40 timers each, the process otherwise idle):
 * `setTimeout(f, 150)` ran after 150.5-152.2 ms (p50 151.6), `setTimeout(f, 149)` after
 * 149.5-150.9 ms (p50 150.5).
 */
export const TIMER_LATENESS_MS = 1;

/**
 * The delay to ask of `setTimeout` so that a wait of `ms` (a setting) ends as close to `ms` as
 * the runtime allows: `ms` less {@linkcode TIMER_LATENESS_MS}, never below 0. It may end up to
 * half a millisecond early, which no debounce or grace period notices.
 */
export function timerDelayFor(ms: number): number {
  return Math.max(0, ms - TIMER_LATENESS_MS);
}
