import assert from "node:assert/strict";
import { Envelope, EnvelopeSchema, topicList } from "../../core/contracts/mod.ts";
import {
  classifyFixture,
  fixtureBaseName,
  fixtureFileNames,
  fixturePayload,
  isBarePayload,
  loadFixtures,
} from "./fixture_files.ts";

const fixtures = loadFixtures();
const HEX32 = /^[0-9a-f]{32}$/;

Deno.test("every topic with a schema has a main fixture", () => {
  const files = new Set(fixtureFileNames());
  const missing = topicList
    .filter((spec) => spec.schema && !files.has(`${fixtureBaseName(spec)}.json`))
    .map((spec) => spec.topic);
  assert.deepEqual(missing, []);
});

Deno.test("every raw-accepting topic has a .raw.json fixture", () => {
  const files = new Set(fixtureFileNames());
  const missing = topicList
    .filter((spec) => spec.acceptsRaw && !files.has(`${fixtureBaseName(spec)}.raw.json`))
    .map((spec) => spec.topic);
  assert.deepEqual(missing, []);
});

Deno.test("every fixture file belongs to a topic with a schema", () => {
  const stray = fixtureFileNames().filter((file) => !classifyFixture(file)?.spec.schema);
  assert.deepEqual(stray, []);
});

Deno.test("raw fixtures exist only for raw-accepting envelope topics", () => {
  const wrong = fixtures
    .filter((f) => f.variant === "raw" && !(f.spec.wire === "envelope" && f.spec.acceptsRaw))
    .map((f) => f.file);
  assert.deepEqual(wrong, []);
});

/**
 * Envelopes py-tars sent on a topic with another event type than the table's: the client
 * does not check the type, so these are accepted like the table's own.
 */
const OTHER_EVENT_TYPES: Readonly<Record<string, string>> = {
  // wake-activation's own periodic health, on the topic its MQTTClient also uses.
  "system_health_{client_id}.wake.json": "wake.health",
};

for (const fixture of fixtures.filter((f) => !isBarePayload(f))) {
  Deno.test(`${fixture.file}: a py-tars envelope carrying ${fixture.spec.topic}`, () => {
    const envelope = EnvelopeSchema.parse(fixture.value);
    assert.deepEqual(Object.keys(fixture.value as object), ["id", "type", "ts", "source", "data"]);
    assert.match(envelope.id, HEX32);
    assert.equal(envelope.type, OTHER_EVENT_TYPES[fixture.file] ?? fixture.spec.eventType);
    assert.ok(envelope.source.length > 0);
    assert.ok(envelope.ts > 1_600_000_000, "ts is epoch seconds");
  });
}

for (const fixture of fixtures) {
  Deno.test(`${fixture.file}: the payload parses with the ${fixture.spec.name} schema`, () => {
    const payload = fixturePayload(fixture);
    const result = fixture.spec.schema!.safeParse(payload);
    assert.ok(result.success, result.success ? "" : result.error.message);
    // What py-tars sent survives parsing unchanged (no value coerced); the only renamed
    // key is memory/query's raw alias `query`, which becomes `text`.
    const parsed = result.data as Record<string, unknown>;
    for (const [key, value] of Object.entries(payload)) {
      const parsedKey = fixture.spec.name === "memoryQuery" && key === "query" ? "text" : key;
      assert.deepEqual(parsed[parsedKey], value, `${fixture.file}: data.${key}`);
    }
  });
}

for (const fixture of fixtures.filter(isBarePayload)) {
  Deno.test(`${fixture.file}: a bare payload is not mistaken for an envelope`, () => {
    assert.equal(Envelope.fromValue(fixture.value), null);
  });
}

Deno.test("an envelope with an extra top-level key is rejected", () => {
  const fixture = fixtures.find((f) => f.file === "stt_final.json")!;
  const value = { ...(fixture.value as object), correlate: "x" };
  assert.equal(Envelope.fromValue(value), null);
});

Deno.test("fixtures of py-tars contract dumps carry null for unset optional fields", () => {
  const final = fixtures.find((f) => f.file === "stt_final.json")!;
  assert.equal(fixturePayload(final).utt_id, null);
  const health = fixtures.find((f) => f.file === "system_health_{client_id}.json")!;
  assert.ok(!("err" in fixturePayload(health)), "health uses exclude_none");
});
