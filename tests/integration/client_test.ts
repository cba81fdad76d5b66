import assert from "node:assert/strict";
import { z } from "zod";
import { Envelope } from "../../core/contracts/envelope.ts";
import { registerSecret } from "../../core/log/redact.ts";
import { brokerKind, startBroker } from "../helpers/broker.ts";
import { afterMarker, drainMarker, isCollected } from "../helpers/marker.ts";
import { collect, rawClient, testClient as client, waitFor } from "../helpers/wait.ts";

const Say = z.strictObject({ text: z.string(), utt_id: z.string().nullish() });

Deno.test("publish → handler with envelope, schema and correlation id", async () => {
  await using broker = await startBroker();
  await using a = client(broker.url, { sourceName: "tars-test" });
  await using b = client(broker.url);
  await a.connect();
  await b.connect();
  const got: Array<{ text: string; id: string | null; source?: string }> = [];
  await b.subscribe("t/say", (payload, ctx) => {
    got.push({ text: payload.text, id: ctx.correlationId, source: ctx.envelope?.source });
  }, { schema: Say, qos: 1 });
  const id = await a.publishEvent("t/say", { text: "hello", utt_id: null }, {
    eventType: "tts.say",
    qos: 1,
    correlationId: "c".repeat(32),
  });
  assert.equal(id, "c".repeat(32));
  await waitFor(() => got.length === 1, "the handler got the message");
  assert.deepEqual(got[0], { text: "hello", id: "c".repeat(32), source: "tars-test" });
  assert.equal(a.metrics().published, 1);
  assert.equal(b.metrics().received, 1);
});

Deno.test("wildcards: every matching handler runs once; a/# never matches abc", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  const hits: Record<string, string[]> = {};
  const markers: Record<string, string[]> = {};
  for (const filter of ["a/#", "a/+", "a/b", "+/b", "#", "a/+/#", "$share/g1/a/+"]) {
    hits[filter] = [];
    markers[filter] = [];
    await c.subscribe(filter, (p: { marker?: string }, ctx) => {
      if (p.marker) markers[filter].push(p.marker);
      else hits[filter].push(ctx.topic);
    }, { wire: "json" });
  }
  await using raw = await rawClient(broker.url);
  for (const topic of ["a/b", "abc", "a", "x/b"]) await raw.publishAsync(topic, "{}");
  await waitFor(() => hits["#"].length === 4, "# saw all four");
  // a/b matches every filter: once each handler has the marker, it has had everything before it.
  await afterMarker(
    (marker) => raw.publishAsync("a/b", JSON.stringify({ marker })),
    (marker) => Object.values(markers).every((seen) => seen.includes(marker)),
  );
  assert.deepEqual(hits["a/#"], ["a/b", "a"]);
  assert.deepEqual(hits["a/+"], ["a/b"]);
  assert.deepEqual(hits["a/b"], ["a/b"]);
  assert.deepEqual(hits["+/b"], ["a/b", "x/b"]);
  assert.deepEqual(hits["a/+/#"], ["a/b"]);
  assert.deepEqual(hits["$share/g1/a/+"], ["a/b"]);
});

Deno.test("a throwing handler is isolated: other handlers and later messages still run", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  const good: number[] = [];
  const flaky: number[] = [];
  await c.subscribe("iso/t", (p: { n: number }) => {
    if (p.n === 1) throw new Error("boom");
    flaky.push(p.n);
  }, { wire: "json" });
  await c.subscribe("iso/t", (p: { n: number }) => {
    good.push(p.n);
  }, { wire: "json" });
  for (const n of [1, 2, 3]) await c.publishJson("iso/t", { n }, { qos: 1 });
  await waitFor(() => good.length === 3 && flaky.length === 2, "both handlers ran");
  assert.deepEqual(flaky, [2, 3]);
  assert.equal(c.metrics().handlerErrors, 1);
});

