/**
 * TLS to a broker with a private CA: a CA, a broker certificate and a client certificate are
 * made with `openssl` in a temp dir, Mosquitto gets TLS listeners on loopback, and
 * `MqttClient` connects with `mqtts://` and `MQTT_CA_FILE` (plus `MQTT_CERT_FILE` /
 * `MQTT_KEY_FILE` where the broker requires a client certificate). Without the CA, or without
 * the client certificate, `connect()` fails at once with an error that says which variable to
 * set.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { MqttClient } from "../../core/mod.ts";
import { brokerKind, freePort, startBroker, type TestBroker } from "../helpers/broker.ts";
import { waitFor } from "../helpers/wait.ts";

const mosquittoOnly = brokerKind() !== "mosquitto";

async function openssl(...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
    .output();
  assert.ok(out.success, `openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

interface Pki {
  dir: string;
  ca: string;
  brokerCert: string;
  brokerKey: string;
  clientCert: string;
  clientKey: string;
}

/** A private CA, a broker certificate for 127.0.0.1/localhost and a client certificate. */
async function makePki(): Promise<Pki> {
  const dir = await Deno.makeTempDir({ prefix: "tars-tls-" });
  const p = (name: string) => join(dir, name);
  await openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=tars-test-ca",
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.crt"),
  );
  await Deno.writeTextFile(p("broker.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  for (const [name, cn, ext] of [["broker", "localhost", true], ["client", "router", false]]) {
    await openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${cn}`,
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.csr`),
    );
    await openssl(
      "x509",
      "-req",
      "-in",
      p(`${name}.csr`),
      "-CA",
      p("ca.crt"),
      "-CAkey",
      p("ca.key"),
      "-CAcreateserial",
      "-days",
      "1",
      ...(ext ? ["-extfile", p("broker.ext")] : []),
      "-out",
      p(`${name}.crt`),
    );
  }
  return {
    dir,
    ca: p("ca.crt"),
    brokerCert: p("broker.crt"),
    brokerKey: p("broker.key"),
    clientCert: p("client.crt"),
    clientKey: p("client.key"),
  };
}

/** Mosquitto with a TLS listener (`tlsPort`) and one that requires a client cert (`mtlsPort`). */
async function tlsBroker(pki: Pki) {
  const tlsPort = freePort();
  const mtlsPort = freePort();
  const tls = [`cafile ${pki.ca}`, `certfile ${pki.brokerCert}`, `keyfile ${pki.brokerKey}`];
  const broker: TestBroker = await startBroker({
    extraConfig: [
      `listener ${tlsPort} 127.0.0.1`,
      ...tls,
      `listener ${mtlsPort} 127.0.0.1`,
      ...tls,
      "require_certificate true",
    ],
  });
  return { broker, tlsPort, mtlsPort };
}

function client(url: string, env: Record<string, string> = {}): MqttClient {
  return MqttClient.fromEnv({
    defaults: { clientId: `test-tls-${crypto.randomUUID().slice(0, 6)}` },
  }, {
    MQTT_URL: url,
    MQTT_RECONNECT_MIN_DELAY: "0.1",
    MQTT_RECONNECT_MAX_DELAY: "0.5",
    ...env,
  });
}

/** Publishes on `topic` and waits for the message to come back through the broker. */
async function roundTrip(c: MqttClient, topic: string): Promise<void> {
  const got: string[] = [];
  await c.subscribe(topic, (p: { n: number }) => {
    got.push(String(p.n));
  }, { wire: "json", qos: 1 });
  await c.publishJson(topic, { n: 1 }, { qos: 1 });
  await waitFor(() => got.includes("1"), `the message on ${topic} came back`);
}

Deno.test({
  name: "TLS: mqtts:// with MQTT_CA_FILE connects to a broker with a private CA",
  ignore: mosquittoOnly,
  async fn() {
    const pki = await makePki();
    try {
      const { broker, tlsPort } = await tlsBroker(pki);
      await using _b = broker;
      for (const host of ["127.0.0.1", "localhost"]) {
        await using c = client(`mqtts://${host}:${tlsPort}`, { MQTT_CA_FILE: pki.ca });
        await c.connect({ timeoutMs: 5_000 });
        await roundTrip(c, `tls/${host}`);
      }
    } finally {
      await Deno.remove(pki.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "TLS: without MQTT_CA_FILE the private CA's broker is refused with a clear error",
  ignore: mosquittoOnly,
  async fn() {
    const pki = await makePki();
    try {
      const { broker, tlsPort } = await tlsBroker(pki);
      await using _b = broker;
      await using c = client(`mqtts://127.0.0.1:${tlsPort}`);
      // A certificate problem fails connect() at once (retrying cannot fix it); the timeout only
      // bounds the test (its message would not match).
      await assert.rejects(
        c.connect({ timeoutMs: 10_000 }),
        /Cannot connect to mqtts:\/\/127\.0\.0\.1:\d+: TLS failed \(.*\)\. Set MQTT_CA_FILE/,
      );
      assert.equal(c.state, "idle");
    } finally {
      await Deno.remove(pki.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "TLS: a broker that requires a client certificate: MQTT_CERT_FILE + MQTT_KEY_FILE",
  ignore: mosquittoOnly,
  async fn() {
    const pki = await makePki();
    try {
      const { broker, mtlsPort } = await tlsBroker(pki);
      await using _b = broker;
      const url = `mqtts://127.0.0.1:${mtlsPort}`;
      {
        await using without = client(url, { MQTT_CA_FILE: pki.ca });
        await assert.rejects(
          without.connect({ timeoutMs: 10_000 }),
          /TLS failed .*(client certificate: set MQTT_CERT_FILE and MQTT_KEY_FILE|MQTT_CERT_FILE)/,
        );
      }
      await using c = client(url, {
        MQTT_CA_FILE: pki.ca,
        MQTT_CERT_FILE: pki.clientCert,
        MQTT_KEY_FILE: pki.clientKey,
      });
      await c.connect({ timeoutMs: 5_000 });
      await roundTrip(c, "tls/mutual");
    } finally {
      await Deno.remove(pki.dir, { recursive: true });
    }
  },
});
