/**
 * The shared test suite of the movement-service servo drivers: one function that registers
 * the same Deno.test cases for every implementation, given a factory of a harness that can
 * read back what the hardware (or its stand-in) outputs.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  DriverClosedError,
  type ServoDriver,
} from "../../services/movement-service/drivers/driver.ts";
import { SERVOS } from "../../services/movement-service/servo_map.ts";
import { waitFor } from "./wait.ts";

/** A driver plus a view of its outputs. */
export interface DriverHarness extends AsyncDisposable {
  /** The driver under test (not opened). */
  readonly driver: ServoDriver;
  /** What `channel` outputs now: ticks, `null` when off, `undefined` if never written. */
  output(channel: number): number | null | undefined;
}

async function expectOutputs(
  harness: DriverHarness,
  expected: Readonly<Record<number, number | null>>,
): Promise<void> {
  const read = () =>
    Object.fromEntries(Object.keys(expected).map((ch) => [ch, harness.output(Number(ch))]));
  try {
    await waitFor(
      () => {
        const now = read();
        return Object.entries(expected).every(([ch, value]) => now[ch] === value);
      },
      "outputs",
      5_000,
    );
  } catch {
    assert.deepEqual(read(), Object.fromEntries(Object.entries(expected)));
  }
}

const ALL_OFF = Object.fromEntries(SERVOS.map((servo) => [servo.channel, null]));

/** Registers the driver cases for one implementation. */
export function driverSuite(label: string, factory: () => Promise<DriverHarness>): void {
  Deno.test(`${label} driver: open switches every servo output off`, async () => {
    await using harness = await factory();
    await harness.driver.open();
    await expectOutputs(harness, ALL_OFF);
  });

  Deno.test(`${label} driver: apply writes each channel's pulse`, async () => {
    await using harness = await factory();
    await harness.driver.open();
    await harness.driver.apply({ 0: 300, 3: 287, 8: 330 });
    await expectOutputs(harness, { 0: 300, 3: 287, 8: 330 });
    await harness.driver.apply({ 3: 440 });
    await expectOutputs(harness, { 0: 300, 3: 440, 8: 330 });
  });

  Deno.test(`${label} driver: pulses outside a channel's limits are clamped`, async () => {
    await using harness = await factory();
    await harness.driver.open();
    await harness.driver.apply({ 0: 4000, 5: 10, 3: 287.6, 8: -50 });
    await expectOutputs(harness, { 0: 400, 5: 200, 3: 288, 8: 280 });
  });

  Deno.test(`${label} driver: disable switches every output off`, async () => {
    await using harness = await factory();
    await harness.driver.open();
    await harness.driver.apply({ 0: 350, 1: 220, 2: 380, 6: 135 });
    await expectOutputs(harness, { 0: 350, 1: 220, 2: 380, 6: 135 });
    await harness.driver.disable();
    await expectOutputs(harness, ALL_OFF);
  });

  Deno.test(`${label} driver: a channel without a servo is refused, nothing written`, async () => {
    await using harness = await factory();
    await harness.driver.open();
    await assert.rejects(harness.driver.apply({ 0: 300, 12: 300 }), RangeError);
    await harness.driver.apply({ 1: 250 });
    await expectOutputs(harness, { 1: 250, 0: null });
    assert.equal(harness.output(12), undefined);
  });

  Deno.test(`${label} driver: apply before open or after close is refused`, async () => {
    await using harness = await factory();
    await assert.rejects(harness.driver.apply({ 0: 300 }), DriverClosedError);
    await harness.driver.open();
    await harness.driver.apply({ 0: 320 });
    await harness.driver.close();
    await harness.driver.close(); // idempotent
    await assert.rejects(harness.driver.apply({ 0: 300 }), DriverClosedError);
    await assert.rejects(harness.driver.open(), DriverClosedError);
  });
}
