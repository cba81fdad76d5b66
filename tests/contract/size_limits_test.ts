/**
 * Size limits of the contracts: every topic row has a byte limit, every free-text field a
 * `maxLength`, every array a `maxItems`, and a payload with every field at its maximum fits
 * its row's limit (where the schema bounds it; see {@linkcode UNBOUNDED_BY_FIELDS}).
 */
import assert from "node:assert/strict";
import type { z } from "zod";
import {
  DEFAULT_MAX_BYTES,
  defineTopic,
  Envelope,
  FinalTranscript,
  HealthPing,
  LLMRequest,
  MemoryQuery,
  TEXT_LIMITS,
  topicList,
  topics,
  type TopicSpec,
  TtsSay,
} from "../../core/contracts/mod.ts";
import { type JsonSchema, payloadJsonSchema } from "../../ops/gen_docs.ts";
import { fixturePayload, loadFixtures } from "./fixture_files.ts";

/**
 * Rows whose fields allow more than the row: their size is bounded by `maxBytes` alone, and
 * their publisher keeps within it.
 */
const UNBOUNDED_BY_FIELDS: Record<string, string> = {
  // 1000 history turns of 65 536 characters: the router keeps 10 short turns by default.
  llmRequest: "conversation_history",
  // 550 documents of 65 536 characters: memory-worker drops the last ones to fit.
  memoryResults: "results",
};

function asSchema(value: unknown): JsonSchema {
  return value !== null && typeof value === "object" ? value as JsonSchema : {};
}

/** Paths of string nodes without `maxLength` and array nodes without `maxItems`. */
function unbounded(schema: JsonSchema, path: string, out: string[]): string[] {
  if (schema.const !== undefined || Array.isArray(schema.enum)) return out;
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const members = schema[key];
    if (Array.isArray(members)) members.forEach((m) => unbounded(asSchema(m), path, out));
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes("string") && schema.maxLength === undefined) out.push(path);
  if (types.includes("array")) {
    if (schema.maxItems === undefined) out.push(`${path}[]`);
    unbounded(asSchema(schema.items), `${path}[]`, out);
  }
  for (const [name, child] of Object.entries(asSchema(schema.properties))) {
    unbounded(asSchema(child), `${path}.${name}`, out);
  }
  const additional = asSchema(schema.additionalProperties);
  if (Object.keys(additional).length) unbounded(additional, `${path}.*`, out);
  return out;
}

const WIDE = "語"; // one UTF-16 unit, three bytes of UTF-8: the widest text per counted character

function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).byteLength;
}

/** The largest value `schema` admits (records stay empty: only the row bounds them). */
function maximal(schema: JsonSchema): unknown {
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum)) {
    return schema.enum.reduce((a, b) => jsonBytes(b) > jsonBytes(a) ? b : a);
  }
  const union = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(union)) {
    return union.map((m) => maximal(asSchema(m))).reduce((a, b) =>
      jsonBytes(b) > jsonBytes(a) ? b : a
    );
  }
  if (Array.isArray(schema.type)) {
    return schema.type.map((type) => maximal({ ...schema, type })).reduce((a, b) =>
      jsonBytes(b) > jsonBytes(a) ? b : a
    );
  }
  switch (schema.type) {
    case "string": {
      const max = schema.maxLength as number;
      return (schema.contentEncoding === "base64" ? "A" : WIDE).repeat(max);
    }
    case "integer":
    case "number": {
      const bounds = [schema.minimum, schema.maximum].filter((b) => typeof b === "number");
      if (bounds.length === 0) {
        return schema.type === "integer" ? Number.MIN_SAFE_INTEGER : -Number.MAX_VALUE;
      }
      return bounds.reduce((a, b) => String(b).length > String(a).length ? b : a);
    }
    case "boolean":
      return false;
    case "null":
      return null;
    case "array":
      return Array.from(
        { length: schema.maxItems as number },
        () => maximal(asSchema(schema.items)),
      );
    case "object":
      return Object.fromEntries(
        Object.entries(asSchema(schema.properties)).map(([k, v]) => [k, maximal(asSchema(v))]),
      );
    default:
      throw new Error(`maximal(): no rule for ${JSON.stringify(schema)}`);
  }
}

