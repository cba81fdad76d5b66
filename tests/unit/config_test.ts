import assert from "node:assert/strict";
import { ConfigError, envVar, parseEnv } from "../../core/config/env.ts";
import { MqttClientConfig, parseMqttUrl, redactUrl } from "../../core/config/mqtt_config.ts";

Deno.test("MqttClientConfig.fromEnv: py-tars defaults, MQTT_URL without a password", () => {
  const c = MqttClientConfig.fromEnv({ MQTT_CLIENT_ID: "tars-stt" });
  assert.deepEqual(c, {
    url: "mqtt://127.0.0.1:1883",
    clientId: "tars-stt",
    sourceName: "tars-stt",
    keepalive: 60,
    enableHealth: false,
    enableHeartbeat: false,
    heartbeatInterval: 5,
    dedupeTtl: 0,
    dedupeMaxEntries: 0,
    reconnectMinDelay: 0.5,
    reconnectMaxDelay: 5,
    cleanSession: true,
  });
});

Deno.test("MqttClientConfig.fromEnv reads every variable; booleans take 1/true/yes/on", () => {
  const c = MqttClientConfig.fromEnv({
    MQTT_URL: "wss://tars:pw@broker.local:8884/mqtt",
    MQTT_CLIENT_ID: "tars-llm",
    MQTT_SOURCE_NAME: "llm-worker",
    MQTT_KEEPALIVE: "30",
    MQTT_ENABLE_HEALTH: "1",
    MQTT_ENABLE_HEARTBEAT: "ON",
    MQTT_HEARTBEAT_INTERVAL: "2.5",
    MQTT_DEDUPE_TTL: "30",
    MQTT_DEDUPE_MAX_ENTRIES: "2048",
    MQTT_RECONNECT_MIN_DELAY: "1",
    MQTT_RECONNECT_MAX_DELAY: "30",
    MQTT_CLEAN_SESSION: "no",
  });
  assert.equal(c.sourceName, "llm-worker");
  assert.equal(c.enableHealth, true, "py-tars only took 'true'; we take 1 too");
  assert.equal(c.enableHeartbeat, true);
  assert.equal(c.heartbeatInterval, 2.5);
  assert.equal(c.dedupeMaxEntries, 2048);
  assert.equal(c.cleanSession, false);
  assert.equal(c.reconnectMaxDelay, 30);
});

Deno.test("bad values fail at once with every variable named, password hidden", () => {
  const env = {
    MQTT_URL: "http://tars:hunter2@broker:1883",
    MQTT_CLIENT_ID: "tars/router",
    MQTT_KEEPALIVE: "0",
    MQTT_ENABLE_HEALTH: "maybe",
    MQTT_HEARTBEAT_INTERVAL: "0.5",
    MQTT_DEDUPE_TTL: "30",
    MQTT_RECONNECT_MIN_DELAY: "5",
    MQTT_RECONNECT_MAX_DELAY: "1",
  };
  let error: unknown;
  try {
    MqttClientConfig.fromEnv(env);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ConfigError);
  const names = error.issues.map((i) => i.variable).sort();
  assert.deepEqual(names, [
    "MQTT_CLIENT_ID",
    "MQTT_DEDUPE_MAX_ENTRIES",
    "MQTT_ENABLE_HEALTH",
    "MQTT_HEARTBEAT_INTERVAL",
    "MQTT_KEEPALIVE",
    "MQTT_RECONNECT_MAX_DELAY",
    "MQTT_URL",
  ]);
  assert.ok(!error.message.includes("hunter2"), "the password never appears");
  assert.match(error.message, /MQTT_URL="http:\/\/tars:\*\*\*@broker:1883"/);
  assert.match(error.message, /MQTT_KEEPALIVE="0": expected an integer from 1 to 3600/);
  assert.match(error.message, /MQTT_ENABLE_HEALTH="maybe": expected a boolean/);
  assert.match(error.message, /MQTT_DEDUPE_MAX_ENTRIES="0": expected an integer > 0/);
});

Deno.test("MqttClientConfig.parse validates the constructor path the same way", () => {
  assert.throws(
    () => MqttClientConfig.parse({ clientId: "x", url: "mqtt://a:secret@h", keepalive: 0 }),
    (e: unknown) =>
      e instanceof ConfigError && e.issues[0].variable === "MQTT_KEEPALIVE" &&
      !e.message.includes("secret"),
  );
  assert.throws(
    () => MqttClientConfig.parse({ clientId: "x", dedupeTtl: 5 }),
    /MQTT_DEDUPE_MAX_ENTRIES/,
  );
});

Deno.test("parseMqttUrl: schemes, default ports, credentials", () => {
  assert.deepEqual(parseMqttUrl("mqtt://u:p%40ss@h:1884"), {
    scheme: "mqtt",
    hostname: "h",
    port: 1884,
    path: "/mqtt",
    username: "u",
    password: "p@ss",
  });
  assert.equal(parseMqttUrl("mqtts://h").port, 8883);
  assert.equal(parseMqttUrl("ws://h/ws").path, "/ws");
  assert.equal(parseMqttUrl("wss://h").port, 443);
  assert.throws(() => parseMqttUrl("tcp://h"), /scheme "tcp".*mqtt:\/\//);
  // No host means localhost, as py-tars read `mqtt://:1883`.
  assert.deepEqual(
    [parseMqttUrl("mqtt://:1883"), parseMqttUrl("mqtt://u:p@:1884/x")].map((p) => [
      p.hostname,
      p.port,
      p.username,
    ]),
    [["localhost", 1883, undefined], ["localhost", 1884, "u"]],
  );
  assert.equal(parseMqttUrl("mqtt://").hostname, "localhost");
  assert.throws(() => parseMqttUrl("not a url"), /Invalid MQTT URL/);
  assert.equal(redactUrl("mqtt://tars:pw@h:1883"), "mqtt://tars:***@h:1883");
  assert.equal(redactUrl("mqtt://h:1883"), "mqtt://h:1883");
});

Deno.test("parseEnv: empty means unset; choices, lists and aliases", () => {
  const shape = {
    MODE: envVar.choice("a", ["a", "b"]),
    WORDS: envVar.list(["x"]),
    VOICE: envVar.string("amy"),
  };
  assert.deepEqual(
    parseEnv(shape, { MODE: "B", WORDS: "hey tars| hi ,", VOICE: "" }),
    { MODE: "b", WORDS: ["hey tars", "hi"], VOICE: "amy" },
  );
  assert.deepEqual(
    parseEnv(shape, { PIPER_VOICE: "tars" }, { aliases: { VOICE: ["PIPER_VOICE"] } }).VOICE,
    "tars",
  );
  assert.throws(
    () => parseEnv(shape, { MODE: "c" }, { context: "test config" }),
    /Invalid test config \(1 problem\).*\n {2}MODE="c": expected one of a, b/,
  );
});
