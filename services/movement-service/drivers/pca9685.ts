/**
 * The `pca9685` driver: a PCA9685 16-channel PWM controller on an I2C bus (address 0x40,
 * 50 Hz). Start-up follows the datasheet: outputs fully off, MODE1 SLEEP (the prescaler can
 * only be written while the oscillator sleeps), PRE_SCALE, MODE2 totem-pole, wake, wait
 * 500 µs for the oscillator, then RESTART with register auto-increment. A frame writes
 * LEDn_ON = 0 and LEDn_OFF = pulse for each channel in one 5-byte transaction; `disable`
 * sets the full-OFF bit of every channel through ALL_LED_OFF in one transaction.
 *
 * @module
 */
import { clampPose, type PulseMap } from "../servo_map.ts";
import { DriverClosedError, type ServoDriver } from "./driver.ts";
import type { I2cBus } from "./i2c.ts";

/** PCA9685 register addresses and bits (NXP datasheet rev. 4, §7.3). */
export const PCA9685 = Object.freeze({
  MODE1: 0x00,
  MODE2: 0x01,
  LED0_ON_L: 0x06,
  ALL_LED_ON_L: 0xfa,
  ALL_LED_OFF_L: 0xfc,
  PRE_SCALE: 0xfe,
  MODE1_RESTART: 0x80,
  MODE1_AI: 0x20,
  MODE1_SLEEP: 0x10,
  MODE1_ALLCALL: 0x01,
  MODE2_OUTDRV: 0x04,
  /** Bit 4 of LEDn_ON_H / LEDn_OFF_H: the output is fully on / fully off. */
  FULL_BIT: 0x10,
  /** Internal oscillator, Hz. */
  OSCILLATOR_HZ: 25_000_000,
  /** Default I2C address (A0..A5 low). */
  DEFAULT_ADDRESS: 0x40,
});

/** PRE_SCALE for a PWM frequency: `round(osc / (4096 × freq)) − 1`, within 3..255. */
export function prescaleFor(
  frequencyHz: number,
  oscillatorHz: number = PCA9685.OSCILLATOR_HZ,
): number {
  const value = Math.round(oscillatorHz / (4096 * frequencyHz)) - 1;
  if (value < 3 || value > 255) {
    throw new RangeError(
      `A PWM frequency of ${frequencyHz} Hz needs PRE_SCALE ${value}; the PCA9685 allows 3..255`,
    );
  }
  return value;
}

/** Options of {@linkcode Pca9685ServoDriver}. */
export interface Pca9685Options {
  /** The bus the chip is on. The driver closes it on `close()`. */
  readonly bus: I2cBus;
  /** 7-bit I2C address; default 0x40. */
  readonly address?: number;
  /** PWM frequency, Hz; default 50 (the pulses of the servo map are 50 Hz ticks). */
  readonly frequencyHz?: number;
  /** Oscillator frequency, Hz, for boards whose oscillator is off; default 25 MHz. */
  readonly oscillatorHz?: number;
  /** Waits `ms` (the 500 µs oscillator start-up); default a timer. */
  readonly delay?: (ms: number) => Promise<void>;
}

/** Drives servos through a PCA9685. */
export class Pca9685ServoDriver implements ServoDriver {
  /** Always `pca9685`. */
  readonly name = "pca9685" as const;
  readonly #bus: I2cBus;
  readonly #address: number;
  readonly #prescale: number;
  readonly #delay: (ms: number) => Promise<void>;
  #state: "new" | "open" | "closed" = "new";

  /** Creates the driver (nothing is written until `open`). */
  constructor(options: Pca9685Options) {
    this.#bus = options.bus;
    this.#address = options.address ?? PCA9685.DEFAULT_ADDRESS;
    this.#prescale = prescaleFor(options.frequencyHz ?? 50, options.oscillatorHz);
    this.#delay = options.delay ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** The PRE_SCALE value this driver programs. */
  get prescale(): number {
    return this.#prescale;
  }

  /** Programs the chip: outputs off, 50 Hz, auto-increment, running. */
  async open(): Promise<void> {
    if (this.#state === "closed") throw new DriverClosedError("pca9685", "closed");
    const { MODE1, MODE2, PRE_SCALE, MODE1_AI, MODE1_SLEEP, MODE1_RESTART } = PCA9685;
    // Auto-increment first: the 5-byte ALL_LED write below needs it (power-on MODE1 has AI off).
    this.#write(MODE1, MODE1_SLEEP | MODE1_AI);
    this.#allOff();
    this.#write(PRE_SCALE, this.#prescale);
    this.#write(MODE2, PCA9685.MODE2_OUTDRV);
    this.#write(MODE1, MODE1_AI);
    await this.#delay(1); // ≥ 500 µs for the oscillator
    this.#write(MODE1, MODE1_RESTART | MODE1_AI);
    this.#state = "open";
  }

  /** Writes LEDn_ON = 0, LEDn_OFF = pulse for each channel (clamped). */
  apply(pulses: PulseMap): Promise<void> {
    try {
      this.#assertOpen();
      const clamped = clampPose(pulses);
      for (const [key, pulse] of Object.entries(clamped)) {
        const channel = Number(key);
        this.#bus.write(
          this.#address,
          Uint8Array.of(PCA9685.LED0_ON_L + 4 * channel, 0, 0, pulse & 0xff, (pulse >> 8) & 0x0f),
        );
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Sets the full-OFF bit of every channel (one ALL_LED transaction). */
  disable(): Promise<void> {
    try {
      if (this.#state === "open") this.#allOff();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Outputs off, oscillator asleep, bus closed. */
  close(): Promise<void> {
    if (this.#state === "closed") return Promise.resolve();
    const wasOpen = this.#state === "open";
    this.#state = "closed";
    try {
      if (wasOpen) {
        this.#allOff();
        this.#write(PCA9685.MODE1, PCA9685.MODE1_SLEEP | PCA9685.MODE1_AI);
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    } finally {
      this.#bus.close();
    }
  }

  #assertOpen(): void {
    if (this.#state !== "open") {
      throw new DriverClosedError("pca9685", this.#state === "new" ? "not opened" : "closed");
    }
  }

  #allOff(): void {
    this.#bus.write(
      this.#address,
      Uint8Array.of(PCA9685.ALL_LED_ON_L, 0, 0, 0, PCA9685.FULL_BIT),
    );
  }

  #write(register: number, value: number): void {
    this.#bus.write(this.#address, Uint8Array.of(register, value));
  }
}
