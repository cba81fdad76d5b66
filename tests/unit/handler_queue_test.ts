import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { HandlerQueue, HandlerTimeoutError } from "../../core/mqtt/handler_queue.ts";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => resolve = r);
  return { promise, resolve };
}

Deno.test("queue runs items in order with concurrency 1", async () => {
  const seen: number[] = [];
  const q = new HandlerQueue<number>({
    maxSize: 10,
    concurrency: 1,
    overflow: "drop-oldest",
    timeoutMs: 0,
    run: async (n) => {
      await new Promise((r) => setTimeout(r, 5 - n));
      seen.push(n);
    },
  });
  for (let i = 0; i < 5; i++) q.push(i);
  await q.close(1000);
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
});

Deno.test("overflow policies: drop-oldest, drop-new, block", async () => {
  for (const overflow of ["drop-oldest", "drop-new"] as const) {
    const gate = deferred();
    const ran: number[] = [];
    const dropped: number[] = [];
    const q = new HandlerQueue<number>({
      maxSize: 2,
      concurrency: 1,
      overflow,
      timeoutMs: 0,
      run: async (n) => {
        await gate.promise;
        ran.push(n);
      },
      onDrop: (n) => dropped.push(n),
    });
    for (let i = 0; i < 5; i++) q.push(i); // 0 runs, 1..4 compete for 2 places
    gate.resolve();
    await q.close(1000);
    if (overflow === "drop-oldest") {
      assert.deepEqual(ran, [0, 3, 4]);
      assert.deepEqual(dropped, [1, 2]);
    } else {
      assert.deepEqual(ran, [0, 1, 2]);
      assert.deepEqual(dropped, [3, 4]);
    }
  }
  const gate = deferred();
  const ran: number[] = [];
  const q = new HandlerQueue<number>({
    maxSize: 1,
    concurrency: 1,
    overflow: "block",
    timeoutMs: 0,
    run: async (n) => {
      await gate.promise;
      ran.push(n);
    },
  });
  assert.deepEqual(q.push(0), undefined);
  assert.deepEqual(q.push(1), undefined);
  const waiting = q.push(2);
  assert.deepEqual(waiting instanceof Promise, true, "a full queue blocks the producer");
  gate.resolve();
  await waiting;
  await q.close(1000);
  assert.deepEqual(ran, [0, 1, 2], "block loses nothing");
});

Deno.test("a throwing handler is isolated and the next item still runs", async () => {
  const errors: unknown[] = [];
  const ran: number[] = [];
  const q = new HandlerQueue<number>({
    maxSize: 10,
    concurrency: 1,
    overflow: "drop-new",
    timeoutMs: 0,
    run: (n) => {
      if (n === 1) throw new Error("boom");
      if (n === 2) return Promise.reject(new Error("async boom"));
      ran.push(n);
    },
    onError: (_n, e) => errors.push(e),
  });
  for (let i = 0; i < 4; i++) q.push(i);
  await q.close(1000);
  assert.deepEqual(ran, [0, 3]);
  assert.deepEqual(errors.length, 2);
});

Deno.test("a handler past its timeout is aborted, reported and frees its slot", async () => {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout"] });
  try {
    const timeouts: number[] = [];
    const ran: number[] = [];
    let reason: unknown;
    const q = new HandlerQueue<number>({
      maxSize: 10,
      concurrency: 1,
      overflow: "drop-new",
      timeoutMs: 1000,
      run: (n, signal) => {
        if (n === 0) {
          signal.addEventListener("abort", () => reason = signal.reason);
          return new Promise(() => {}); // stuck forever
        }
        ran.push(n);
      },
      onTimeout: (n) => timeouts.push(n),
    });
    q.push(0);
    q.push(1);
    await clock.tickAsync(999);
    assert.deepEqual(ran, []);
    await clock.tickAsync(1);
    assert.deepEqual(timeouts, [0]);
    assert.deepEqual(ran, [1]);
    assert.deepEqual(reason instanceof HandlerTimeoutError, true);
    await q.close(0);
  } finally {
    clock.uninstall();
  }
});

Deno.test("close waits for running work, then aborts and drops the rest", async () => {
  const dropped: string[] = [];
  let aborted = false;
  const q = new HandlerQueue<number>({
    maxSize: 10,
    concurrency: 1,
    overflow: "drop-new",
    timeoutMs: 0,
    run: (_n, signal) =>
      new Promise<void>((resolve) => {
        signal.addEventListener("abort", () => {
          aborted = true;
          resolve();
        });
      }),
    onDrop: (_n, why) => dropped.push(why),
  });
  q.push(0);
  q.push(1);
  await q.close(20);
  assert.deepEqual(aborted, true);
  assert.deepEqual(dropped, ["closed"]);
  q.push(2);
  assert.deepEqual(dropped, ["closed", "closed"], "a closed queue takes nothing");
  q.reopen();
  assert.deepEqual(q.push(3), undefined);
  await q.close(0);
});
