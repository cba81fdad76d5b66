import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { Heartbeat } from "../../core/mqtt/heartbeat.ts";

function install() {
  return FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"] });
}

Deno.test("heartbeat beats at start and every interval while publishes succeed", async () => {
  const clock = install();
  try {
    const beats: number[] = [];
    let stalls = 0;
    const hb = new Heartbeat({
      intervalMs: 1000,
      publish: () => {
        beats.push(Date.now());
        return Promise.resolve();
      },
      onStall: () => stalls++,
    });
    hb.start();
    await clock.tickAsync(10_500);
    hb.stop();
    assert.deepEqual(beats.length, 11);
    assert.deepEqual(stalls, 0);
    await clock.tickAsync(5000);
    assert.deepEqual(beats.length, 11, "no beat after stop");
  } finally {
    clock.uninstall();
  }
});

Deno.test("watchdog: no beat through for 3 intervals → one stall, then stopped", async () => {
  const clock = install();
  try {
    let stalledAfter = -1;
    let ok = true;
    const start = Date.now();
    const hb = new Heartbeat({
      intervalMs: 1000,
      // a stalled broker: the publish never completes
      publish: () => ok ? Promise.resolve() : new Promise(() => {}),
      onStall: (silent) => stalledAfter = silent,
    });
    hb.start();
    await clock.tickAsync(2500);
    ok = false; // last success at t=2000
    await clock.tickAsync(4000);
    assert.deepEqual(stalledAfter, 3000);
    assert.deepEqual(Date.now() - start, 6500);
    assert.deepEqual(hb.running, false);
  } finally {
    clock.uninstall();
  }
});

Deno.test("watchdog counts rejected publishes as failures and restarts cleanly", async () => {
  const clock = install();
  try {
    let stalls = 0;
    let errors = 0;
    const hb = new Heartbeat({
      intervalMs: 500,
      publish: () => Promise.reject(new Error("not connected")),
      onStall: () => stalls++,
      onError: () => errors++,
    });
    hb.start();
    await clock.tickAsync(1499);
    assert.deepEqual(stalls, 0);
    await clock.tickAsync(1);
    assert.deepEqual(stalls, 1);
    assert.deepEqual(errors, 3);
    hb.start(); // e.g. after the reconnect
    await clock.tickAsync(1499);
    assert.deepEqual(stalls, 1, "the watchdog clock restarts with start()");
    hb.stop();
  } finally {
    clock.uninstall();
  }
});
