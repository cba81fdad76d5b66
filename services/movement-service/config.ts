/**
 * movement-service configuration from the environment (py-tars names where they exist).
 *
 * @module
 */
import { ConfigError, envVar, readEnv } from "../../core/mod.ts";
import { DRIVER_NAMES, type DriverName } from "./drivers/driver.ts";

/** The variables, their defaults and ranges. */
export const MOVEMENT_ENV = {
  MOVEMENT_DRIVER: envVar.choice<DriverName>("sim", DRIVER_NAMES),
  MOVEMENT_I2C_DEVICE: envVar.string("/dev/i2c-1"),
  MOVEMENT_I2C_ADDRESS: envVar.int(0x40, { min: 0x03, max: 0x77 }),
  MOVEMENT_PWM_OSCILLATOR_HZ: envVar.int(25_000_000, { min: 20_000_000, max: 30_000_000 }),
  MOVEMENT_COMMAND_TTL_MS: envVar.int(10_000, { min: 1 }),
  MOVEMENT_QUEUE_SIZE: envVar.int(8, { min: 1, max: 1000 }),
  MOVEMENT_FRAME_MS: envVar.int(20, { min: 5, max: 1000 }),
  MOVEMENT_MS_PER_TICK: envVar.float(2, { min: 0, max: 100 }),
  MOVEMENT_STOP_ON_DISCONNECT: envVar.bool(true),
};

/** The parsed configuration. */
export interface MovementConfig {
  /** Which servo driver runs (`MOVEMENT_DRIVER`). */
  readonly driver: DriverName;
  /** i2c-dev node of the PCA9685's bus. */
  readonly i2cDevice: string;
  /** 7-bit I2C address of the PCA9685. */
  readonly i2cAddress: number;
  /** PCA9685 oscillator frequency, Hz (calibration). */
  readonly oscillatorHz: number;
  /** Commands that waited longer than this in the queue are dropped, ms. */
  readonly commandTtlMs: number;
  /** Commands that may wait in the queue. */
  readonly queueSize: number;
  /** Period between servo frames, ms. */
  readonly frameMs: number;
  /** Travel time per tick at speed 1.0, ms. */
  readonly msPerTick: number;
  /**
   * The dead-man rule (`MOVEMENT_STOP_ON_DISCONNECT`): when the broker connection is lost the
   * servos go off, the queue is dropped and commands are refused until it is back. Off only
   * for benches.
   */
  readonly stopOnDisconnect: boolean;
}

/** Reads the configuration; throws one `ConfigError` naming every bad variable. */
export function readMovementConfig(
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): MovementConfig {
  const { values, issues } = readEnv(MOVEMENT_ENV, env);
  if (issues.length > 0) throw new ConfigError(issues, "movement-service configuration");
  return {
    driver: values.MOVEMENT_DRIVER,
    i2cDevice: values.MOVEMENT_I2C_DEVICE,
    i2cAddress: values.MOVEMENT_I2C_ADDRESS,
    oscillatorHz: values.MOVEMENT_PWM_OSCILLATOR_HZ,
    commandTtlMs: values.MOVEMENT_COMMAND_TTL_MS,
    queueSize: values.MOVEMENT_QUEUE_SIZE,
    frameMs: values.MOVEMENT_FRAME_MS,
    msPerTick: values.MOVEMENT_MS_PER_TICK,
    stopOnDisconnect: values.MOVEMENT_STOP_ON_DISCONNECT,
  };
}
