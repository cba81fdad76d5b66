/**
 * The shipped broker configs (ops/mosquitto/mosquitto.conf for the robot, mosquitto.compose.conf
 * for compose) are secure as shipped, proven on a real Mosquitto started with each of them
 * (tests/helpers/shipped_mosquitto.ts: only the port and file paths rewritten):
 *
 * - anonymous clients are refused;
 * - a client cannot knock a service off the broker by connecting with its client id (neither
 *   anonymously, nor with a wrong password, nor logged in as another service);
 * - a writer may only publish `audio/pcm/` under its own `{source}`;
 * - a packet larger than `max_packet_size` is refused (its sender disconnected), while the
 *   largest legitimate message still passes.
 *
 * Nothing-happened checks use marker messages sent after the refused one, never a sleep.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqtt from "mqtt";
import { topicList } from "../../core/mod.ts";
import {
  type ShippedConfig,
  type ShippedMosquitto,
  startShippedMosquitto,
} from "../helpers/shipped_mosquitto.ts";
import { waitFor } from "../helpers/wait.ts";

const CONFIGS: readonly ShippedConfig[] = ["mosquitto.conf", "mosquitto.compose.conf"];

function connect(
  broker: ShippedMosquitto,
  options: mqtt.IClientOptions,
): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(broker.url, {
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    protocolVersion: 4,
    ...options,
  });
}

/** A client with `readwrite #` that records every message as `topic payload`. */
async function watcher(broker: ShippedMosquitto, filter = "#") {
  const client = await connect(broker, {
    clientId: "watcher",
    ...broker.login("tars-test-admin"),
  });
  const seen: string[] = [];
  client.on("message", (topic, payload) => seen.push(`${topic} ${payload}`));
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, seen };
}

function maxPacketSize(config: string): number {
  const m = /^max_packet_size (\d+)$/m.exec(config);
  assert.ok(m, "max_packet_size is set");
  return Number(m[1]);
}

for (const name of CONFIGS) {
  Deno.test(`${name}: anonymous clients are refused`, async () => {
    await using broker = await startShippedMosquitto(name);
    await assert.rejects(connect(broker, { clientId: "anyone" }), /Not authorized/);
    await assert.rejects(
      connect(broker, { clientId: "x", username: "router", password: "wrong" }),
      /Not authorized|Bad user name or password/,
    );
  });

  Deno.test(`${name}: nobody else can knock tars-movement off the broker`, async () => {
    await using broker = await startShippedMosquitto(name);
    const { client: admin, seen } = await watcher(broker, "movement/status");
    const movement = await connect(broker, {
      clientId: "tars-movement",
      ...broker.login("movement-service"),
    });
    let movementClosed = false;
    const knockedOff = new Promise<never>((_resolve, reject) => {
      movement.on("close", () => {
        movementClosed = true;
        reject(new Error("movement-service was knocked off the broker"));
      });
    });
    knockedOff.catch(() => {}); // raced below; unhandled only when nothing waits
    try {
      // The knock-off attempts: the same client id without a login, with a wrong password,
      // and logged in as another service (ui-web's password is the most exposed one).
      await assert.rejects(connect(broker, { clientId: "tars-movement" }), /Not authorized/);
      await assert.rejects(
        connect(broker, {
          clientId: "tars-movement",
          username: "movement-service",
          password: "guessed",
        }),
        /Not authorized|Bad user name or password/,
      );
      const attacker = await connect(broker, {
        clientId: "tars-movement",
        ...broker.login("ui-web"),
      });
      // A takeover happens before the broker answers CONNECT: if movement had been knocked off,
      // its marker below could not arrive.
      await attacker.endAsync();
      await Promise.race([
        movement.publishAsync("movement/status", "still here", { qos: 1 }),
        knockedOff,
      ]);
      await Promise.race([
        waitFor(
          () => seen.includes("movement/status still here"),
          "movement-service's marker after the knock-off attempts",
        ),
        knockedOff,
      ]);
      assert.equal(movementClosed, false, "movement-service's connection was closed");
    } finally {
      await movement.endAsync(true);
      await admin.endAsync(true);
    }
  });

  Deno.test(`${name}: a writer may publish audio only under its own {source}`, async () => {
    await using broker = await startShippedMosquitto(name);
    const { client: admin, seen } = await watcher(broker, "audio/pcm/+");
    const ui = await connect(broker, { clientId: "ui-web", ...broker.login("ui-web") });
    const stt = await connect(broker, { clientId: "tars-stt", ...broker.login("stt-worker") });
    try {
      // One client's QoS 1 messages arrive in order: once its own-source marker is seen, the
      // forged one before it had its chance to arrive.
      await ui.publishAsync("audio/pcm/stt-worker", "forged by ui-web", { qos: 1 });
      await ui.publishAsync("audio/pcm/stt", "forged by ui-web", { qos: 1 });
      await ui.publishAsync("audio/pcm/ui-web", "ui marker", { qos: 1 });
      await stt.publishAsync("audio/pcm/ui-web", "forged by stt", { qos: 1 });
      await stt.publishAsync("audio/pcm/stt", "stt marker", { qos: 1 });
      await waitFor(
        () =>
          seen.includes("audio/pcm/ui-web ui marker") && seen.includes("audio/pcm/stt stt marker"),
        "both markers",
      );
      assert.deepEqual(seen.filter((s) => s.includes("forged")), []);
    } finally {
      await Promise.all([ui.endAsync(true), stt.endAsync(true), admin.endAsync(true)]);
    }
  });

  Deno.test(`${name}: a packet over max_packet_size is refused; the largest legitimate passes`, async () => {
    await using broker = await startShippedMosquitto(name);
    const limit = maxPacketSize(broker.config);
    // The limit fits every row of the topic table (its maxBytes, where the table has it) with
    // 64 KiB to spare for the topic and the MQTT header.
    const rowLimits = topicList.map((s) => (s as { maxBytes?: number }).maxBytes ?? 0);
    assert.ok(Math.max(...rowLimits) + 64 * 1024 <= limit, "max_packet_size < a row's maxBytes");
    const { client: admin, seen } = await watcher(broker, "big/+");
    const sizes: Record<string, number> = {};
    admin.on("message", (topic, payload) => sizes[topic] = payload.length);
    try {
      const writer = await connect(broker, {
        clientId: "writer",
        ...broker.login("tars-test-writer"),
      });
      const closed = new Promise<void>((resolve) => writer.once("close", () => resolve()));
      writer.publish("big/over", Buffer.alloc(limit + 1), { qos: 0 });
      await closed; // the broker disconnects the sender of an oversize packet
      await writer.endAsync(true);

      const legit = 16 * 1024 * 1024; // the largest camera/image reply
      const again = await connect(broker, {
        clientId: "writer",
        ...broker.login("tars-test-writer"),
      });
      await again.publishAsync("big/ok", Buffer.alloc(legit), { qos: 1 });
      await waitFor(() => sizes["big/ok"] === legit, "the 16 MiB message", 20_000);
      await again.endAsync(true);
      assert.ok(!("big/over" in sizes), "the oversize packet was delivered");
      assert.ok(!seen.some((s) => s.startsWith("big/over")));
    } finally {
      await admin.endAsync(true);
    }
  });
}

Deno.test("mosquitto.conf: without its password file Mosquitto does not start (fails closed)", async () => {
  await assert.rejects(
    startShippedMosquitto("mosquitto.conf", {
      edit: (config, dir) =>
        config.replace(/^password_file .*$/m, `password_file ${dir}/missing.passwd`),
    }),
    /rejected the config[\s\S]*Unable to open pwfile/,
  );
});
