/**
 * ops/mosquitto/mosquitto.conf is valid for the installed mosquitto (2.0.11): mosquitto is
 * started with the file, only the listener port and the paths of persistence, password file
 * and ACL rewritten (tests/helpers/shipped_mosquitto.ts), and exits at once on any bad line.
 * The commented TLS block is checked switched on too. What the logins, ACL and limits refuse
 * is proven in mosquitto_security_test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import mqtt from "mqtt";
import { freePort } from "../helpers/broker.ts";
import {
  enable,
  giveToMosquitto,
  replaceLine,
  startShippedMosquitto,
} from "../helpers/shipped_mosquitto.ts";

const HOST = "127.0.0.1";

async function publishAndRead(
  url: string,
  options: mqtt.IClientOptions,
  topic: string,
): Promise<string> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
  try {
    const got = new Promise<string>((resolve) => {
      client.once("message", (_t, payload) => resolve(new TextDecoder().decode(payload)));
    });
    await client.subscribeAsync(topic, { qos: 1 });
    await client.publishAsync(topic, "ok", { qos: 1 });
    return await got;
  } finally {
    await client.endAsync(true);
  }
}

Deno.test("mosquitto.conf: mosquitto starts with it, serves v5 and v3.1.1, persists", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tars-mosquitto-conf-" });
  try {
    {
      await using broker = await startShippedMosquitto("mosquitto.conf", { dir });
      const admin = broker.login("tars-test-admin");
      assert.equal(
        await publishAndRead(broker.url, { protocolVersion: 5, ...admin }, "conf/v5"),
        "ok",
      );
      const v4 = await mqtt.connectAsync(broker.url, {
        reconnectPeriod: 0,
        protocolVersion: 4,
        ...admin,
      });
      await v4.publishAsync("conf/retained", "kept", { qos: 1, retain: true });
      await v4.endAsync();
      const status = await broker.stop();
      assert.equal(status.code, 0, broker.log());
      assert.match(broker.log(), /Saving in-memory database/);
    }
    const db = await Deno.stat(join(dir, "data", "mosquitto.db"));
    assert.ok(db.isFile, "the database was written to persistence_location");
    await using again = await startShippedMosquitto("mosquitto.conf", { dir });
    const sub = await mqtt.connectAsync(again.url, {
      reconnectPeriod: 0,
      ...again.login("tars-monitor"),
    });
    try {
      const got = new Promise<[string, boolean]>((resolve) => {
        sub.once("message", (_t, p, packet) => resolve([p.toString(), packet.retain]));
      });
      await sub.subscribeAsync("conf/retained", { qos: 1 });
      assert.deepEqual(await got, ["kept", true], again.log());
    } finally {
      await sub.endAsync(true);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mosquitto.conf: the TLS listener block is valid when switched on", async () => {
  const tlsPort = freePort();
  await using broker = await startShippedMosquitto("mosquitto.conf", {
    waitPort: tlsPort,
    async edit(config, dir) {
      const key = join(dir, "broker.key");
      const cert = join(dir, "broker.crt");
      const made = await new Deno.Command("openssl", {
        args: [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "1",
          "-subj",
          "/CN=localhost",
          "-addext",
          "subjectAltName=DNS:localhost",
          "-keyout",
          key,
          "-out",
          cert,
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.ok(made.success, new TextDecoder().decode(made.stderr));
      await giveToMosquitto(key, cert);
      config = replaceLine(config, /^#listener 8883 0\.0\.0\.0$/, `listener ${tlsPort} ${HOST}`);
      config = replaceLine(config, /^#cafile /, `cafile ${cert}`);
      config = replaceLine(config, /^#certfile /, `certfile ${cert}`);
      config = replaceLine(config, /^#keyfile /, `keyfile ${key}`);
      return enable(config, "tls_version tlsv1.2");
    },
  });
  const ca = await Deno.readTextFile(join(broker.dir, "broker.crt"));
  const got = await publishAndRead(
    `mqtts://${HOST}:${tlsPort}`,
    { ca, rejectUnauthorized: true, servername: "localhost", ...broker.login("tars-test-admin") },
    "conf/tls",
  );
  assert.equal(got, "ok", broker.log());
});
