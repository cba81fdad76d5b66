import assert from "node:assert/strict";
import { I2C_SLAVE, I2cError, LinuxI2cBus } from "../../services/movement-service/drivers/i2c.ts";
import {
  PCA9685,
  Pca9685ServoDriver,
  prescaleFor,
} from "../../services/movement-service/drivers/pca9685.ts";
import { SimulatedPca9685Bus } from "../helpers/movement_pca9685_sim.ts";

async function openDriver(bus = new SimulatedPca9685Bus()) {
  const delays: number[] = [];
  const driver = new Pca9685ServoDriver({
    bus,
    delay: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
  });
  await driver.open();
  return { bus, driver, delays };
}

Deno.test("pca9685: PRE_SCALE for 50 Hz at 25 MHz is 121, out-of-range frequencies refused", () => {
  assert.equal(prescaleFor(50), 121);
  assert.equal(prescaleFor(50, 25_000_000), 121);
  assert.equal(prescaleFor(60), 101);
  assert.equal(prescaleFor(1526), 3);
  assert.throws(() => prescaleFor(10), /PRE_SCALE .* 3\.\.255/);
  assert.throws(() => prescaleFor(2000), RangeError);
});

Deno.test("pca9685: open programs MODE1/MODE2/PRE_SCALE in the datasheet order", async () => {
  const { bus, driver, delays } = await openDriver();
  assert.equal(driver.prescale, 121);
  assert.equal(bus.prescale, 121, "PRE_SCALE was written while the oscillator slept");
  assert.ok(Math.abs(bus.frequencyHz - 50) < 0.2, `${bus.frequencyHz} Hz`);
  // sleep+AI, wake with AI, then RESTART+AI; RESTART reads back cleared.
  assert.deepEqual(bus.mode1Writes, [0x30, 0x20, 0xa0]);
  assert.equal(bus.mode1, 0x20);
  assert.equal(bus.running, true);
  assert.equal(bus.registers[PCA9685.MODE2], 0x04, "totem-pole outputs");
  assert.ok(delays.length === 1 && delays[0] >= 0.5, "waited for the oscillator");
  for (let ch = 0; ch < 16; ch++) assert.equal(bus.output(ch).fullOff, true, `ch${ch} off`);
  assert.ok(bus.transactions.every((t) => t.address === 0x40));
});

Deno.test("pca9685: a pulse writes LEDn_ON = 0 and LEDn_OFF = ticks in one transaction", async () => {
  const { bus, driver } = await openDriver();
  const before = bus.transactions.length;
  await driver.apply({ 3: 440, 0: 220 });
  const writes = bus.transactions.slice(before);
  assert.deepEqual(writes.map((t) => t.bytes), [
    [0x06, 0, 0, 220, 0], // LED0: 220 = 0x0DC
    [0x06 + 12, 0, 0, 440 & 0xff, 440 >> 8], // LED3: 440 = 0x1B8
  ]);
  assert.deepEqual(bus.output(3), {
    on: 0,
    off: 440,
    fullOn: false,
    fullOff: false,
    pulseTicks: 440,
  });
  assert.equal(bus.output(0).pulseTicks, 220);
  // 440 ticks at 50 Hz = 2.148 ms; 220 = 1.074 ms.
  assert.ok(Math.abs(440 / 4096 * 20 - 2.148) < 0.001);
  await driver.apply({ 3: 9999 }); // clamped to 440 for right_main
  assert.equal(bus.output(3).off, 440);
});

Deno.test("pca9685: disable sets the full-OFF bit of every channel; close sleeps the chip", async () => {
  const { bus, driver } = await openDriver();
  await driver.apply({ 0: 300, 1: 300, 2: 300 });
  await driver.disable();
  for (let ch = 0; ch < 16; ch++) assert.equal(bus.output(ch).pulseTicks, 0);
  assert.deepEqual(bus.transactions.at(-1)?.bytes, [0xfa, 0, 0, 0, 0x10]);
  await driver.close();
  assert.equal(bus.running, false);
  assert.equal(bus.closed, true);
});

Deno.test("pca9685: a chip at another address NACKs and open fails with a hint", async () => {
  const driver = new Pca9685ServoDriver({
    bus: new SimulatedPca9685Bus(0x41),
    delay: () => Promise.resolve(),
  });
  await assert.rejects(driver.open(), (error) => {
    assert.ok(error instanceof I2cError);
    assert.equal(error.errno, 121);
    assert.match(error.message, /MOVEMENT_I2C_ADDRESS/);
    return true;
  });
});

Deno.test("pca9685: without auto-increment a 5-byte write lands on one register (sim is faithful)", () => {
  const bus = new SimulatedPca9685Bus();
  bus.write(0x40, Uint8Array.of(0x06, 1, 2, 3, 4)); // power-on MODE1: AI off
  assert.equal(bus.registers[0x06], 4);
  assert.equal(bus.registers[0x07], 0);
  bus.write(0x40, Uint8Array.of(PCA9685.PRE_SCALE, 99)); // asleep at power-on: accepted
  assert.equal(bus.prescale, 99);
  bus.write(0x40, Uint8Array.of(PCA9685.MODE1, 0x20));
  bus.write(0x40, Uint8Array.of(PCA9685.PRE_SCALE, 50)); // running: blocked
  assert.equal(bus.prescale, 99);
});

Deno.test("LinuxI2cBus (real FFI path): a missing /dev/i2c node fails with ENOENT and a hint", () => {
  assert.throws(() => LinuxI2cBus.open("/dev/i2c-no-such-bus"), (error) => {
    assert.ok(error instanceof I2cError);
    assert.equal(error.errno, 2);
    assert.match(error.message, /modprobe i2c-dev/);
    return true;
  });
});

Deno.test("LinuxI2cBus (real FFI path): open works, ioctl(I2C_SLAVE) on a non-adapter is ENOTTY", async () => {
  assert.equal(I2C_SLAVE, 0x0703);
  const file = await Deno.makeTempFile({ prefix: "movement-i2c-" });
  try {
    const bus = LinuxI2cBus.open(file);
    try {
      assert.throws(() => bus.write(0x40, Uint8Array.of(0, 0x20)), (error) => {
        assert.ok(error instanceof I2cError);
        assert.equal(error.errno, 25);
        assert.match(error.message, /ioctl\(I2C_SLAVE, 0x40\).*ENOTTY/);
        return true;
      });
    } finally {
      bus.close();
      bus.close(); // idempotent
    }
    assert.equal((await Deno.readFile(file)).length, 0, "nothing written after the failed ioctl");
  } finally {
    await Deno.remove(file);
  }
});
