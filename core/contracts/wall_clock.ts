/**
 * The wall clock every timestamp on the bus is read from (envelope `ts`, health `timestamp`):
 * epoch time as Python's `time.time()` gives it, with sub-millisecond resolution, that follows
 * the system clock when it is set.
 *
 * `performance.timeOrigin + performance.now()` alone has the resolution but not the second
 * property: `timeOrigin` is read once, when the process starts, and the monotonic clock never
 * follows a change of the system clock. A robot that boots before NTP has set its clock (no
 * battery-backed clock) would publish timestamps that are minutes or hours off until each
 * service restarts, and two services started a few seconds apart disagree by as much as the
 * clock was corrected in between (7.5 ms, seen on the dev VM between stt-worker and the router).
 * `Date.now()` follows the system clock but only in whole milliseconds. A {@linkcode WallClock}
 * keeps the monotonic clock's resolution and resets its offset whenever the estimate leaves the
 * millisecond `Date.now()` says it is in: a step is followed at once, a slow drift (NTP
 * slewing) in corrections of under a millisecond. No dependencies, so the benchmarks'
 * processes use it too.
 *
 * @module
 */

/** How far outside the reported millisecond an estimate may be before it is corrected, ms. */
const SLACK_MS = 0.05;
/**
 * A correction back by at most this much (the system clock slewed slower than the monotonic
 * one) is not shown: the clock holds still until it catches up. Anything more is the system
 * clock set back, and is followed at once. ms.
 */
const MAX_HOLD_MS = 1 + 2 * SLACK_MS;

/** Where a {@linkcode WallClock} reads time (tests pass their own). */
export interface ClockSources {
  /** The system clock in whole milliseconds since the epoch (`Date.now`). */
  readonly realtime: () => number;
  /** A monotonic clock in milliseconds (`performance.now`). */
  readonly monotonic: () => number;
  /** Realtime minus monotonic at the start, ms (`performance.timeOrigin`). */
  readonly origin: number;
}

/** Epoch time in ms with the resolution of the monotonic clock, kept on the system clock. */
export class WallClock {
  readonly #realtime: () => number;
  readonly #monotonic: () => number;
  #offset: number;
  #last = -Infinity;

  /** A clock on `sources` (default: `Date.now`, `performance.now`, `performance.timeOrigin`). */
  constructor(sources?: ClockSources) {
    this.#realtime = sources?.realtime ?? Date.now;
    this.#monotonic = sources?.monotonic ?? (() => performance.now());
    this.#offset = sources?.origin ?? performance.timeOrigin;
  }

  /**
   * Now, ms since the epoch. Always inside the millisecond the system clock reports (give or
   * take 50 µs); between two corrections it advances exactly as the monotonic clock does, and
   * it never goes back unless the system clock was set back.
   */
  nowMs(): number {
    const monotonic = this.#monotonic();
    const realtime = this.#realtime();
    let now = this.#offset + monotonic;
    // The two clocks are read a few ns apart, and epoch ms as doubles round to 0.24 µs: a
    // margin keeps a millisecond tick between the two reads from counting as a change.
    if (now < realtime - SLACK_MS || now >= realtime + 1 + SLACK_MS) {
      // The system clock was set, or has drifted by a millisecond: start again from the
      // middle of the millisecond it reports (at most half a millisecond off).
      now = realtime + 0.5;
      this.#offset = now - monotonic;
    }
    // After a correction back for a slow drift, hold still until the clock has caught up
    // (still inside the reported millisecond: the last reading was, and time went forward).
    if (now < this.#last && this.#last - now <= MAX_HOLD_MS) now = this.#last;
    this.#last = now;
    return now;
  }
}

const processClock = new WallClock();

/** Now, ms since the epoch, sub-millisecond, on the system clock (one clock per process). */
export function epochMs(): number {
  return processClock.nowMs();
}