Deno.test("a slow handler never blocks another topic", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url, { shutdownGraceMs: 50 });
  await c.connect();
  let fastAt = 0;
  const release = Promise.withResolvers<void>();
  await c.subscribe("slow/t", () => release.promise, { wire: "json" });
  await c.subscribe("fast/t", () => {
    fastAt = performance.now();
  }, { wire: "json" });
  const start = performance.now();
  await c.publishJson("slow/t", {}, { qos: 1 });
  await c.publishJson("fast/t", {}, { qos: 1 });
  await waitFor(() => fastAt > 0, "the fast handler ran while the slow one was busy", 2000);
  assert.ok(fastAt - start < 1000);
  release.resolve();
});

Deno.test("invalid JSON, non-envelopes and schema violations are rejected and counted", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  const got: string[] = [];
  await c.subscribe("v/t", (p) => {
    got.push(p.text);
  }, { schema: Say });
  await using raw = await rawClient(broker.url);
  const good = Envelope.toJson(Envelope.new({ eventType: "tts.say", data: { text: "ok" } }));
  const extraKey = JSON.stringify({ ...JSON.parse(good), extra: 1 });
  const badData = Envelope.toJson(Envelope.new({ eventType: "tts.say", data: { text: 5 } }));
  for (const payload of ["{nope", '"a string"', '{"text":"raw"}', extraKey, badData, good]) {
    await raw.publishAsync("v/t", payload, { qos: 1 });
  }
  await waitFor(() => got.length === 1, "the valid message arrived");
  const marker = (text: string) =>
    Envelope.toJson(Envelope.new({ eventType: "tts.say", data: { text } }));
  await drainMarker(got, (m) => raw.publishAsync("v/t", marker(m), { qos: 1 }), (t, m) => t === m);
  assert.deepEqual(got, ["ok"]);
  assert.equal(c.metrics().invalid, 5);
  assert.equal(c.connected, true);
});

Deno.test("acceptRaw takes bare JSON objects too and synthesises the envelope", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  const got: Array<[string, string | null]> = [];
  await c.subscribe("ctl/t", (p: { action: string }, ctx) => {
    got.push([p.action, ctx.envelope?.type ?? null]);
  }, { acceptRaw: true, schema: z.strictObject({ action: z.string() }) });
  await using raw = await rawClient(broker.url);
  await raw.publishAsync("ctl/t", '{"action":"pause"}');
  const env = Envelope.new({ eventType: "tts.control", data: { action: "stop" } });
  await raw.publishAsync("ctl/t", Envelope.toJson(env));
  await waitFor(() => got.length === 2, "both forms arrived");
  assert.deepEqual(got, [["pause", "raw"], ["stop", "tts.control"]]);
});

Deno.test("de-duplication drops redelivered envelopes but keeps distinct chunks", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url, { dedupeTtl: 30, dedupeMaxEntries: 100 });
  await c.connect();
  const got: number[] = [];
  await c.subscribe("llm/s", (p: { seq: number }) => {
    got.push(p.seq);
  });
  await using raw = await rawClient(broker.url);
  const id = "d".repeat(32);
  const chunk = (seq: number) =>
    Envelope.toJson({ id, type: "llm.stream", ts: 1, source: "x", data: { id: "r", seq } });
  for (const seq of [1, 2, 2, 3, 1]) await raw.publishAsync("llm/s", chunk(seq), { qos: 1 });
  await waitFor(() => got.length === 3, "three distinct chunks");
  const markerChunk = Envelope.toJson({
    id: "e".repeat(32),
    type: "llm.stream",
    ts: 1,
    source: "x",
    data: { id: "r", seq: 99 },
  });
  await drainMarker(got, () => raw.publishAsync("llm/s", markerChunk, { qos: 1 }), (n) => n === 99);
  assert.deepEqual(got, [1, 2, 3]);
  assert.equal(c.metrics().duplicates, 2);
});

