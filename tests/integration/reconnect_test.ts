import assert from "node:assert/strict";
import { brokerKind, freePort, startBroker } from "../helpers/broker.ts";
import { drainMarker } from "../helpers/marker.ts";
import { collect, rawClient, sleep, testClient as client, waitFor } from "../helpers/wait.ts";

Deno.test("broker killed and restarted: reconnect, resubscribe once, flow again, health ready", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url, { enableHealth: true, clientId: "tars-reconnect" });
  await c.connect();
  const got: string[] = [];
  await c.subscribe("rc/a", (p: { v: string }) => {
    got.push(`a:${p.v}`);
  }, { wire: "json", qos: 1 });
  await c.subscribe("rc/+", (p: { v: string }) => {
    got.push(`+:${p.v}`);
  }, { wire: "json", qos: 1 });
  await c.subscribe("rc/a", (p: { v: string }) => {
    got.push(`a2:${p.v}`);
  }, { wire: "json", qos: 0 });
  await broker.kill();
  await waitFor(() => !c.connected, "the client saw the loss");
  await sleep(300); // a few failed attempts
  await broker.start();
  await waitFor(() => c.connected, "reconnected", 10_000);
  const m = c.metrics();
  assert.equal(m.reconnects, 1);
  // rc/a, rc/+ and the client's own health topic: each restored exactly once
  assert.equal(m.subscriptionsRestored, 3);
  await using raw = await rawClient(broker.url);
  await raw.publishAsync("rc/a", JSON.stringify({ v: "1" }), { qos: 1 });
  await waitFor(() => got.length === 3, "all three handlers ran");
  // Once all three handlers have the marker (same topic and QoS), no second copy can follow.
  await drainMarker(
    got,
    (v) => raw.publishAsync("rc/a", JSON.stringify({ v }), { qos: 1 }),
    (entry, marker) => entry.endsWith(`:${marker}`),
    { what: "the marker in all three handlers" },
  );
  assert.deepEqual(got.sort(), ["+:1", "a2:1", "a:1"]);
  const health = await collect(raw, c.healthTopic);
  await waitFor(() => health.length > 0, "retained health");
  assert.equal(JSON.parse(health[health.length - 1].text).data.event, "ready");
});

Deno.test({
  name: "kill -9 of a client process: its last will says lost",
  async fn() {
    await using broker = await startBroker();
    await using watcher = await rawClient(broker.url);
    const seen = await collect(watcher, "system/health/tars-doomed");
    // By hand, not spawnService: health_client.ts is a bare client, not a service of ops/services.ts.
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../helpers/health_client.ts", import.meta.url).pathname],
      env: { MQTT_URL: broker.url, MQTT_CLIENT_ID: "tars-doomed", MQTT_KEEPALIVE: "1" },
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitFor(() => seen.some((m) => m.text.includes('"ready"')), "the child is ready", 15_000);
    child.kill("SIGKILL");
    await child.status;
    await waitFor(() => seen.some((m) => m.text.includes('"lost"')), "the will arrived", 10_000);
    const will = JSON.parse(seen.find((m) => m.text.includes('"lost"'))!.text);
    assert.equal(will.type, "health.status");
    assert.equal(will.data.ok, false);
  },
});

Deno.test({
  name: "QoS 1 with a persistent session loses nothing across a graceful broker restart",
  ignore: brokerKind() === "embedded",
  async fn() {
    await using broker = await startBroker({ persistence: true });
    const subId = `test-persist-${crypto.randomUUID().slice(0, 6)}`;
    await using sub = client(broker.url, { clientId: subId, cleanSession: false });
    await using pub = client(broker.url, { cleanSession: false });
    await sub.connect();
    await pub.connect();
    const got = new Set<number>();
    await sub.subscribe("persist/t", (p: { n: number }) => {
      got.add(p.n);
    }, { wire: "json", qos: 1 });
    const sends: Promise<void>[] = [];
    for (let n = 0; n < 300; n++) {
      sends.push(pub.publishJson("persist/t", { n }, { qos: 1 }));
      if (n === 100) await sub.disconnect(); // the broker must queue for the offline session
      if (n === 150) await broker.restart(); // graceful: mosquitto saves its state
      if (n % 20 === 0) await sleep(5);
    }
    await sub.connect();
    await Promise.all(sends);
    await waitFor(() => got.size === 300, `all 300 arrived (got ${got.size})`, 20_000);
  },
});

