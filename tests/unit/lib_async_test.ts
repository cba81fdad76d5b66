/** lib/async: abortableSleep waits, is cut short by an abort, and leaves no timer behind. */
import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { abortableSleep } from "../../lib/async/mod.ts";

Deno.test("lib async: abortableSleep resolves after ms on the (fake) clock", async () => {
  const clock = FakeTimers.install();
  try {
    let done = false;
    const sleeping = abortableSleep(1_000).then(() => done = true);
    await clock.tickAsync(999);
    assert.equal(done, false);
    await clock.tickAsync(1);
    await sleeping;
    assert.equal(done, true);
    assert.equal(clock.countTimers(), 0);
  } finally {
    clock.uninstall();
  }
});

Deno.test("lib async: an abort ends the sleep at once and clears its timer", async () => {
  const clock = FakeTimers.install();
  try {
    const stop = new AbortController();
    const sleeping = abortableSleep(60_000, stop.signal);
    assert.equal(clock.countTimers(), 1);
    stop.abort();
    await sleeping;
    assert.equal(clock.countTimers(), 0);
    // Already aborted: resolves without a timer.
    await abortableSleep(60_000, stop.signal);
    assert.equal(clock.countTimers(), 0);
  } finally {
    clock.uninstall();
  }
});

Deno.test("lib async: negative and NaN delays count as 0", async () => {
  const clock = FakeTimers.install();
  try {
    const order: string[] = [];
    const a = abortableSleep(-50).then(() => order.push("negative"));
    const b = abortableSleep(NaN).then(() => order.push("nan"));
    await clock.tickAsync(0);
    await Promise.all([a, b]);
    assert.deepEqual(order, ["negative", "nan"]);
  } finally {
    clock.uninstall();
  }
});