Deno.test("request/response under load, also from inside a handler (no deadlock)", async () => {
  await using broker = await startBroker();
  await using responder = client(broker.url);
  await using requester = client(broker.url);
  await responder.connect();
  await requester.connect();
  const Query = z.strictObject({ text: z.string() });
  const Result = z.strictObject({ answer: z.string() });
  const query = {
    name: "q",
    topic: "rr/query",
    eventType: "rr.query",
    schema: Query,
    wire: "envelope",
    qos: 1,
    retain: false,
    acceptsRaw: false,
    publishers: [],
    subscribers: [],
    description: "test query",
    maxBytes: 65_536,
  } as const;
  const result = {
    ...query,
    name: "r",
    topic: "rr/result",
    eventType: "rr.result",
    schema: Result,
  };
  await responder.subscribe(query, async (q, ctx) => {
    await responder.publishEvent(result, { answer: q.text.toUpperCase() }, {
      correlationId: ctx.correlationId,
    });
  }, { concurrency: 8 });
  const texts = Array.from({ length: 200 }, (_, i) => `q${i}`);
  const answers = await Promise.all(
    texts.map((text) =>
      requester.request(query, { text }, { replyTopic: result, timeoutMs: 10_000 })
    ),
  );
  assert.deepEqual(answers.map((a) => a.answer), texts.map((t) => t.toUpperCase()));
  // A handler that awaits request() while the reply arrives on the same connection.
  const nested: string[] = [];
  await requester.subscribe("rr/trigger", async () => {
    const reply = await requester.request(query, { text: "inner" }, {
      replyTopic: result,
      timeoutMs: 3000,
    });
    nested.push(reply.answer);
  }, { wire: "json" });
  await requester.publishJson("rr/trigger", {}, { qos: 1 });
  await waitFor(() => nested.length === 1, "the nested request finished");
  assert.deepEqual(nested, ["INNER"]);
  await assert.rejects(
    requester.request({ ...query, topic: "rr/nobody" }, { text: "x" }, {
      replyTopic: { ...result, topic: "rr/never" },
      timeoutMs: 200,
    }),
    { name: "RequestTimeoutError" },
  );
  // Placeholders: the request goes to rr/ask/<robot>, the reply comes on rr/answer/<caller>.
  const ask = { ...query, topic: "rr/ask/{robot}" };
  const answer = { ...result, topic: "rr/answer/{caller}" };
  await responder.subscribe(ask, async (q, ctx) => {
    await responder.publishEvent(answer, { answer: `${ctx.topic}:${q.text}` }, {
      correlationId: ctx.correlationId,
      params: { caller: "panel" },
    });
  });
  const placed = await requester.request(ask, { text: "hi" }, {
    params: { robot: "tars" },
    replyTopic: answer,
    replyParams: { caller: "panel" },
    timeoutMs: 5_000,
  });
  assert.equal(placed.answer, "rr/ask/tars:hi");
});

Deno.test("health: retained ready on connect, shutdown on shutdown(), reconnect after shutdown", async () => {
  await using broker = await startBroker();
  const c = client(broker.url, { enableHealth: true, clientId: "tars-health-test" });
  await using watcher = await rawClient(broker.url);
  const seen = await collect(watcher, "system/health/+");
  await c.connect();
  await waitFor(() => seen.some((m) => m.text.includes('"ready"')), "ready published");
  const ready = JSON.parse(seen.find((m) => m.text.includes('"ready"'))!.text);
  assert.equal(ready.type, "health.status");
  assert.equal(ready.source, "tars-health-test");
  assert.equal(ready.data.ok, true);
  await c.shutdown();
  await c.shutdown(); // idempotent
  await waitFor(() => seen.some((m) => m.text.includes('"shutdown"')), "shutdown published");
  assert.equal(c.state, "idle");
  await c.connect(); // no sticky flags
  assert.equal(c.connected, true);
  await c.publishJson("after/shutdown", { ok: 1 }, { qos: 1 });
  await c.shutdown();
  await using late = await rawClient(broker.url);
  const retained = await collect(late, c.healthTopic);
  await waitFor(() => retained.length === 1, "retained health");
  assert.equal(retained[0].retain, true);
  assert.equal(JSON.parse(retained[0].text).data.event, "shutdown");
});

