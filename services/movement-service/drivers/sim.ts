/**
 * The `sim` driver: no hardware; records every frame it is given (the dev and test default).
 *
 * @module
 */
import { clampPose, type PulseMap, SERVOS } from "../servo_map.ts";
import { DriverClosedError, type ServoDriver } from "./driver.ts";

/** One recorded write: a frame of pulses, or `off` (every output switched off). */
export type SimRecord =
  | { readonly at: number; readonly kind: "frame"; readonly pulses: PulseMap }
  | { readonly at: number; readonly kind: "off" };

/** Options of {@linkcode SimServoDriver}. */
export interface SimDriverOptions {
  /** Records kept (oldest dropped first); default 100 000. */
  readonly maxRecords?: number;
  /** Clock for the record times, ms; default `Date.now`. */
  readonly now?: () => number;
}

/** Records frames in memory and keeps the output state of each channel. */
export class SimServoDriver implements ServoDriver {
  /** Always `sim`. */
  readonly name = "sim" as const;
  /** What was written, oldest first (bounded by `maxRecords`). */
  readonly records: SimRecord[] = [];
  /** Records dropped because of the bound. */
  droppedRecords = 0;
  readonly #outputs = new Map<number, number | null>();
  readonly #max: number;
  readonly #now: () => number;
  #state: "new" | "open" | "closed" = "new";

  /** Creates the driver. */
  constructor(options: SimDriverOptions = {}) {
    this.#max = options.maxRecords ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** The pulse a channel outputs now, `null` when off, `undefined` if never written. */
  output(channel: number): number | null | undefined {
    return this.#outputs.get(channel);
  }

  /** Marks the driver open and every output off. */
  open(): Promise<void> {
    if (this.#state === "closed") return Promise.reject(new DriverClosedError("sim", "closed"));
    this.#state = "open";
    this.#off();
    return Promise.resolve();
  }

  /** Records a frame (clamped). */
  apply(pulses: PulseMap): Promise<void> {
    if (this.#state !== "open") {
      return Promise.reject(
        new DriverClosedError("sim", this.#state === "new" ? "not opened" : "closed"),
      );
    }
    try {
      const clamped = clampPose(pulses);
      for (const [ch, value] of Object.entries(clamped)) this.#outputs.set(Number(ch), value);
      this.#record({ at: this.#now(), kind: "frame", pulses: clamped });
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Records every output off. */
  disable(): Promise<void> {
    if (this.#state === "open") this.#off();
    return Promise.resolve();
  }

  /** Switches off and closes. */
  close(): Promise<void> {
    if (this.#state === "open") this.#off();
    this.#state = "closed";
    return Promise.resolve();
  }

  #off(): void {
    for (const servo of SERVOS) this.#outputs.set(servo.channel, null);
    this.#record({ at: this.#now(), kind: "off" });
  }

  #record(record: SimRecord): void {
    this.records.push(record);
    if (this.records.length > this.#max) {
      this.records.shift();
      this.droppedRecords++;
    }
  }
}
