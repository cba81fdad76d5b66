import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { ExponentialBackoff } from "../../core/mqtt/backoff.ts";

Deno.test("backoff doubles from the min delay and caps at the max (no jitter draw)", () => {
  const backoff = new ExponentialBackoff({ minMs: 500, maxMs: 5000, random: () => 0 });
  const delays = Array.from({ length: 7 }, () => backoff.next());
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 5000, 5000, 5000]);
  assert.deepEqual(backoff.attempt, 7);
  backoff.reset();
  assert.deepEqual(backoff.next(), 500);
});

Deno.test("backoff jitter stays between the min and max delay", () => {
  let x = 0;
  const random = () => (x = (x * 9301 + 49297) % 233280) / 233280;
  const backoff = new ExponentialBackoff({ minMs: 100, maxMs: 3000, random });
  for (let i = 0; i < 200; i++) {
    const d = backoff.next();
    if (d < 100 || d > 3000) throw new Error(`delay ${d} outside [100, 3000]`);
  }
  const full = new ExponentialBackoff({ minMs: 500, maxMs: 5000, random: () => 0.999 });
  assert.deepEqual([full.next(), full.next(), full.next()].map(Math.round), [500, 500, 1001]);
});

Deno.test("backoff rejects impossible bounds", () => {
  assert.throws(() => new ExponentialBackoff({ minMs: 0, maxMs: 1 }), RangeError);
  assert.throws(() => new ExponentialBackoff({ minMs: 10, maxMs: 5 }), RangeError);
});

Deno.test("backoff drives a retry schedule under fake timers", async () => {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  try {
    const backoff = new ExponentialBackoff({ minMs: 500, maxMs: 2000, random: () => 0 });
    const attempts: number[] = [];
    const start = Date.now();
    const attempt = () => {
      attempts.push(Date.now() - start);
      if (attempts.length < 5) setTimeout(attempt, backoff.next());
    };
    setTimeout(attempt, backoff.next());
    await clock.tickAsync(10_000);
    assert.deepEqual(attempts, [500, 1500, 3500, 5500, 7500]);
  } finally {
    clock.uninstall();
  }
});