Deno.test("a stale offline on our own health topic is answered with ready", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url, { enableHealth: true, clientId: "tars-stale" });
  await c.connect();
  await using raw = await rawClient(broker.url);
  const lost = Envelope.new({
    eventType: "health.status",
    data: { message_id: "a".repeat(32), ok: false, event: "lost", timestamp: 1 },
  });
  await raw.publishAsync(c.healthTopic, Envelope.toJson(lost), { qos: 1, retain: true });
  await using late = await rawClient(broker.url);
  await waitFor(async () => {
    const got = await collect(late, c.healthTopic);
    await waitFor(() => got.length > 0, "the retained health"); // always one: lost or ready
    await late.unsubscribeAsync(c.healthTopic);
    return got.length > 0 && JSON.parse(got[got.length - 1].text).data.ok === true;
  }, "the retained health is ready again");
});

Deno.test({
  // The subscriber's session must survive the restart, or the publisher may flush its
  // queue before the subscriber has resubscribed: persistence needs Mosquitto.
  name: "offline: QoS 0 is dropped, QoS 1 is delivered after the reconnect",
  ignore: brokerKind() === "embedded",
  async fn() {
    await using broker = await startBroker({ persistence: true });
    await using pub = client(broker.url);
    await using sub = client(broker.url, { cleanSession: false });
    await pub.connect();
    await sub.connect();
    const got: string[] = [];
    await sub.subscribe("off/t", (p: { v: string }) => {
      got.push(p.v);
    }, { wire: "json", qos: 1 });
    await broker.stop();
    await waitFor(() => !pub.connected, "the publisher noticed");
    await pub.publishJson("off/t", { v: "qos0-dropped" }, { qos: 0 });
    const queued = pub.publishJson("off/t", { v: "qos1-kept" }, { qos: 1 });
    assert.equal(pub.metrics().dropped, 1);
    await broker.start();
    await queued;
    await waitFor(() => got.includes("qos1-kept"), "the queued QoS 1 message arrived", 10_000);
    // Same publisher, topic and QoS as the dropped message: had it been sent, it came first.
    await drainMarker(
      got,
      (v) => pub.publishJson("off/t", { v }, { qos: 0 }),
      (v, marker) => v === marker,
    );
    assert.deepEqual(got, ["qos1-kept"]);
  },
});

Deno.test("offline: queueWhenOffline keeps a QoS 0 message until the reconnect", async () => {
  await using broker = await startBroker();
  await using pub = client(broker.url);
  await pub.connect();
  await broker.stop();
  await waitFor(() => !pub.connected, "the publisher noticed");
  const queued = pub.publishJson("off/q0", { v: 1 }, { qos: 0, queueWhenOffline: true });
  assert.equal(pub.metrics().dropped, 0);
  await broker.start();
  await queued;
  assert.equal(pub.metrics().published, 1);
});

Deno.test("metrics: counters are readable and published retained on demand", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url, { clientId: "tars-metrics", enableHealth: true });
  await c.connect();
  await c.subscribe("m/t", () => {}, { wire: "json" });
  await c.publishJson("m/t", { n: 1 }, { qos: 1 });
  await waitFor(() => c.metrics().received >= 1, "the message came back");
  await c.publishMetrics();
  await using raw = await rawClient(broker.url);
  const got = await collect(raw, "system/metrics/tars-metrics");
  await waitFor(() => got.length === 1, "retained metrics");
  const message = JSON.parse(got[0].text);
  assert.equal(got[0].retain, true);
  assert.equal(message.type, "system.metrics");
  assert.equal(message.data.client_id, "tars-metrics");
  assert.ok(message.data.counters.published >= 2, "the health and the test message");
  assert.equal(message.data.counters.received, c.metrics().received);
  for (const key of ["dropped", "invalid", "handlerErrors", "reconnects"]) {
    assert.equal(typeof message.data.counters[key], "number", key);
  }
});

