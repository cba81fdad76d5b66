/** core/mqtt/dispatch.ts: dispatch to handlers without a broker. */
import assert from "node:assert/strict";
import { z } from "zod";
import { topics } from "../../core/contracts/topics.ts";
import { getLogger } from "../../core/log/logging.ts";
import { RateLimitedLog } from "../../core/log/rate_limited.ts";
import { MessageDeduplicator } from "../../core/mqtt/dedupe.ts";
import { Dispatcher, rawSubscriptionOf, subscriptionOf } from "../../core/mqtt/dispatch.ts";
import { emptyMetrics } from "../../core/mqtt/metrics.ts";

const envelope = (id: string, data: Record<string, unknown>) =>
  new TextEncoder().encode(JSON.stringify({ id, type: "t", ts: 1, source: "s", data }));

function setup(dedupe = false) {
  const metrics = emptyMetrics();
  const dispatcher = new Dispatcher({
    metrics,
    log: getLogger("test", "dispatch"),
    warnings: new RateLimitedLog(),
    dedupe: dedupe ? new MessageDeduplicator({ ttlMs: 10_000, maxEntries: 100 }) : null,
  });
  const seen: Array<{ payload: unknown; topic: string; retained: boolean }> = [];
  const add = (filter: string, options = {}) => {
    const reg = dispatcher.registration(filter, (payload, ctx) => {
      seen.push({ payload, topic: ctx.topic, retained: ctx.retained });
    }, options);
    dispatcher.registry.add(reg);
    return reg;
  };
  return { metrics, dispatcher, seen, add };
}

Deno.test("dispatch: each matching handler gets the decoded message through its queue", async () => {
  const { dispatcher, seen, add, metrics } = setup();
  const a = add("a/+", { schema: z.object({ n: z.number() }) });
  const all = add("#", { wire: "binary" });
  let acked = 0;
  dispatcher.receive(
    { topic: "a/b", payload: envelope("1", { n: 1 }), retain: true },
    () => acked++,
  );
  await a.queue.close(1000);
  await all.queue.close(1000);
  assert.equal(acked, 1);
  assert.equal(metrics.received, 1);
  assert.deepEqual(seen[0], { payload: { n: 1 }, topic: "a/b", retained: true });
  assert.ok(seen[1].payload instanceof Uint8Array);
});

Deno.test("dispatch: invalid and oversized messages are counted, not handled", async () => {
  const { dispatcher, seen, add, metrics } = setup();
  const reg = add("x", { schema: z.object({ n: z.number() }), maxBytes: 100 });
  dispatcher.receive({ topic: "x", payload: envelope("1", { n: "no" }), retain: false }, () => {});
  dispatcher.receive({ topic: "x", payload: "{", retain: false }, () => {});
  dispatcher.receive(
    { topic: "x", payload: envelope("2", { s: "z".repeat(200) }), retain: false },
    () => {},
  );
  await reg.queue.close(1000);
  assert.equal(seen.length, 0);
  assert.equal(metrics.invalid, 2);
  assert.equal(metrics.oversized, 1);
});

Deno.test("dispatch: de-duplication drops the second copy of an envelope", async () => {
  const { dispatcher, seen, add, metrics } = setup(true);
  const reg = add("x");
  dispatcher.receive({ topic: "x", payload: envelope("1", { n: 1 }), retain: false }, () => {});
  dispatcher.receive({ topic: "x", payload: envelope("1", { n: 1 }), retain: false }, () => {});
  await reg.queue.close(1000);
  assert.equal(seen.length, 1);
  assert.equal(metrics.duplicates, 1);
});

Deno.test("dispatch: a bad maxBytes is refused when registering", () => {
  const { add } = setup();
  assert.throws(() => add("x", { maxBytes: 0 }), /positive integer/);
});

Deno.test("subscription options: a table row brings its filter, schema, wire, QoS and limit", () => {
  const { filter, register } = subscriptionOf(topics.systemHealth, {});
  assert.equal(filter, "system/health/+");
  assert.equal(register.wire, topics.systemHealth.wire);
  assert.equal(register.qos, topics.systemHealth.qos);
  assert.equal(register.maxBytes, topics.systemHealth.maxBytes);
  assert.equal(
    subscriptionOf(topics.systemHealth, { params: { client_id: "a" } }).filter,
    "system/health/a",
  );
  const raw = rawSubscriptionOf("audio/#", {});
  assert.deepEqual([raw.filter, raw.register.wire, raw.register.qos], ["audio/#", "binary", 0]);
});
