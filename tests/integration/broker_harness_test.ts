import assert from "node:assert/strict";
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import { brokerKind, freePort, startBroker } from "../helpers/broker.ts";

const mosquittoOnly = brokerKind() !== "mosquitto";

async function connect(url: string): Promise<MqttClient & AsyncDisposable> {
  const client = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    clientId: `harness-${crypto.randomUUID().slice(0, 8)}`,
    protocolVersion: 4,
  });
  return Object.assign(client, {
    [Symbol.asyncDispose]: async () => {
      await client.endAsync(true);
    },
  });
}

function nextMessage(client: MqttClient, timeoutMs = 5_000): Promise<[string, string, boolean]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off("message", onMessage);
      reject(new Error(`no message within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (topic: string, payload: Uint8Array, packet: mqtt.IPublishPacket) => {
      clearTimeout(timer);
      client.off("message", onMessage);
      resolve([topic, new TextDecoder().decode(payload), packet.retain]);
    };
    client.on("message", onMessage);
  });
}

function closed(client: MqttClient, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no 'close' within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

Deno.test("freePort returns a bindable port", () => {
  const port = freePort();
  assert.ok(port > 0 && port < 65536);
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  listener.close();
});

Deno.test(`${brokerKind()} broker: clients can publish and subscribe`, async () => {
  await using broker = await startBroker();
  assert.equal(broker.kind, brokerKind());
  assert.equal(broker.url, `mqtt://127.0.0.1:${broker.port}`);
  await using sub = await connect(broker.url);
  await using pub = await connect(broker.url);
  await sub.subscribeAsync("harness/t", { qos: 1 });
  const got = nextMessage(sub);
  await pub.publishAsync("harness/t", "hello", { qos: 1 });
  assert.deepEqual(await got, ["harness/t", "hello", false]);
  assert.ok(broker.log().length > 0, "the broker log is captured");
});

Deno.test(`${brokerKind()} broker: restart keeps the port and accepts new clients`, async () => {
  await using broker = await startBroker();
  const port = broker.port;
  {
    await using c = await connect(broker.url);
    const gone = closed(c);
    await broker.restart();
    await gone;
  }
  assert.equal(broker.port, port);
  await using c2 = await connect(broker.url);
  assert.ok(c2.connected);
  await broker.stop();
  await broker.stop(); // idempotent
  await broker.start();
  assert.equal(broker.port, port);
  await using c3 = await connect(broker.url);
  assert.ok(c3.connected);
});

Deno.test({
  name: "mosquitto broker: a retained message survives a graceful restart with persistence",
  ignore: mosquittoOnly,
  async fn() {
    await using broker = await startBroker({ persistence: true });
    {
      await using pub = await connect(broker.url);
      await pub.publishAsync("harness/retained", "kept", { qos: 1, retain: true });
    }
    await broker.restart();
    await using sub = await connect(broker.url);
    const got = nextMessage(sub);
    await sub.subscribeAsync("harness/retained", { qos: 1 });
    assert.deepEqual(await got, ["harness/retained", "kept", true]);
  },
});

Deno.test({
  name: "embedded broker: persistence is refused with a clear error",
  ignore: !mosquittoOnly,
  async fn() {
    await assert.rejects(() => startBroker({ persistence: true }), /persistence needs mosquitto/);
  },
});

Deno.test(`${brokerKind()} broker: kill() drops clients and start() brings it back`, async () => {
  await using broker = await startBroker();
  await using c = await connect(broker.url);
  const gone = closed(c);
  await broker.kill();
  await gone;
  assert.equal(c.connected, false);
  await assert.rejects(() => connect(broker.url));
  await broker.start();
  await using c2 = await connect(broker.url);
  assert.ok(c2.connected);
});

Deno.test({
  name: "mosquitto broker: pause() freezes delivery, resume() releases it",
  ignore: mosquittoOnly,
  async fn() {
    await using broker = await startBroker();
    await using sub = await connect(broker.url);
    await using pub = await connect(broker.url);
    await sub.subscribeAsync("harness/p", { qos: 1 });
    await broker.pause();
    let delivered = false;
    const got = nextMessage(sub, 10_000).then((m) => {
      delivered = true;
      return m;
    });
    pub.publish("harness/p", "late", { qos: 1 });
    // Real time, not a marker: a frozen broker delivers no marker either.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(delivered, false, "nothing is delivered while paused");
    await broker.resume();
    assert.deepEqual(await got, ["harness/p", "late", false]);
  },
});

Deno.test({
  name: "mosquitto broker: dispose of a paused broker still stops it",
  ignore: mosquittoOnly,
  async fn() {
    const broker = await startBroker();
    await broker.pause();
    await broker[Symbol.asyncDispose]();
    await broker[Symbol.asyncDispose](); // idempotent
    await assert.rejects(() => broker.start(), /disposed/);
  },
});

Deno.test({
  name: "embedded broker: pause() is refused with a clear error",
  ignore: !mosquittoOnly,
  async fn() {
    await using broker = await startBroker();
    await assert.rejects(() => broker.pause(), /not supported by the embedded broker/);
  },
});