Deno.test("health: a degraded status the client publishes itself is not overwritten", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url, { enableHealth: true, clientId: "tars-degraded" });
  await using watcher = await rawClient(broker.url);
  const seen = await collect(watcher, c.healthTopic);
  await c.connect();
  await c.publishHealth({ ok: false, event: "tts_unavailable", err: "no voice" });
  // The marker is sent by the client, on its health topic, after its own status.
  await drainMarker(
    seen,
    (marker) => c.publishJson(c.healthTopic, { marker }, { qos: 1 }),
    isCollected,
  );
  const events = seen.map((m) => JSON.parse(m.text).data.event);
  assert.deepEqual(events, ["ready", "tts_unavailable"]);
  // a late will from elsewhere is answered with the last status, not a blanket "ready"
  const lost = Envelope.new({
    eventType: "health.status",
    data: { message_id: "b".repeat(32), ok: false, event: "lost", timestamp: 1 },
  });
  await watcher.publishAsync(c.healthTopic, Envelope.toJson(lost), { qos: 1, retain: true });
  await waitFor(() => seen.length === 4, "re-asserted");
  assert.equal(JSON.parse(seen[3].text).data.event, "tts_unavailable");
});

Deno.test("health: an error text is redacted and cut before it reaches the bus", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url, { enableHealth: true, clientId: "tars-leaky" });
  await using watcher = await rawClient(broker.url);
  const seen = await collect(watcher, c.healthTopic);
  await c.connect();
  registerSecret("not-key-shaped-4242");
  await c.publishHealth({
    ok: false,
    event: "stt_error",
    err: `HTTP 401: {"error":"bad key not-key-shaped-4242"} ${"x".repeat(5_000)}`,
  });
  await waitFor(() => seen.length === 2, "the error health");
  const err: string = JSON.parse(seen[1].text).data.err;
  assert.doesNotMatch(err, /not-key-shaped-4242/);
  assert.match(err, /^HTTP 401: .*\[truncated, \d+ chars\]$/);
  assert.ok(err.length < 600, `cut to about 512 characters, got ${err.length}`);
});

Deno.test("a handler past handlerTimeoutMs is aborted, counted, and the next message runs", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  const ran: number[] = [];
  let abortReason: unknown = null;
  await c.subscribe("slow/t", (p: { n: number }, ctx) => {
    if (p.n === 0) {
      ctx.signal.addEventListener("abort", () => abortReason = ctx.signal.reason);
      return new Promise<void>(() => {}); // never settles
    }
    ran.push(p.n);
  }, { wire: "json", qos: 1, handlerTimeoutMs: 150 });
  await c.publishJson("slow/t", { n: 0 }, { qos: 1 });
  await c.publishJson("slow/t", { n: 1 }, { qos: 1 });
  await waitFor(() => ran.includes(1), "the next message ran after the timeout");
  assert.equal(c.metrics().handlerTimeouts, 1);
  assert.equal((abortReason as Error | null)?.name, "HandlerTimeoutError");
});

Deno.test("a payload whose decoding throws is dropped and counted; the client keeps going", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  const got: string[] = [];
  // A schema that throws (not a validation failure) stands in for any decoding bug.
  const Touchy = z.object({ text: z.string() }).transform((value) => {
    if (value.text === "boom") throw new Error("decoder bug");
    return value;
  });
  await c.subscribe("touchy/t", (p: { text: string }) => {
    got.push(p.text);
  }, { schema: Touchy, wire: "json" });
  await using raw = await rawClient(broker.url);
  for (const text of ["boom", "after"]) {
    await raw.publishAsync("touchy/t", JSON.stringify({ text }), { qos: 1 });
  }
  await waitFor(() => got.includes("after"), "the message after the bad one");
  assert.deepEqual(got, ["after"]);
  assert.equal(c.metrics().invalid, 1);
});
