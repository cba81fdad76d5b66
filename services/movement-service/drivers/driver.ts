/**
 * The servo driver interface: where clamped frames go. Implementations: `sim` (records
 * frames), `pca9685` (Linux I2C), `esp32` (raw frames over MQTT to the py-tars firmware).
 *
 * @module
 */
import type { PulseMap } from "../servo_map.ts";

/** The names of the drivers (`MOVEMENT_DRIVER`). */
export const DRIVER_NAMES = ["sim", "pca9685", "esp32"] as const;
/** One of {@linkcode DRIVER_NAMES}. */
export type DriverName = typeof DRIVER_NAMES[number];

/** A servo output stage. Callers pass pulses already clamped; drivers clamp again. */
export interface ServoDriver {
  /** Which driver this is. */
  readonly name: DriverName;
  /** Prepares the hardware (PWM frequency, outputs off). Call once before `apply`. */
  open(): Promise<void>;
  /** Writes one frame: the pulse of each named channel. Rejects after `close`. */
  apply(pulses: PulseMap): Promise<void>;
  /** Switches every servo output off (no pulse): the emergency stop and `disable`. */
  disable(): Promise<void>;
  /** Switches the outputs off and releases the hardware. Idempotent. */
  close(): Promise<void>;
}

/** Thrown by a driver used after `close()` or before `open()`. */
export class DriverClosedError extends Error {
  /** Creates the error for `driver`. */
  constructor(driver: string, state: "closed" | "not opened") {
    super(`The ${driver} servo driver is ${state}`);
    this.name = "DriverClosedError";
  }
}
