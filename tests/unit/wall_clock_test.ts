import assert from "node:assert/strict";
import { epochSeconds, WallClock } from "../../core/mod.ts";

/** A system clock (whole ms when read, can be set) and a monotonic clock moved by hand. */
function fakeSources(start: number) {
  const t = { real: start, mono: 1_000 };
  return {
    t,
    sources: {
      realtime: () => Math.floor(t.real),
      monotonic: () => t.mono,
      origin: start - 1_000,
    },
    advance(ms: number) {
      t.real += ms;
      t.mono += ms;
    },
  };
}

/** Epoch ms as doubles resolve to 2^-12 ms (0.24 µs): compare to a microsecond. */
const near = (a: number, b: number) => Math.abs(a - b) < 1e-3;

/** Whether `now` is inside the millisecond the system clock reports. */
const inside = (now: number, real: number) =>
  now >= Math.floor(real) - 0.05 && now < Math.floor(real) + 1.05;

Deno.test("wall clock: sub-millisecond between ticks, always inside the system clock's millisecond", () => {
  const f = fakeSources(1_700_000_000_000.25);
  const clock = new WallClock(f.sources);
  const first = clock.nowMs();
  assert.equal(first, 1_700_000_000_000.25);
  f.advance(0.3);
  assert.ok(near(clock.nowMs() - first, 0.3), "the monotonic clock's resolution is kept");
  for (let i = 0; i < 100; i++) {
    f.advance(0.37);
    const now = clock.nowMs();
    assert.ok(inside(now, f.t.real), `${now} inside the millisecond of ${f.t.real}`);
    // (The two fake clocks add up their steps in different doubles: a few µs apart.)
    assert.ok(Math.abs(now - f.t.real) < 0.05, "no correction without a change of the clock");
  }
});

Deno.test("wall clock: a system clock set forward or back is followed at the next reading", () => {
  const f = fakeSources(1_700_000_000_000.5);
  const clock = new WallClock(f.sources);
  clock.nowMs();
  // NTP sets the clock of a robot that booted without one: an hour forward.
  f.t.real += 3_600_000;
  f.advance(1);
  assert.ok(inside(clock.nowMs(), f.t.real));
  // Then 7.5 ms back (a VM's clock corrected).
  f.t.real -= 7.5;
  f.advance(0.25);
  const now = clock.nowMs();
  assert.ok(inside(now, f.t.real));
  // From there it advances with the monotonic clock again.
  f.advance(0.125);
  assert.ok(near(clock.nowMs() - now, 0.125));
});

Deno.test("wall clock: a slow drift is followed within a millisecond, never backwards", () => {
  const f = fakeSources(1_700_000_000_000.5);
  const clock = new WallClock(f.sources);
  let previous = clock.nowMs();
  let corrections = 0;
  // The system clock runs 500 ppm fast (NTP slewing) for 10 s, read every 10 ms.
  for (let i = 0; i < 1_000; i++) {
    f.t.mono += 10;
    f.t.real += 10.005;
    const now = clock.nowMs();
    const step = now - previous;
    // A correction catches up the lag (≤ 1.05 ms) and lands mid-millisecond (≤ 0.5 ms ahead).
    assert.ok(step > 10 - 1e-3 && step < 11.6, `step ${step} at ${i}: ${now} for ${f.t.real}`);
    if (step > 10 + 1e-3) corrections++;
    assert.ok(inside(now, f.t.real), `${now} inside the millisecond of ${f.t.real}`);
    previous = now;
  }
  // 5 ms of drift in all, caught up in a few corrections, not one per reading.
  assert.ok(corrections >= 5 && corrections <= 20, `${corrections} corrections`);
});

Deno.test("wall clock: a system clock slower than the monotonic one is followed, never backwards", () => {
  const f = fakeSources(1_700_000_000_000.5);
  const clock = new WallClock(f.sources);
  let previous = clock.nowMs();
  let held = 0;
  // The system clock runs 500 ppm slow (NTP slewing) for 10 s, read every 0.25 ms for a
  // while after each 10 ms step, so readings fall between a correction and the catch-up.
  for (let i = 0; i < 1_000; i++) {
    f.t.mono += 10;
    f.t.real += 9.995;
    for (let j = 0; j < 4; j++) {
      f.t.mono += 0.25;
      f.t.real += 0.25;
      const now = clock.nowMs();
      assert.ok(now >= previous, `back by ${previous - now} ms at ${i}.${j}`);
      if (now === previous) held++;
      assert.ok(inside(now, f.t.real), `${now} inside the millisecond of ${f.t.real}`);
      previous = now;
    }
  }
  assert.ok(held > 0, "some readings held still after a correction back");
});

Deno.test("wall clock: a system clock set back by more than a millisecond is followed at once", () => {
  const f = fakeSources(1_700_000_000_000.5);
  const clock = new WallClock(f.sources);
  const before = clock.nowMs();
  f.t.real -= 3;
  f.advance(0.1);
  const now = clock.nowMs();
  assert.ok(now < before - 1.5, `${now} followed the clock back from ${before}`);
  assert.ok(inside(now, f.t.real));
});

Deno.test("wall clock: epochSeconds is the process's clock in seconds, on the system clock", () => {
  const before = Date.now();
  const seconds = epochSeconds();
  const after = Date.now();
  assert.ok(seconds * 1000 >= before && seconds * 1000 < after + 1);
});
