/**
 * The movement controller: a bounded command queue executed one command at a time, with the
 * safety rules of TARS: every pulse clamped (by the planner and again by the driver), an
 * emergency stop that switches the outputs off at once and latches until its explicit clear
 * (movement/clear; no command clears it), a suspension while the broker is lost (outputs off,
 * queue dropped, commands refused until {@linkcode MovementController.resume}), and a TTL that
 * drops commands which waited too long in the queue.
 *
 * @module
 */
import type { MovementStatusEvent, TestMovementRequest } from "../../core/mod.ts";
import { abortableSleep } from "../../lib/async/mod.ts";
import type { ServoDriver } from "./drivers/driver.ts";
import { type CommandPlan, planCommand } from "./sequences.ts";
import { neutralPose, type PulseMap } from "./servo_map.ts";
import { DEFAULT_TIMING, type MotionTiming, planFrames } from "./trajectory.ts";

/**
 * Why a command failed or was refused, for keying rate-limited logs (not published):
 * `latched` (emergency stop latched), `suspended` (broker lost), `queue_full`, `params`
 * (bad parameters), `invalid` (not a valid request), `ttl` (waited too long), `cancelled`
 * (dropped from the queue by a stop or a suspension), `interrupted` (stopped mid-motion),
 * `driver` (driver error), `shutdown`.
 */
export type MovementFailureCause =
  | "latched"
  | "suspended"
  | "queue_full"
  | "params"
  | "invalid"
  | "ttl"
  | "cancelled"
  | "interrupted"
  | "driver"
  | "shutdown";

/** A status for movement/status. */
export interface MovementStatusReport {
  /** What happened. */
  readonly event: MovementStatusEvent;
  /** The command it concerns. */
  readonly command?: string;
  /** Details (the reason of a failure or stop). */
  readonly detail?: string;
  /** The request's `request_id`. */
  readonly request_id?: string | null;
  /** command_failed / queue_full: the kind of failure (for the log; not published). */
  readonly cause?: MovementFailureCause;
}

/** A state report for movement/state (the firmware's events). */
export interface MovementStateReport {
  /** `ready`, `command_queued`, `command_error`, `stopped`, `shutdown`. */
  readonly event: "ready" | "command_queued" | "command_error" | "stopped" | "shutdown";
  /** command_queued: the command. */
  readonly command?: string;
  /** command_queued: its speed. */
  readonly speed?: number;
  /** command_queued: commands waiting. */
  readonly queue_size?: number;
  /** command_error: what was wrong. */
  readonly error?: string;
  /** stopped: why. */
  readonly reason?: string;
}

/** Time source and sleep of the controller (replaceable by fake timers in tests). */
export interface Clock {
  /** Milliseconds of a monotonic-enough clock. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** `Date.now` and `setTimeout` (which `@sinonjs/fake-timers` can replace). */
export const timerClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => abortableSleep(ms, signal),
};

/** Options of {@linkcode MovementController}. */
export interface MovementControllerOptions {
  /** Where frames go (opened by the caller). */
  readonly driver: ServoDriver;
  /** Commands older than this when they reach the front of the queue are dropped, ms. */
  readonly commandTtlMs: number;
  /** Commands that may wait (the running one not counted). */
  readonly queueSize: number;
  /** Frame period and travel speed. */
  readonly timing?: MotionTiming;
  /** Time source; default {@linkcode timerClock}. */
  readonly clock?: Clock;
  /** Receives every status (to publish on movement/status). */
  readonly onStatus: (status: MovementStatusReport) => void;
  /** Receives state reports (to publish on movement/state). */
  readonly onState?: (state: MovementStateReport) => void;
  /** Receives driver errors (for the log). */
  readonly onError?: (error: unknown, what: string) => void;
}

/** What {@linkcode MovementController.submit} did with a request. */
export type SubmitOutcome = "queued" | "stopped" | "rejected";

interface QueuedCommand {
  readonly request: TestMovementRequest;
  readonly plan: CommandPlan;
  readonly receivedAt: number;
}

/** Executes movement commands safely through one driver. */
export class MovementController {
  readonly #driver: ServoDriver;
  readonly #ttlMs: number;
  readonly #queueSize: number;
  readonly #timing: MotionTiming;
  readonly #clock: Clock;
  readonly #onStatus: (status: MovementStatusReport) => void;
  readonly #onState: (state: MovementStateReport) => void;
  readonly #onError: (error: unknown, what: string) => void;
  readonly #queue: QueuedCommand[] = [];
  readonly #positions: Record<number, number> = neutralPose();
  #current: { readonly request: TestMovementRequest; readonly abort: AbortController } | null =
    null;
  #runner: Promise<void> | null = null;
  #latched: string | null = null;
  #suspended: string | null = null;
  #closed = false;

