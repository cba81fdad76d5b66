/**
 * Heartbeat with a watchdog: publishes every interval and reports a stall when no beat
 * could be published for a number of intervals.
 *
 * @module
 */

/** Options of {@linkcode Heartbeat}. */
export interface HeartbeatOptions {
  /** Time between beats, in ms. */
  intervalMs: number;
  /** Publishes one beat; resolves when the broker has it. */
  publish: () => Promise<void>;
  /** Called once when no beat succeeded for `stallAfterIntervals` intervals; the heartbeat stops. */
  onStall: (silentMs: number) => void;
  /** Intervals without a successful beat that count as a stall; default 3. */
  stallAfterIntervals?: number;
  /** Called when a beat fails (for logging). */
  onError?: (error: unknown) => void;
}

/**
 * Beats at start and then every interval. Beats are not awaited before the next one is
 * scheduled, so a publish that hangs (stalled broker) cannot stop the watchdog.
 */
export class Heartbeat {
  readonly #options: HeartbeatOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastSuccess = 0;
  #running = false;
  #generation = 0;

  /** Creates a stopped heartbeat. */
  constructor(options: HeartbeatOptions) {
    this.#options = options;
  }

  /** Whether it is beating. */
  get running(): boolean {
    return this.#running;
  }

  /** Starts beating (restarts the watchdog clock). No-op when already running. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#generation++;
    this.#lastSuccess = Date.now();
    this.#tick(this.#generation);
  }

  /** Stops beating; a beat in flight is ignored when it completes. */
  stop(): void {
    this.#running = false;
    this.#generation++;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #tick(generation: number): void {
    if (!this.#running || generation !== this.#generation) return;
    const { intervalMs, stallAfterIntervals = 3 } = this.#options;
    const silentMs = Date.now() - this.#lastSuccess;
    if (silentMs >= stallAfterIntervals * intervalMs) {
      this.stop();
      this.#options.onStall(silentMs);
      return;
    }
    this.#options.publish().then(
      () => {
        if (generation === this.#generation) this.#lastSuccess = Date.now();
      },
      (error) => this.#options.onError?.(error),
    );
    this.#timer = setTimeout(() => this.#tick(generation), intervalMs);
  }
}
