import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError, MqttClient, MqttClientConfig } from "../../core/mod.ts";
import { readMqttTlsFiles } from "../../core/config/mqtt_config.ts";

const TLS_URL = "mqtts://broker.example:8883";

Deno.test("MQTT TLS config: the three file variables are read from env", () => {
  const config = MqttClientConfig.fromEnv({
    MQTT_URL: TLS_URL,
    MQTT_CLIENT_ID: "tars-router",
    MQTT_CA_FILE: "/etc/tars/ca.crt",
    MQTT_CERT_FILE: "/etc/tars/router.crt",
    MQTT_KEY_FILE: "/etc/tars/router.key",
  });
  assert.equal(config.caFile, "/etc/tars/ca.crt");
  assert.equal(config.certFile, "/etc/tars/router.crt");
  assert.equal(config.keyFile, "/etc/tars/router.key");
  const plain = MqttClientConfig.fromEnv({ MQTT_CLIENT_ID: "tars-router" });
  assert.ok(!("caFile" in plain) && !("certFile" in plain) && !("keyFile" in plain));
});

Deno.test("MQTT TLS config: cert without key, and TLS files with a plain mqtt:// URL, are errors", () => {
  assert.throws(
    () =>
      MqttClientConfig.fromEnv({
        MQTT_URL: TLS_URL,
        MQTT_CLIENT_ID: "x",
        MQTT_CERT_FILE: "/c.crt",
      }),
    (e: unknown) =>
      e instanceof ConfigError && /MQTT_KEY_FILE="": expected a PEM file/.test(e.message),
  );
  assert.throws(
    () =>
      MqttClientConfig.fromEnv({
        MQTT_URL: "mqtt://u:secret@127.0.0.1:1883",
        MQTT_CLIENT_ID: "x",
        MQTT_CA_FILE: "/ca.crt",
      }),
    (e: unknown) =>
      e instanceof ConfigError && /MQTT_URL=.*mqtts:\/\/ or wss:\/\//.test(e.message) &&
      !e.message.includes("secret"),
  );
});

Deno.test("MQTT TLS config: an unreadable or non-PEM file is a ConfigError that says what to set", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const notPem = join(dir, "ca.txt");
    await Deno.writeTextFile(notPem, "hello");
    const missing = join(dir, "missing.crt");
    const config = MqttClientConfig.parse({ url: TLS_URL, clientId: "x", caFile: missing });
    assert.throws(
      () => readMqttTlsFiles(config),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes(`Cannot read MQTT_CA_FILE ${missing}: `) &&
        /Set MQTT_CA_FILE to the PEM certificate of the CA/.test(e.message),
    );
    // The client reads the files when it is created, so a service stops with exit 78.
    assert.throws(
      () => new MqttClient({ url: TLS_URL, clientId: "x", caFile: notPem }),
      (e: unknown) => e instanceof ConfigError && /MQTT_CA_FILE=.*has no PEM block/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MQTT TLS config: every service may read the TLS files wherever they are", async () => {
  // MQTT_CA_FILE / MQTT_CERT_FILE / MQTT_KEY_FILE can be anywhere (e.g. /etc/tars/tls/): a
  // service whose --allow-read is narrowed to some folders must list where those live.
  const { serviceTable } = await import("../../ops/services.ts");
  const { serviceNames } = await import("../../core/mod.ts");
  for (const name of serviceNames) {
    assert.ok(serviceTable[name].permissions.includes("--allow-read"), name);
  }
});