  /** Creates the controller. */
  constructor(options: MovementControllerOptions) {
    this.#driver = options.driver;
    this.#ttlMs = options.commandTtlMs;
    this.#queueSize = options.queueSize;
    this.#timing = options.timing ?? DEFAULT_TIMING;
    this.#clock = options.clock ?? timerClock;
    this.#onStatus = options.onStatus;
    this.#onState = options.onState ?? (() => {});
    this.#onError = options.onError ?? (() => {});
  }

  /** The reason of the latched emergency stop, or `null` when movement is allowed. */
  get stopReason(): string | null {
    return this.#latched;
  }

  /** Why commands are suspended (e.g. the broker is lost), or `null`; see {@linkcode suspend}. */
  get suspendedReason(): string | null {
    return this.#suspended;
  }

  /** Commands waiting in the queue. */
  get queueSize(): number {
    return this.#queue.length;
  }

  /** The command running now, if any. */
  get running(): string | null {
    return this.#current?.request.command ?? null;
  }

  /** The pulses last written per channel (neutral before the first frame). */
  get positions(): PulseMap {
    return { ...this.#positions };
  }

  /**
   * Takes a validated request: `stop` stops at once; while a stop is latched every other
   * command is refused (only {@linkcode clearStop}, i.e. movement/clear, lifts the latch), as
   * while suspended; otherwise the command is planned and queued, or refused with
   * `queue_full` / `command_failed`.
   */
  submit(request: TestMovementRequest): SubmitOutcome {
    const { command, request_id } = request;
    if (this.#closed) {
      this.#onStatus({
        event: "command_failed",
        command,
        request_id,
        detail: "shutting down",
        cause: "shutdown",
      });
      return "rejected";
    }
    if (command === "stop") {
      void this.emergencyStop("stop command", request);
      return "stopped";
    }
    if (this.#latched !== null) {
      this.#onStatus({
        event: "command_failed",
        command,
        request_id,
        detail: `emergency stop is latched (${this.#latched}); no command lifts it: publish ` +
          "movement/clear (the dashboard's Clear stop) once the robot is safe",
        cause: "latched",
      });
      return "rejected";
    }
    if (this.#suspended !== null) {
      this.#onStatus({
        event: "command_failed",
        command,
        request_id,
        detail: `movement is suspended (${this.#suspended}); commands are refused until it ends`,
        cause: "suspended",
      });
      return "rejected";
    }
    if (this.#queue.length >= this.#queueSize) {
      this.#onStatus({
        event: "queue_full",
        command,
        request_id,
        cause: "queue_full",
        detail:
          `${this.#queue.length} commands are waiting (MOVEMENT_QUEUE_SIZE=${this.#queueSize})`,
      });
      return "rejected";
    }
    let plan: CommandPlan;
    try {
      plan = planCommand(command, request.params);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      this.#onStatus({ event: "command_failed", command, request_id, detail, cause: "params" });
      this.#onState({ event: "command_error", error: detail });
      return "rejected";
    }
    this.#queue.push({ request, plan, receivedAt: this.#clock.now() });
    this.#onState({
      event: "command_queued",
      command,
      speed: request.speed,
      queue_size: this.#queue.length,
    });
    this.#kick();
    return "queued";
  }

  /**
   * Emergency stop: the outputs go off before this returns to the event loop, the running
   * command ends before its next frame, queued commands are dropped, and further commands
   * are refused until {@linkcode clearStop}.
   */
  async emergencyStop(reason: string, request?: TestMovementRequest): Promise<void> {
    this.#latched = reason;
    const interrupted = this.#current;
    interrupted?.abort.abort();
    const dropped = this.#queue.splice(0);
    const off = this.#driver.disable(); // called synchronously: acts now
    this.#onStatus({
      event: "emergency_stop",
      command: request?.command ?? interrupted?.request.command,
      request_id: request?.request_id ?? interrupted?.request.request_id,
      detail: reason,
    });
    for (const item of dropped) {
      this.#onStatus({
        event: "command_failed",
        command: item.request.command,
        request_id: item.request.request_id,
        detail: `cancelled by emergency stop (${reason})`,
        cause: "cancelled",
      });
    }
    try {
      await off;
    } catch (error) {
      this.#onError(error, "disabling the servos for an emergency stop");
    }
    this.#onState({ event: "stopped", reason });
  }

  /**
   * Suspends movement (the dead-man rule when the broker is lost): like an emergency stop the
   * outputs go off before this returns, the running command ends before its next frame and
   * the queue is dropped, but nothing latches: commands are refused only until
   * {@linkcode resume}. A latched stop stays latched through a suspension. No-op when
   * already suspended or closed.
   */
  async suspend(reason: string): Promise<void> {
    if (this.#suspended !== null || this.#closed) return;
    this.#suspended = reason;
    this.#current?.abort.abort();
    const dropped = this.#queue.splice(0);
    const off = this.#driver.disable(); // called synchronously: acts now
    for (const item of dropped) {
      this.#onStatus({
        event: "command_failed",
        command: item.request.command,
        request_id: item.request.request_id,
        detail: `cancelled: movement suspended (${reason})`,
        cause: "cancelled",
      });
    }
    try {
      await off;
    } catch (error) {
      this.#onError(error, "disabling the servos for a suspension");
    }
    this.#onState({ event: "stopped", reason });
  }

  /** Ends a suspension; returns whether one was active. A latched stop stays latched. */
  resume(): boolean {
    if (this.#suspended === null) return false;
    this.#suspended = null;
    if (!this.#closed) this.#onState({ event: "ready" });
    return true;
  }

  /** Clears a latched stop; returns whether one was latched. */
  clearStop(reason: string): boolean {
    if (this.#latched === null) return false;
    this.#latched = null;
    this.#onStatus({ event: "stop_cleared", detail: reason });
    this.#kick();
    return true;
  }

  /** Resolves when no command runs and the queue is empty (or blocked by a stop). */
  async idle(): Promise<void> {
    while (this.#runner) await this.#runner;
  }

  /** Refuses new commands, stops the running one, drops the queue and waits for the runner. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#current?.abort.abort();
    for (const item of this.#queue.splice(0)) {
      this.#onStatus({
        event: "command_failed",
        command: item.request.command,
        request_id: item.request.request_id,
        detail: "shutting down",
        cause: "shutdown",
      });
    }
    await this.idle();
  }

  #mayRun(): boolean {
    return this.#latched === null && this.#suspended === null && !this.#closed;
  }

  #kick(): void {
    if (this.#runner || this.#closed) return;
    this.#runner = this.#drain().finally(() => {
      this.#runner = null;
      if (this.#queue.length > 0 && this.#mayRun()) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && this.#mayRun()) {
      const item = this.#queue.shift()!;
      const waited = this.#clock.now() - item.receivedAt;
      if (waited > this.#ttlMs) {
        this.#onStatus({
          event: "command_failed",
          command: item.request.command,
          request_id: item.request.request_id,
          detail: `dropped: waited ${Math.round(waited)} ms in the queue, longer than ` +
            `MOVEMENT_COMMAND_TTL_MS=${this.#ttlMs}`,
          cause: "ttl",
        });
        continue;
      }
      await this.#execute(item);
    }
  }

  async #execute(item: QueuedCommand): Promise<void> {
    const { request, plan } = item;
    const abort = new AbortController();
    this.#current = { request, abort };
    const { command, request_id } = request;
    this.#onStatus({ event: "command_started", command, request_id });
    try {
      if (plan.kind === "disable") {
        await this.#driver.disable();
      } else if (plan.kind === "poses") {
        const frames = planFrames(this.#positions, plan.poses, request.speed, this.#timing);
        for (const frame of frames) {
          if (abort.signal.aborted) break;
          await this.#driver.apply(frame.pulses);
          Object.assign(this.#positions, frame.pulses);
          await this.#clock.sleep(frame.waitMs, abort.signal);
        }
      }
      if (abort.signal.aborted) {
        const by = this.#latched !== null
          ? `emergency stop (${this.#latched})`
          : this.#suspended !== null
          ? `suspension (${this.#suspended})`
          : "shutdown";
        this.#onStatus({
          event: "command_failed",
          command,
          request_id,
          detail: `interrupted by ${by}`,
          cause: "interrupted",
        });
      } else {
        this.#onStatus({ event: "command_completed", command, request_id });
      }
    } catch (error) {
      this.#onError(error, `executing ${command}`);
      try {
        await this.#driver.disable(); // a half-written frame must not stay on the servos
      } catch (offError) {
        this.#onError(offError, "disabling the servos after a driver error");
      }
      const message = error instanceof Error ? error.message : String(error);
      this.#onStatus({
        event: "command_failed",
        command,
        request_id,
        detail: `driver ${this.#driver.name} failed: ${message}`,
        cause: "driver",
      });
    } finally {
      this.#current = null;
    }
  }
}