/** The bytes on the wire of `data` as `spec` carries it. */
function wireBytes(spec: TopicSpec, data: Record<string, unknown>): number {
  if (spec.wire !== "envelope") return jsonBytes(data);
  const envelope = Envelope.new({
    eventType: spec.eventType ?? "",
    data,
    correlate: "f".repeat(32),
    source: "tars-memory-worker",
  });
  return new TextEncoder().encode(Envelope.toJson(envelope)).byteLength;
}

Deno.test("every topic row has a positive byte limit", () => {
  for (const spec of topicList) {
    assert.ok(
      Number.isSafeInteger(spec.maxBytes) && spec.maxBytes > 0,
      `${spec.topic}: maxBytes ${spec.maxBytes}`,
    );
  }
  assert.equal(topics.sttFinal.maxBytes, DEFAULT_MAX_BYTES);
  assert.throws(
    () =>
      defineTopic({
        name: "bad",
        topic: "bad/t",
        wire: "binary",
        qos: 0,
        publishers: [],
        subscribers: [],
        description: "x",
        maxBytes: 0,
      }),
    /maxBytes must be a positive integer/,
  );
});

Deno.test("every free-text field has a maxLength and every array a maxItems", () => {
  const missing = topicList.flatMap((spec) =>
    spec.schema ? unbounded(payloadJsonSchema(spec.schema), spec.topic, []) : []
  );
  assert.deepEqual(missing, []);
});

Deno.test("a payload with every field at its maximum is valid and fits its row", () => {
  for (const spec of topicList) {
    if (!spec.schema) continue;
    const json = payloadJsonSchema(spec.schema);
    const variants = Array.isArray(json.anyOf) ? json.anyOf.map(asSchema) : [json];
    if (spec.name in UNBOUNDED_BY_FIELDS) {
      // Generating them would take hundreds of MB; the field that allows more must exist.
      const field = UNBOUNDED_BY_FIELDS[spec.name];
      assert.ok(variants.every((v) => field in asSchema(v.properties)), spec.name);
      continue;
    }
    for (const variant of variants) {
      const data = maximal(variant) as Record<string, unknown>;
      const parsed = (spec.schema as z.ZodType).safeParse(data);
      assert.ok(parsed.success, `${spec.topic}: the maximal payload is valid`);
      const size = wireBytes(spec, data);
      assert.ok(
        size <= spec.maxBytes,
        `${spec.topic} (${variant.title}): ${size} bytes > maxBytes ${spec.maxBytes}`,
      );
    }
  }
});

Deno.test("limits reject what is over them and keep every py-tars fixture", () => {
  const over = (n: number) => "a".repeat(n + 1);
  assert.equal(FinalTranscript.safeParse({ text: over(TEXT_LIMITS.text) }).success, false);
  assert.equal(FinalTranscript.safeParse({ text: "a".repeat(TEXT_LIMITS.text) }).success, true);
  assert.equal(MemoryQuery.safeParse({ text: over(TEXT_LIMITS.text) }).success, false);
  assert.equal(MemoryQuery.safeParse({ query: over(TEXT_LIMITS.text) }).success, false);
  assert.equal(TtsSay.safeParse({ text: over(TEXT_LIMITS.longText) }).success, false);
  assert.equal(HealthPing.safeParse({ ok: false, err: over(TEXT_LIMITS.detail) }).success, false);
  const turn = { role: "user", content: "hi" };
  assert.equal(
    LLMRequest.safeParse({ id: "r", text: "hi", conversation_history: Array(1001).fill(turn) })
      .success,
    false,
  );
  for (const fixture of loadFixtures()) {
    const parsed = (fixture.spec.schema as z.ZodType).safeParse(fixturePayload(fixture));
    assert.ok(parsed.success, `${fixture.file} passes the limits`);
    assert.ok(
      jsonBytes(fixture.value) <= fixture.spec.maxBytes,
      `${fixture.file} fits ${fixture.spec.topic}`,
    );
  }
});