Deno.test({
  name: "watchdog: a stalled broker forces a reconnect, which succeeds when it recovers",
  ignore: brokerKind() === "embedded",
  async fn() {
    await using broker = await startBroker();
    await using c = client(broker.url, {
      enableHeartbeat: true,
      heartbeatInterval: 1,
      keepalive: 60,
      connectTimeoutMs: 1000,
    });
    await c.connect();
    await broker.pause();
    await waitFor(() => c.metrics().watchdogResets === 1, "the watchdog fired", 8000);
    // the socket is destroyed at once; its close event (state change) follows asynchronously
    await waitFor(() => !c.connected, "the client dropped the stalled connection", 1000);
    await broker.resume();
    await waitFor(() => c.connected, "reconnected after the broker recovered", 10_000);
    assert.ok(c.metrics().reconnects >= 1);
  },
});

Deno.test({
  name: "a broker that refuses the credentials rejects connect() at once, password redacted",
  ignore: brokerKind() === "embedded",
  async fn() {
    await using broker = await startBroker({ extraConfig: ["allow_anonymous false"] });
    const url = broker.url.replace("mqtt://", "mqtt://tars:hunter2@");
    await using c = client(url);
    const started = Date.now();
    await assert.rejects(() => c.connect(), (error: Error) => {
      assert.match(error.message, /refused the connection/);
      assert.match(error.message, /MQTT_URL/);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
    assert.ok(Date.now() - started < 3_000, "no retry loop on refused credentials");
    assert.equal(c.state, "idle");
  },
});

Deno.test("connect() to a broker that is not there retries, then times out with advice", async () => {
  const url = `mqtt://tars:hunter2@127.0.0.1:${freePort()}`;
  await using c = client(url);
  await assert.rejects(() => c.connect({ timeoutMs: 800 }), (error: Error) => {
    assert.match(error.message, /within 800 ms/);
    assert.match(error.message, /Is the broker running/);
    assert.doesNotMatch(error.message, /hunter2/);
    return true;
  });
  await c.disconnect();
  assert.equal(c.state, "idle");
});

Deno.test("connect() keeps retrying until the broker comes up", async () => {
  await using broker = await startBroker();
  await broker.stop();
  await using c = client(broker.url);
  const connected = c.connect();
  await sleep(700); // real time: several refused attempts (no broker, so no marker)
  assert.equal(c.connected, false);
  await broker.start();
  await connected;
  assert.equal(c.connected, true);
  assert.equal(c.metrics().reconnects, 0, "a first connect is not a reconnect");
});

Deno.test("onStateChange: a listener sees connect, loss, reconnect and close, in order, until removed", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  const seen: string[] = [];
  const off = c.onStateChange((state, previous) => {
    seen.push(`${previous}>${state}`);
  });
  c.onStateChange(() => {
    throw new Error("a broken listener"); // logged; the others still run
  });
  await c.connect();
  assert.deepEqual(seen, ["idle>connecting", "connecting>connected"]);
  await broker.kill();
  await waitFor(() => seen.includes("connected>reconnecting"), "the loss was reported");
  assert.equal(c.connected, false);
  await broker.start();
  await waitFor(() => c.connected, "reconnected", 10_000);
  // Reported once the subscriptions are back, i.e. when `connected` is true again.
  assert.equal(seen.at(-1), "reconnecting>connected");
  assert.ok(!seen.slice(2, -1).includes("reconnecting>connected"), seen.join(", "));
  await c.disconnect();
  assert.deepEqual(seen.slice(-2), ["connected>closing", "closing>idle"]);
  off();
  const before = seen.length;
  await c.connect();
  assert.equal(seen.length, before, "a removed listener is not called");
});
