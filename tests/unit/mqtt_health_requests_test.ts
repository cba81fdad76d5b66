/** core/mqtt/health.ts and requests.ts: health and request bookkeeping without a broker. */
import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { topics } from "../../core/contracts/topics.ts";
import { HealthAnnouncer } from "../../core/mqtt/health.ts";
import { replyFilterOf, RequestTimeoutError, RequestTracker } from "../../core/mqtt/requests.ts";

Deno.test("health: ready by default; the last status survives, shutdown does not replace it", () => {
  const health = new HealthAnnouncer();
  assert.deepEqual(health.last, { ok: true, event: "ready" });
  health.prepare({ ok: false, event: "degraded", err: "disk" });
  health.prepare({ ok: false, event: "shutdown" });
  assert.deepEqual(health.last, { ok: false, event: "degraded", err: "disk" });
});

Deno.test("health: an error text is redacted before it goes on the bus", () => {
  const health = new HealthAnnouncer();
  const { status } = health.prepare({ ok: false, err: "failed with api_key=sk-secret123456" });
  assert.doesNotMatch(status.err ?? "", /sk-secret123456/);
});

Deno.test("health: only a live ok:false from elsewhere while connected is answered", () => {
  const health = new HealthAnnouncer();
  const { id } = health.prepare({ ok: false, event: "degraded" });
  assert.equal(health.mustReassert({ ok: false, event: "lost" }, false, "other", true), true);
  assert.equal(health.mustReassert({ ok: false, event: "lost" }, false, null, true), true);
  assert.equal(health.mustReassert({ ok: false }, false, id, true), false); // our own echo
  assert.equal(health.mustReassert({ ok: false }, true, "other", true), false); // retained
  assert.equal(health.mustReassert({ ok: false }, false, "other", false), false); // offline
  assert.equal(health.mustReassert({ ok: true }, false, "other", true), false);
});

Deno.test("health: announceReady's action depends on the initial health and what happened since", () => {
  assert.equal(new HealthAnnouncer().readyAction(true), "none");
  const starting = { ok: false, event: "starting" };
  assert.equal(new HealthAnnouncer(starting).readyAction(true), "publish");
  const offline = new HealthAnnouncer(starting);
  assert.equal(offline.readyAction(false), "later");
  assert.deepEqual(offline.last, { ok: true, event: "ready" });
  const failed = new HealthAnnouncer(starting);
  failed.prepare({ ok: false, event: "no-model", err: "missing" });
  assert.equal(failed.readyAction(true), "none"); // the service's own problem stands
});

Deno.test("requests: a reply resolves the waiting request by id", async () => {
  const tracker = new RequestTracker();
  const reply = tracker.wait("r1", { topic: "q", replyFilter: "a", timeoutMs: 1000 });
  assert.equal(tracker.has("r1"), true);
  assert.throws(() => tracker.wait("r1", { topic: "q", replyFilter: "a", timeoutMs: 1000 }));
  tracker.resolve("other", 0); // ignored
  tracker.resolve("r1", { n: 1 });
  assert.deepEqual(await reply, { n: 1 });
  assert.equal(tracker.size, 0);
});

Deno.test("requests: timeout, abort and rejectAll fail the wait and forget it", async () => {
  const clock = FakeTimers.install();
  try {
    const tracker = new RequestTracker();
    const timedOut = tracker.wait("t", { topic: "q/x", replyFilter: "a/+", timeoutMs: 50 });
    const caught = timedOut.catch((e) => e);
    clock.tick(50);
    const error = await caught;
    assert.ok(error instanceof RequestTimeoutError);
    assert.equal(error.replyTopic, "a/+");
    assert.equal(error.id, "t");

    const controller = new AbortController();
    const aborted = tracker.wait("a", {
      topic: "q/x",
      replyFilter: "a",
      timeoutMs: 50,
      signal: controller.signal,
    }).catch((e: Error) => e);
    controller.abort();
    assert.match(((await aborted) as Error).message, /aborted/);

    const closed = tracker.wait("c", { topic: "q", replyFilter: "a", timeoutMs: 50 }).catch((
      e: Error,
    ) => e);
    tracker.rejectAll(new Error("closed"));
    assert.equal(((await closed) as Error).message, "closed");
    assert.equal(tracker.size, 0);
  } finally {
    clock.uninstall();
  }
});

Deno.test("requests: one reply listener per filter; a failed one is retried", async () => {
  const tracker = new RequestTracker();
  let calls = 0;
  await assert.rejects(tracker.listener("f", () => (calls++, Promise.reject(new Error("no")))));
  await tracker.listener("f", () => (calls++, Promise.resolve()));
  await tracker.listener("f", () => (calls++, Promise.resolve()));
  assert.equal(calls, 2);
});

Deno.test("requests: the reply filter fills the params when given, else uses wildcards", () => {
  assert.equal(replyFilterOf(topics.systemHealth, { client_id: "x" }), "system/health/x");
  assert.equal(replyFilterOf(topics.systemHealth, undefined), "system/health/+");
});
