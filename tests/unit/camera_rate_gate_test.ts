/** Unit tests of the camera/frame rate gate (the fix of py-tars' modulo bug). */
import assert from "node:assert/strict";
import { RateGate } from "../../services/camera-service/rate_gate.ts";

/** Frames at `fps` for `seconds` with up to ±`jitterMs` of deterministic jitter. */
function admitted(fps: number, rate: number, seconds: number, jitterMs = 0): number {
  const gate = new RateGate(rate);
  let count = 0;
  for (let i = 0; i < fps * seconds; i++) {
    const jitter = jitterMs * Math.sin(i * 12.9898); // deterministic pseudo-jitter
    if (gate.admit(1_000_000 + (i * 1000) / fps + jitter)) count++;
  }
  return count;
}

Deno.test("camera rate gate: py-tars defaults (fps 10, rate 2) give 2 frames a second", () => {
  assert.equal(admitted(10, 2, 60), 120);
  assert.ok(Math.abs(admitted(10, 2, 60, 20) - 120) <= 1, "jitter does not change the rate");
});

Deno.test("camera rate gate: rates that do not divide fps are exact (py-tars: 10//3 → 3.3/s)", () => {
  assert.ok(Math.abs(admitted(10, 3, 60) - 180) <= 1);
  assert.ok(Math.abs(admitted(30, 7, 60) - 420) <= 1);
  assert.ok(Math.abs(admitted(10, 0.5, 60) - 30) <= 1, "fractional rates work");
});

Deno.test("camera rate gate: a rate above fps publishes every frame (py-tars: division by zero)", () => {
  assert.equal(admitted(10, 15, 10), 100);
  assert.equal(admitted(5, 60, 10, 30), 50);
});

Deno.test("camera rate gate: rate 0 publishes nothing", () => {
  const gate = new RateGate(0);
  assert.equal(gate.enabled, false);
  assert.equal(admitted(10, 0, 10), 0);
});

Deno.test("camera rate gate: after a gap it does not burst to catch up", () => {
  const gate = new RateGate(2);
  assert.equal(gate.admit(0), true);
  assert.equal(gate.admit(100), false);
  // No frames for 10 s (camera restarted), then frames at 10 fps again.
  const after = [10_000, 10_100, 10_200, 10_300, 10_400, 10_500].map((t) => gate.admit(t));
  assert.deepEqual(after, [true, false, false, false, false, true]);
});
