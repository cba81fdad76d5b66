/**
 * A simulated I2C bus with a PCA9685 on it: every write transaction is decoded into the
 * chip's register map the way the datasheet says the chip does it: a register pointer, then
 * data bytes that auto-increment only when MODE1.AI is set, PRE_SCALE writes blocked unless
 * MODE1.SLEEP is set, RESTART cleared by writing 1, ALL_LED_* writes copied to every channel,
 * and a NACK (EREMOTEIO) for any other address.
 *
 * @module
 */
import { type I2cBus, I2cError } from "../../services/movement-service/drivers/i2c.ts";
import { PCA9685 } from "../../services/movement-service/drivers/pca9685.ts";

/** The decoded output of one channel. */
export interface ChannelOutput {
  /** LEDn_ON (12 bits). */
  readonly on: number;
  /** LEDn_OFF (12 bits): the pulse end in ticks. */
  readonly off: number;
  /** LEDn_ON_H bit 4. */
  readonly fullOn: boolean;
  /** LEDn_OFF_H bit 4 (wins over full on). */
  readonly fullOff: boolean;
  /** The high time in ticks per period (0 when off), what a servo sees. */
  readonly pulseTicks: number;
}

/** One write transaction as it went over the wire. */
export interface BusTransaction {
  /** 7-bit address. */
  readonly address: number;
  /** The bytes (register pointer first). */
  readonly bytes: readonly number[];
}

/** A PCA9685 at one address on a simulated bus. */
export class SimulatedPca9685Bus implements I2cBus {
  /** 256 registers, power-on values. */
  readonly registers = new Uint8Array(256);
  /** Every transaction, in order. */
  readonly transactions: BusTransaction[] = [];
  /** MODE1 values in the order they were written. */
  readonly mode1Writes: number[] = [];
  /** Whether `close()` was called. */
  closed = false;
  readonly #address: number;

  /** Creates the chip in its power-on state at `address`. */
  constructor(address: number = PCA9685.DEFAULT_ADDRESS) {
    this.#address = address;
    this.registers[PCA9685.MODE1] = PCA9685.MODE1_SLEEP | PCA9685.MODE1_ALLCALL; // 0x11
    this.registers[PCA9685.MODE2] = PCA9685.MODE2_OUTDRV; // 0x04
    this.registers[PCA9685.PRE_SCALE] = 0x1e; // 200 Hz
    for (let ch = 0; ch < 16; ch++) this.registers[PCA9685.LED0_ON_L + 4 * ch + 3] = 0x10;
    this.registers[PCA9685.ALL_LED_OFF_L + 1] = 0x10;
  }

  /** Decodes one write transaction. */
  write(address: number, bytes: Uint8Array): void {
    if (this.closed) throw new I2cError("write", "sim", 9);
    this.transactions.push({ address, bytes: [...bytes] });
    if (address !== this.#address) throw new I2cError("write", "sim", 121);
    if (bytes.length === 0) return;
    let pointer = bytes[0];
    for (let i = 1; i < bytes.length; i++) {
      this.#store(pointer, bytes[i]);
      if (this.registers[PCA9685.MODE1] & PCA9685.MODE1_AI) pointer = (pointer + 1) & 0xff;
    }
  }

  /** Marks the bus closed. */
  close(): void {
    this.closed = true;
  }

  /** MODE1 now. */
  get mode1(): number {
    return this.registers[PCA9685.MODE1];
  }

  /** PRE_SCALE now. */
  get prescale(): number {
    return this.registers[PCA9685.PRE_SCALE];
  }

  /** The PWM frequency the chip runs at, Hz (25 MHz oscillator). */
  get frequencyHz(): number {
    return PCA9685.OSCILLATOR_HZ / (4096 * (this.prescale + 1));
  }

  /** Whether the oscillator runs (MODE1.SLEEP clear). */
  get running(): boolean {
    return (this.mode1 & PCA9685.MODE1_SLEEP) === 0;
  }

  /** The decoded LEDn registers of `channel`. */
  output(channel: number): ChannelOutput {
    const base = PCA9685.LED0_ON_L + 4 * channel;
    const r = this.registers;
    const on = r[base] | ((r[base + 1] & 0x0f) << 8);
    const off = r[base + 2] | ((r[base + 3] & 0x0f) << 8);
    const fullOn = (r[base + 1] & 0x10) !== 0;
    const fullOff = (r[base + 3] & 0x10) !== 0;
    const pulseTicks = fullOff ? 0 : fullOn ? 4096 : (off - on + 4096) % 4096;
    return { on, off, fullOn, fullOff, pulseTicks };
  }

  #store(register: number, value: number): void {
    const { MODE1, PRE_SCALE, ALL_LED_ON_L, MODE1_SLEEP, MODE1_RESTART } = PCA9685;
    if (register === MODE1) {
      this.mode1Writes.push(value);
      // Writing 1 to RESTART restarts the PWM and clears the bit; it never reads back as 1.
      this.registers[MODE1] = value & ~MODE1_RESTART;
      return;
    }
    if (register === PRE_SCALE) {
      if (this.registers[MODE1] & MODE1_SLEEP) this.registers[PRE_SCALE] = value;
      return; // blocked while the oscillator runs (datasheet §7.3.5)
    }
    if (register >= ALL_LED_ON_L && register <= ALL_LED_ON_L + 3) {
      this.registers[register] = value;
      const offset = register - ALL_LED_ON_L;
      for (let ch = 0; ch < 16; ch++) this.registers[PCA9685.LED0_ON_L + 4 * ch + offset] = value;
      return;
    }
    this.registers[register] = value;
  }
}
