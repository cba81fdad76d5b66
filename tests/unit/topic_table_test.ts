import assert from "node:assert/strict";
import {
  eventTypeFor,
  filterOf,
  findTopicSpec,
  findTopicSpecByEventType,
  paramsOfTopic,
  topicFor,
  topicList,
  topicParams,
  topics,
} from "../../core/contracts/mod.ts";
import { serviceNames } from "../../core/mod.ts";

const SERVICES = new Set<string>([...serviceNames, "esp32", "homeassistant", "*"]);

Deno.test("topicFor fills parameters and filterOf wildcards them", () => {
  assert.equal(topicFor(topics.systemHealth, { client_id: "tars-stt" }), "system/health/tars-stt");
  assert.equal(filterOf(topics.systemHealth), "system/health/+");
  assert.equal(topicFor(topics.audioPcm, { source: "mic-1" }), "audio/pcm/mic-1");
  assert.equal(filterOf(topics.audioPcm), "audio/pcm/+");
  assert.equal(topicFor(topics.sttFinal), "stt/final");
  assert.equal(filterOf(topics.sttFinal), "stt/final");
  assert.deepEqual(topicParams(topics.systemKeepalive.topic), ["client_id"]);
});

Deno.test("paramsOfTopic reverses topicFor and refuses other topics", () => {
  const params = { component: "button", object_id: "move_wave" };
  const topic = topicFor(topics.haDiscovery, params);
  assert.equal(topic, "homeassistant/button/tars/move_wave/config");
  assert.deepEqual(paramsOfTopic(topics.haDiscovery, topic), params);
  assert.deepEqual(paramsOfTopic(topics.sttFinal, "stt/final"), {});
  for (const other of ["homeassistant/button/other/x/config", "homeassistant/a/b/tars/x/config"]) {
    assert.equal(paramsOfTopic(topics.haDiscovery, other), null, other);
  }
  assert.equal(paramsOfTopic(topics.systemHealth, "system/health/"), null);
});

Deno.test("topicFor rejects missing and topic-changing parameters", () => {
  assert.throws(() => topicFor(topics.systemHealth), /client_id/);
  assert.throws(() => topicFor(topics.systemHealth, { client_id: "" }), /client_id/);
  for (const bad of ["a/b", "+", "#"]) {
    assert.throws(() => topicFor(topics.systemHealth, { client_id: bad }), /must not contain/);
  }
});

Deno.test("findTopicSpec matches concrete topics against the table", () => {
  assert.equal(findTopicSpec("stt/final"), topics.sttFinal);
  assert.equal(findTopicSpec("system/health/tars-stt"), topics.systemHealth);
  assert.equal(findTopicSpec("system/keepalive/tars-llm"), topics.systemKeepalive);
  assert.equal(findTopicSpec("system/metrics/tars-router"), topics.systemMetrics);
  assert.equal(findTopicSpec("audio/pcm/respeaker"), topics.audioPcm);
  assert.equal(findTopicSpec("llm/tool.call.request"), topics.llmToolCallRequest);
  assert.equal(findTopicSpec("system/character/current"), topics.systemCharacterCurrent);
  assert.equal(findTopicSpec("system/health/a/b"), undefined);
  assert.equal(findTopicSpec("system/health/"), undefined);
  assert.equal(findTopicSpec("system/health/+"), undefined);
  assert.equal(findTopicSpec("llm/toolXcall.request"), undefined, "dots are literal");
  assert.equal(findTopicSpec("stt/final/extra"), undefined);
  assert.equal(findTopicSpec("nope"), undefined);
});

Deno.test("eventTypeFor gives the wire event type, undefined for raw and unknown topics", () => {
  assert.equal(eventTypeFor("stt/final"), "stt.final");
  assert.equal(eventTypeFor("wake/mic"), "mic.control");
  assert.equal(eventTypeFor("character/get"), "memory.character.get");
  assert.equal(eventTypeFor("system/health/tars-tts"), "health.status");
  assert.equal(eventTypeFor("system/keepalive/tars-tts"), undefined);
  assert.equal(eventTypeFor("audio/pcm/mic"), undefined);
  assert.equal(eventTypeFor("unknown/topic"), undefined);
  assert.equal(findTopicSpecByEventType("llm.stream"), topics.llmStream);
  assert.equal(findTopicSpecByEventType("nope"), undefined);
});

Deno.test("row names equal their keys and the list is the table", () => {
  for (const [key, spec] of Object.entries(topics)) assert.equal(spec.name, key);
  assert.deepEqual(topicList, Object.values(topics));
});

Deno.test("every row is consistent with its wire", () => {
  for (const spec of topicList) {
    const where = spec.topic;
    assert.ok([0, 1, 2].includes(spec.qos), where);
    assert.ok(spec.description.length > 10, where);
    assert.ok(
      [...spec.publishers, ...spec.subscribers].every((s) => SERVICES.has(s)),
      `${where}: unknown service`,
    );
    switch (spec.wire) {
      case "envelope":
        assert.match(spec.eventType ?? "", /^[a-z]+(\.[a-z_]+)+$/, where);
        assert.ok(spec.schema, `${where}: envelope rows need a schema`);
        break;
      case "json":
        assert.equal(spec.eventType, null, where);
        assert.ok(spec.schema, `${where}: json rows need a schema`);
        assert.equal(spec.acceptsRaw, false, where);
        break;
      case "binary":
        assert.equal(spec.eventType, null, where);
        assert.equal(spec.schema, null, where);
        assert.equal(spec.acceptsRaw, false, where);
        break;
      default:
        assert.fail(`${where}: unknown wire ${spec.wire}`);
    }
  }
});

Deno.test("topics and event types are unique", () => {
  const topicsSeen = topicList.map((s) => s.topic);
  assert.equal(new Set(topicsSeen).size, topicsSeen.length);
  const filters = topicList.map((s) => filterOf(s));
  assert.equal(new Set(filters).size, filters.length);
  const eventTypes = topicList.flatMap((s) => s.eventType ? [s.eventType] : []);
  assert.equal(new Set(eventTypes).size, eventTypes.length);
});

Deno.test("QoS, retain and raw acceptance of the key rows", () => {
  const row = (qos: number, retain: boolean, acceptsRaw: boolean) => ({ qos, retain, acceptsRaw });
  const pick = (s: { qos: number; retain: boolean; acceptsRaw: boolean }) =>
    row(s.qos, s.retain, s.acceptsRaw);
  assert.deepEqual(pick(topics.systemHealth), row(1, true, true));
  assert.deepEqual(pick(topics.systemKeepalive), row(1, false, false)); // docs/decisions.md
  assert.deepEqual(pick(topics.systemCharacterCurrent), row(1, true, false));
  assert.deepEqual(pick(topics.llmStream), row(1, false, false));
  assert.deepEqual(pick(topics.llmResponse), row(1, false, false));
  assert.deepEqual(pick(topics.audioPcm), row(0, false, false));
  for (const raw of ["ttsControl", "memoryQuery", "characterUpdate", "movementTest"] as const) {
    assert.equal(topics[raw].acceptsRaw, true, raw);
  }
  assert.equal(topics.movementStop.acceptsRaw, true);
  assert.deepEqual(topics.systemHealth.publishers, ["*"]);
  assert.equal(topics.systemKeepalive.wire, "json");
  assert.equal(topics.audioPcm.wire, "binary");
});

Deno.test("rows are frozen", () => {
  assert.ok(Object.isFrozen(topics.sttFinal));
  assert.ok(Object.isFrozen(topics.sttFinal.publishers));
  assert.ok(Object.isFrozen(topicList));
});
