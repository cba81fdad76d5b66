/** core/mqtt/registry.ts: subscription bookkeeping without a broker. */
import assert from "node:assert/strict";
import { SubscriptionRegistry } from "../../core/mqtt/registry.ts";

Deno.test("registry: matching follows the filters, in registration order, and sees changes", () => {
  const registry = new SubscriptionRegistry<{ filter: string; name: string }>();
  const a = { filter: "stt/+", name: "a" };
  const b = { filter: "#", name: "b" };
  registry.add(a);
  registry.add(b);
  assert.deepEqual(registry.matching("stt/final").map((r) => r.name), ["a", "b"]);
  assert.deepEqual(registry.matching("tts/say").map((r) => r.name), ["b"]);
  registry.delete(b);
  assert.deepEqual(registry.matching("stt/final").map((r) => r.name), ["a"]); // cache cleared
  assert.deepEqual([...registry].map((r) => r.name), ["a"]);
});

Deno.test("registry: a filter is subscribed once per QoS raise, and restored when the broker lacks it", () => {
  const registry = new SubscriptionRegistry<{ filter: string }>();
  assert.equal(registry.want("a/b", 0), true);
  assert.equal(registry.want("a/b", 0), false);
  assert.equal(registry.want("a/b", 1), true);
  assert.equal(registry.want("a/b", 0), false);
  assert.deepEqual(registry.missing(), { "a/b": { qos: 1 } });
  registry.subscribed("a/b", 1);
  assert.deepEqual(registry.missing(), {});
  registry.brokerForgot(); // a new session
  assert.deepEqual(registry.missing(), { "a/b": { qos: 1 } });
});

Deno.test("registry: release forgets a filter only when no registration uses it", () => {
  const registry = new SubscriptionRegistry<{ filter: string }>();
  const one = { filter: "x/#" };
  const two = { filter: "x/#" };
  registry.add(one);
  registry.add(two);
  registry.want("x/#", 1);
  registry.subscribed("x/#", 1);
  registry.delete(one);
  assert.equal(registry.release("x/#"), false); // `two` still uses it
  assert.deepEqual(registry.missing(), {});
  registry.delete(two);
  assert.equal(registry.release("x/#"), true); // the broker had it: unsubscribe
  assert.equal(registry.release("x/#"), false);
  assert.equal(registry.want("x/#", 1), true); // wanted anew
});
