/** core/mqtt/outgoing.ts and connect_options.ts: publish preparation and connect options. */
import assert from "node:assert/strict";
import { DEFAULT_MAX_BYTES } from "../../core/contracts/topic.ts";
import { topics } from "../../core/contracts/topics.ts";
import { MqttClientConfig } from "../../core/config/mqtt_config.ts";
import {
  encodeEvent,
  oversizeProblem,
  resolveTarget,
  topicLimit,
  validateOutgoing,
} from "../../core/mqtt/outgoing.ts";
import {
  fatalConnectionError,
  mqttJsOptions,
  tlsErrorHint,
} from "../../core/mqtt/connect_options.ts";

Deno.test("outgoing: a table row gives topic, QoS, retain and limit; options override", () => {
  const health = resolveTarget(topics.systemHealth, { params: { client_id: "x" } });
  assert.equal(health.topic, "system/health/x");
  assert.equal(health.qos, topics.systemHealth.qos);
  assert.equal(health.retain, topics.systemHealth.retain);
  assert.equal(health.maxBytes, topics.systemHealth.maxBytes);
  const plain = resolveTarget("any/topic", { qos: 1, retain: true });
  assert.deepEqual(plain, {
    topic: "any/topic",
    qos: 1,
    retain: true,
    spec: null,
    maxBytes: DEFAULT_MAX_BYTES,
  });
  assert.throws(() => resolveTarget("bad/+", {}));
  assert.throws(() => resolveTarget(topics.systemHealth, {}), /client_id/);
});

Deno.test("outgoing: topicLimit finds parameterised rows", () => {
  assert.equal(topicLimit("system/health/tars-x"), topics.systemHealth.maxBytes);
  assert.equal(topicLimit("not/in/the/table"), DEFAULT_MAX_BYTES);
});

Deno.test("outgoing: validation fills defaults and says what is wrong", () => {
  const data = validateOutgoing(topics.ttsSay, { text: "hi" }) as Record<string, unknown>;
  assert.equal(typeof data.message_id, "string");
  assert.throws(
    () => validateOutgoing(topics.ttsSay, { text: 1 }),
    /Invalid payload for tts\/say: text/,
  );
});

Deno.test("outgoing: oversizeProblem counts UTF-8 bytes only when it has to", () => {
  assert.equal(oversizeProblem("t", "abc", 9), undefined);
  assert.equal(oversizeProblem("t", "üüü", 6), undefined); // 6 bytes
  assert.match(
    oversizeProblem("t", "üüüü", 6) ?? "",
    /Cannot publish 8 bytes on t: the limit is 6/,
  );
  assert.match(oversizeProblem("t", new Uint8Array(7), 6) ?? "", /7 bytes/);
});

Deno.test("outgoing: encodeEvent builds the envelope, reusing a correlation id", () => {
  const { target, envelope } = encodeEvent(topics.ttsSay, { text: "hi" }, {
    correlationId: "c-1",
  }, "tars-test");
  assert.equal(target.topic, "tts/say");
  assert.equal(envelope.id, "c-1");
  assert.equal(envelope.type, topics.ttsSay.eventType);
  assert.equal(envelope.source, "tars-test");
  assert.throws(() => encodeEvent("plain", {}, {}, "s"), /needs an event type/);
  assert.throws(() => encodeEvent("plain", [], { eventType: "x" }, "s"), /must be a JSON object/);
});

Deno.test("connect options: MQTT 3.1.1, no MQTT.js reconnects, a retained will when health is on", () => {
  const config = MqttClientConfig.parse({
    url: "mqtt://u:p@127.0.0.1:1884",
    clientId: "tars-x",
    enableHealth: true,
  });
  const options = mqttJsOptions({
    config,
    tls: {},
    healthTopic: "system/health/tars-x",
    connectTimeoutMs: 1234,
  });
  assert.equal(options.protocolVersion, 4);
  assert.equal(options.reconnectPeriod, 0);
  assert.equal(options.resubscribe, false);
  assert.equal(options.port, 1884);
  assert.equal(options.username, "u");
  assert.equal(options.connectTimeout, 1234);
  assert.equal(options.rejectUnauthorized, true);
  assert.equal(options.will?.topic, "system/health/tars-x");
  assert.equal(options.will?.retain, true);
  const will = JSON.parse(String(options.will?.payload));
  assert.equal(will.data.event, "lost");
  const quiet = mqttJsOptions({
    config: MqttClientConfig.parse({ ...config, enableHealth: false }),
    tls: {},
    healthTopic: "h",
    connectTimeoutMs: 1,
  });
  assert.equal(quiet.will, undefined);
});

Deno.test("connection errors: refused logins and TLS failures are fatal, with what to do", () => {
  const auth = Object.assign(new Error("Not authorized"), { code: 5 });
  assert.match(fatalConnectionError(auth, "mqtt://u:secret@h:1883") ?? "", /user name, password/);
  assert.doesNotMatch(fatalConnectionError(auth, "mqtt://u:secret@h:1883") ?? "", /secret/);
  const tls = Object.assign(new Error("bad cert"), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
  assert.match(fatalConnectionError(tls, "mqtts://h") ?? "", /TLS failed.*MQTT_CA_FILE/);
  const refused = Object.assign(new Error("ECONNREFUSED"), { code: "ECONNREFUSED" });
  assert.equal(fatalConnectionError(refused, "mqtt://h"), undefined);
  assert.match(
    tlsErrorHint(Object.assign(new Error(""), { code: "ERR_TLS_CERT_ALTNAME_INVALID" })) ?? "",
    /subjectAltName/,
  );
  assert.match(
    tlsErrorHint(
      Object.assign(new Error(""), { code: "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED" }),
    ) ??
      "",
    /MQTT_CERT_FILE/,
  );
});
