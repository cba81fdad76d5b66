/**
 * The capture supervisor: keeps a {@linkcode FrameSource} running, feeds its frames into the
 * {@linkcode FrameHub}, restarts it with exponential backoff when it dies, and restarts it
 * when it stalls (alive but silent for `stallTimeoutMs`).
 *
 * @module
 */
import { ExponentialBackoff, type Logger } from "../../core/mod.ts";
import { abortableSleep } from "../../lib/async/mod.ts";
import type { FrameHub } from "./frame_hub.ts";
import { CaptureToolMissingError, type FrameSource } from "./source.ts";

/** Default of {@linkcode CaptureSupervisorOptions.missingToolRetryMs}: one minute. */
export const MISSING_TOOL_RETRY_MS = 60_000;

/** What the supervisor is doing. */
export type CaptureState = "idle" | "starting" | "streaming" | "backoff" | "stopped";

/** A change the service reports on camera/status. */
export type CaptureEvent =
  | { readonly kind: "ready"; readonly width: number; readonly height: number }
  | {
    readonly kind: "unavailable";
    readonly detail: string;
    readonly retryInMs: number;
    /** The capture program is missing or not allowed ({@linkcode CaptureToolMissingError}). */
    readonly toolMissing: boolean;
  };

/** Options of {@linkcode CaptureSupervisor}. */
export interface CaptureSupervisorOptions {
  /** Where frames come from. */
  readonly source: FrameSource;
  /** Where frames go. */
  readonly hub: FrameHub;
  /** First restart delay, ms. */
  readonly restartMinMs: number;
  /** Longest restart delay, ms. */
  readonly restartMaxMs: number;
  /** No frame for this long (after the first, or after start) = stalled, ms. */
  readonly stallTimeoutMs: number;
  /**
   * Wait after a {@linkcode CaptureToolMissingError} (ffmpeg not installed or not allowed),
   * ms: installing it takes minutes, and a warning every few seconds helps no one. Default
   * {@linkcode MISSING_TOOL_RETRY_MS}, at least `restartMaxMs`.
   */
  readonly missingToolRetryMs?: number;
  /** Logger for restarts. */
  readonly logger?: Logger;
  /** Called on ready / unavailable transitions. */
  readonly onEvent?: (event: CaptureEvent) => void;
}

/** Counters and state of a {@linkcode CaptureSupervisor}. */
export interface CaptureStats {
  /** What it is doing. */
  readonly state: CaptureState;
  /** Capture runs started. */
  readonly runs: number;
  /** Runs that ended without being asked to (died, stalled or failed to start). */
  readonly failures: number;
  /** Frames captured. */
  readonly frames: number;
  /** Why the last run ended, if it failed. */
  readonly lastError: string | null;
}

/** Runs a source forever (until `stop()`), restarting it with backoff. */
export class CaptureSupervisor {
  readonly #o: CaptureSupervisorOptions;
  readonly #backoff: ExponentialBackoff;
  readonly #stop = new AbortController();
  #loop: Promise<void> | null = null;
  #state: CaptureState = "idle";
  #runs = 0;
  #failures = 0;
  #frames = 0;
  #lastError: string | null = null;

  /** Creates a supervisor; `start()` begins capturing. */
  constructor(options: CaptureSupervisorOptions) {
    this.#o = options;
    this.#backoff = new ExponentialBackoff({
      minMs: options.restartMinMs,
      maxMs: options.restartMaxMs,
    });
  }

  /** Counters and state. */
  get stats(): CaptureStats {
    return {
      state: this.#state,
      runs: this.#runs,
      failures: this.#failures,
      frames: this.#frames,
      lastError: this.#lastError,
    };
  }

  /** The running capture process, if any. */
  get pid(): number | undefined {
    return this.#o.source.pid;
  }

  /** Starts the capture loop (idempotent). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops the capture and waits until the source released everything. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    this.#state = "stopped";
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    const log = this.#o.logger;
    while (!stop.aborted) {
      this.#state = "starting";
      this.#runs++;
      const run = new AbortController();
      const onStop = () => run.abort();
      stop.addEventListener("abort", onStop, { once: true });
      let lastProgress = Date.now();
      let stalled = false;
      const watchdog = setInterval(() => {
        if (Date.now() - lastProgress > this.#o.stallTimeoutMs) {
          stalled = true;
          run.abort();
        }
      }, Math.max(20, Math.min(1000, this.#o.stallTimeoutMs / 4)));
      let error = "";
      let toolMissing = false;
      let framesThisRun = 0;
      try {
        log?.info("Starting capture: {source}", { source: this.#o.source.description });
        for await (const image of this.#o.source.frames(run.signal)) {
          lastProgress = Date.now();
          this.#o.hub.publish(image, lastProgress);
          this.#frames++;
          framesThisRun++;
          if (framesThisRun === 1) {
            this.#state = "streaming";
            this.#backoff.reset();
            this.#o.onEvent?.({ kind: "ready", width: image.width, height: image.height });
            log?.info("Capture streaming {width}x{height}", {
              width: image.width,
              height: image.height,
            });
          }
        }
        if (stalled) {
          error = `no frame for ${this.#o.stallTimeoutMs} ms (CAMERA_TIMEOUT_MS): ` +
            `capture stalled, restarting it`;
        } else if (!stop.aborted) error = `${this.#o.source.description} ended`;
      } catch (caught) {
        error = caught instanceof Error ? caught.message : String(caught);
        toolMissing = caught instanceof CaptureToolMissingError;
      } finally {
        clearInterval(watchdog);
        stop.removeEventListener("abort", onStop);
      }
      if (stop.aborted) break;
      this.#failures++;
      this.#lastError = error;
      this.#o.hub.clear();
      const retryInMs = toolMissing
        ? Math.max(this.#o.missingToolRetryMs ?? MISSING_TOOL_RETRY_MS, this.#o.restartMaxMs)
        : Math.round(this.#backoff.next());
      this.#state = "backoff";
      if (toolMissing) {
        log?.warn("Camera off: {error}; trying again in {retryInS} s", {
          error,
          retryInS: Math.round(retryInMs / 1000),
        });
      } else {
        log?.warn("Capture failed: {error}; restarting in {retryInMs} ms", { error, retryInMs });
      }
      this.#o.onEvent?.({ kind: "unavailable", detail: error, retryInMs, toolMissing });
      await abortableSleep(retryInMs, stop);
    }
    this.#state = "stopped";
  }
}
