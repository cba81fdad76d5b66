/**
 * Issue #18 items 1-3: subscription groups, `ignoreRetained`, `onInvalid` and
 * `publishDetached`, against a real Mosquitto. "Nothing happened" is proven with a marker
 * message published after the one that must not arrive, never with a sleep.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { topics } from "../../core/contracts/topics.ts";
import type { InvalidMessage } from "../../core/mqtt/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import { rawClient, testClient as client, waitFor } from "../helpers/wait.ts";

const Text = z.strictObject({ text: z.string() });

Deno.test("group: close() unsubscribes everything subscribed through it, and only that", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  const got: string[] = [];
  const group = c.group();
  await group.subscribe("g/a", (p: { text: string }) => void got.push(`a:${p.text}`), {
    wire: "json",
  });
  await group.subscribeRaw("g/raw", (bytes) => void got.push(`raw:${bytes.byteLength}`));
  await group.subscribe(topics.ttsSay, (say) => void got.push(`say:${say.text}`));
  await c.subscribe("g/marker", (p: { text: string }) => void got.push(`marker:${p.text}`), {
    wire: "json",
  });
  assert.equal(group.size, 3);
  await using raw = await rawClient(broker.url);
  await raw.publishAsync("g/a", '{"text":"1"}', { qos: 1 });
  await raw.publishAsync("g/raw", "xyz", { qos: 1 });
  await c.publishEvent(topics.ttsSay, { text: "2" });
  await waitFor(() => got.length === 3, "the three group handlers");

  await group.close();
  assert.equal(group.size, 0);
  assert.equal(group.closed, true);
  await raw.publishAsync("g/a", '{"text":"late"}', { qos: 1 });
  await raw.publishAsync("g/raw", "late", { qos: 1 });
  await c.publishEvent(topics.ttsSay, { text: "late" });
  await raw.publishAsync("g/marker", '{"text":"m"}', { qos: 1 });
  await waitFor(() => got.includes("marker:m"), "the marker outside the group");
  assert.deepEqual(got.sort(), ["a:1", "marker:m", "raw:3", "say:2"]);
  await assert.rejects(group.subscribe("g/b", () => {}), /closed subscription group/);
  await group.close(); // idempotent
});

Deno.test("group: a subscription unsubscribed by hand leaves the group", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  const group = c.group();
  const one = await group.subscribe("h/1", () => {});
  await group.subscribe("h/2", () => {});
  await one.unsubscribe();
  assert.equal(group.size, 1);
  await group.close();
  assert.equal(group.size, 0);
});

Deno.test("ignoreRetained: a retained copy never reaches the handler; a live one does", async () => {
  await using broker = await startBroker();
  await using raw = await rawClient(broker.url);
  await raw.publishAsync("r/cmd", '{"text":"stale"}', { qos: 1, retain: true });
  await using c = client(broker.url);
  await c.connect();
  const got: Array<{ text: string; retained: boolean }> = [];
  const invalid: string[] = [];
  await c.subscribe("r/cmd", (p: { text: string }, ctx) => {
    got.push({ text: p.text, retained: ctx.retained });
  }, { wire: "json", schema: Text, ignoreRetained: true, onInvalid: (t) => invalid.push(t) });
  // A second subscriber of the same filter without the option still sees the retained copy.
  const all: boolean[] = [];
  await c.subscribe("r/#", (_p, ctx) => void all.push(ctx.retained), { wire: "json" });
  await waitFor(() => all.includes(true), "the retained copy for the other subscriber");
  await raw.publishAsync("r/cmd", '{"text":"live"}', { qos: 1 });
  await waitFor(() => got.length === 1, "the live message");
  assert.deepEqual(got, [{ text: "live", retained: false }]);
  assert.deepEqual(invalid, []);
  await raw.publishAsync("r/cmd", "", { qos: 1, retain: true }); // clear the retained copy
});

Deno.test("onInvalid: called with topic, reason and details for each rejected message", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  const got: string[] = [];
  const invalid: Array<{ topic: string; reason: string; message: InvalidMessage }> = [];
  await c.subscribe("v/+", (p: { text: string }) => void got.push(p.text), {
    schema: Text,
    maxBytes: 200,
    onInvalid: (topic, reason, message) => invalid.push({ topic, reason, message }),
  });
  await using raw = await rawClient(broker.url);
  const envelope = (data: unknown) =>
    JSON.stringify({ id: "i1", type: "t", ts: 1, source: "s", data });
  await raw.publishAsync("v/json", "not json", { qos: 1 });
  await raw.publishAsync("v/bare", '{"text":"no envelope"}', { qos: 1 });
  await raw.publishAsync("v/schema", envelope({ text: 7, request_id: "r1" }), { qos: 1 });
  await raw.publishAsync("v/big", envelope({ text: "x".repeat(300) }), { qos: 1 });
  await raw.publishAsync("v/ok", envelope({ text: "marker" }), { qos: 1 });
  await waitFor(() => got.includes("marker"), "the marker");
  assert.deepEqual(invalid.map((i) => [i.topic, i.message.kind]), [
    ["v/json", "not JSON"],
    ["v/bare", "not an envelope"],
    ["v/schema", "schema"],
    ["v/big", "oversized"],
  ]);
  assert.match(invalid[2].reason, /^schema: text: /);
  assert.deepEqual(invalid[2].message.data, { text: 7, request_id: "r1" });
  assert.equal(invalid[3].message.data, undefined);
  assert.ok(invalid[3].message.size > 200);
  assert.equal(c.metrics().invalid, 3);
  assert.equal(c.metrics().oversized, 1);
});

Deno.test("onInvalid: a hook that throws is logged and counted; dispatch carries on", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  const got: string[] = [];
  await c.subscribe("w/x", (p: { text: string }) => void got.push(p.text), {
    wire: "json",
    schema: Text,
    onInvalid: () => {
      throw new Error("hook bug");
    },
  });
  await using raw = await rawClient(broker.url);
  await raw.publishAsync("w/x", '{"text":1}', { qos: 1 });
  await raw.publishAsync("w/x", '{"text":"marker"}', { qos: 1 });
  await waitFor(() => got.includes("marker"), "the marker");
  assert.equal(c.metrics().handlerErrors, 1);
});

Deno.test("publishDetached: delivers like publishEvent, never rejects, counts and reports failures", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  const errors: Error[] = [];
  // Not connected yet: fails, but neither throws nor rejects.
  c.publishDetached(topics.ttsSay, { text: "too early" }, { onError: (e) => errors.push(e) });
  await waitFor(() => errors.length === 1, "the not-connected failure");
  assert.match(errors[0].message, /not connected/);
  await c.connect();
  const got: Array<{ text: string; id: string | null }> = [];
  await c.subscribe(
    topics.ttsSay,
    (say, ctx) => void got.push({ text: say.text, id: ctx.correlationId }),
  );
  // Invalid data: counted, reported, no exception escapes.
  c.publishDetached(topics.ttsSay, { text: 5 } as never, { onError: (e) => errors.push(e) });
  c.publishDetached(topics.ttsSay, { text: "ok" }, { correlationId: "d".repeat(32) });
  await waitFor(() => got.length === 1 && errors.length === 2, "the good one and the bad one");
  assert.deepEqual(got, [{ text: "ok", id: "d".repeat(32) }]);
  assert.match(errors[1].message, /Invalid payload for tts\/say/);
  assert.equal(c.metrics().detachedFailed, 2);
  // A failing onError hook does not escape either.
  c.publishDetached(topics.ttsSay, { text: 6 } as never, {
    onError: () => {
      throw new Error("hook bug");
    },
  });
  c.publishDetached(topics.ttsSay, { text: "marker" });
  await waitFor(() => got.length === 2, "the marker");
  assert.equal(c.metrics().detachedFailed, 3);
});
