/**
 * Hostile payloads for the robustness suite (`tests/robustness/`): for one topic of the topic
 * table, five families of messages a broken or malicious client could publish, built from the
 * topic's golden fixture (`tests/contract/fixtures/`) so that each mutation changes one thing
 * of an otherwise valid message.
 *
 * - `malformed`: not JSON at all: empty, truncated, garbage bytes, invalid UTF-8, NUL bytes.
 * - `schema`: JSON of the wrong shape: wrong root type, broken envelope, each field of the
 *   wrong type or missing, extra fields (including `__proto__` and `constructor`).
 * - `oversized`: 1 MB strings in the text fields, a 2 MB extra field, 1 MB of non-JSON.
 * - `nested`: arrays and objects nested {@linkcode NEST_DEPTH} levels deep, as the whole
 *   payload, as the data and in place of a field.
 * - `nonfinite`: numbers JSON cannot hold finitely (`1e400` parses as Infinity, `-1e400`,
 *   huge integers, `-0`, `1e-400`) and the strings "NaN"/"Infinity" where a number goes.
 *
 * Binary topics (`audio/pcm/{source}`) get broken framing instead (empty, odd lengths adding
 * up to an odd total, random bytes, JSON text) and a 2 MB frame of silence.
 *
 * Payloads are generated lazily, one at a time, so the large ones do not pile up in memory.
 *
 * @module
 */
import type { TopicSpec } from "../../core/mod.ts";
import { fixtureBaseName, FIXTURES_DIR } from "../contract/fixture_files.ts";

/** The payload families, in the order the suite floods them. */
export const FAMILIES = ["malformed", "schema", "oversized", "nested", "nonfinite"] as const;

/** One of {@linkcode FAMILIES}. */
export type Family = typeof FAMILIES[number];

/** One hostile message. */
export interface HostilePayload {
  /** What it is, e.g. `field text: 1 MB string` (for failure messages). */
  readonly label: string;
  /** The bytes published. */
  readonly bytes: Uint8Array;
}

/** Nesting depth of the `nested` family. */
export const NEST_DEPTH = 50_000;
/** Size of an oversized text field. */
export const BIG_FIELD_BYTES = 1_000_000;
/** Size of the oversized extra field and of an oversized binary frame. */
export const HUGE_BYTES = 2_000_000;
/** Fields of the fixture mutated one at a time, at most (keeps each topic to ~60 payloads). */
const MAX_FIELDS = 6;

const encoder = new TextEncoder();
const NONFINITE_TOKENS = [
  "1e400",
  "-1e400",
  "123456789012345678901234567890123456789",
  "-0",
  "1e-400",
  '"NaN"',
  '"Infinity"',
] as const;

let bigText: string | undefined;
let hugeText: string | undefined;
function big(): string {
  return bigText ??= "a".repeat(BIG_FIELD_BYTES);
}
function huge(): string {
  return hugeText ??= "b".repeat(HUGE_BYTES);
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/**
 * The valid payload (`data` of the envelope, or the bare JSON) of the topic's golden fixture;
 * `null` for a binary topic.
 */
export function fixtureSample(spec: TopicSpec): Record<string, unknown> | null {
  if (spec.wire === "binary") return null;
  const file = new URL(`${fixtureBaseName(spec)}.json`, FIXTURES_DIR);
  const value = JSON.parse(Deno.readTextFileSync(file)) as Record<string, unknown>;
  return spec.wire === "envelope" ? value.data as Record<string, unknown> : value;
}

/**
 * Builds the JSON text of `value`, with the string `"@@RAW@@"` anywhere in it replaced by
 * `raw` verbatim (how tokens such as `1e400` or 50 000-deep nesting get in: they cannot be
 * built as values and stringified).
 */
function withRaw(value: unknown, raw: string): string {
  return JSON.stringify(value).replace('"@@RAW@@"', () => raw);
}

/** Wraps `data` as the topic expects it on the wire (an envelope, or bare JSON). */
function wrap(spec: TopicSpec, data: unknown, envelope: Record<string, unknown> = {}): unknown {
  if (spec.wire !== "envelope") return data;
  return {
    id: crypto.randomUUID().replaceAll("-", ""),
    type: spec.eventType,
    ts: Date.now() / 1000,
    source: "robustness",
    data,
    ...envelope,
  };
}

function text(spec: TopicSpec, value: unknown, raw?: string): Uint8Array {
  const wrapped = wrap(spec, value);
  return encoder.encode(raw === undefined ? JSON.stringify(wrapped) : withRaw(wrapped, raw));
}

function fieldsOf(sample: Record<string, unknown>): string[] {
  return Object.keys(sample).slice(0, MAX_FIELDS);
}

function wrongTypeOf(value: unknown): unknown {
  if (typeof value === "string") return 12345;
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return "yes";
  if (Array.isArray(value)) return "not a list";
  if (value === null) return { unexpected: "object" };
  return ["not", "an", "object"];
}

function nested(kind: "array" | "object", depth = NEST_DEPTH): string {
  return kind === "array"
    ? "[".repeat(depth) + "]".repeat(depth)
    : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

function* malformed(spec: TopicSpec, sample: Record<string, unknown>, seed: number) {
  const random = prng(seed);
  const valid = JSON.stringify(wrap(spec, sample));
  yield { label: "empty", bytes: new Uint8Array() };
  yield { label: "one brace", bytes: encoder.encode("{") };
  yield { label: "truncated at half", bytes: encoder.encode(valid.slice(0, valid.length >> 1)) };
  yield { label: "truncated by one", bytes: encoder.encode(valid.slice(0, -1)) };
  yield { label: "trailing comma", bytes: encoder.encode(valid.slice(0, -1) + ",}") };
  yield { label: "single quotes", bytes: encoder.encode(valid.replaceAll('"', "'")) };
  for (let i = 0; i < 4; i++) {
    yield { label: `random bytes #${i}`, bytes: randomBytes(random, 16 + i * 40) };
  }
  for (let i = 0; i < 3; i++) {
    // Text that fails to parse differently each time (V8 quotes it in the error message).
    const word = Array.from({ length: 8 }, () => "qxzjkvwy"[Math.floor(random() * 8)]).join("");
    yield { label: `garbage text #${i}`, bytes: encoder.encode(`${word} is not json ${i}`) };
  }
  yield {
    label: "invalid UTF-8 inside a string",
    bytes: new Uint8Array([...encoder.encode('{"id":"'), 0xc3, 0x28, 0xff, 0xfe, 0x22, 0x7d]),
  };
  yield { label: "NUL bytes", bytes: new Uint8Array([0, 0, 0, 0x7b, 0]) };
  yield {
    label: "valid JSON then garbage",
    bytes: new Uint8Array([...encoder.encode(valid), 0x00, 0xff]),
  };
}

function* schema(spec: TopicSpec, sample: Record<string, unknown>) {
  for (const root of ["null", "[]", "42", '"a string"', "true", "{}"]) {
    yield { label: `root ${root}`, bytes: encoder.encode(root) };
  }
  if (spec.wire === "envelope") {
    for (const data of [null, [], "a string", 42, {}]) {
      yield { label: `data ${JSON.stringify(data)}`, bytes: text(spec, data) };
    }
    const envelopes: Array<[string, Record<string, unknown>]> = [
      ["wrong event type", { type: "robustness.wrong" }],
      ["envelope id a number", { id: 42 }],
      ["envelope ts a string", { ts: "yesterday" }],
      ["envelope without data", { data: undefined }],
    ];
    for (const [label, envelope] of envelopes) {
      yield { label, bytes: encoder.encode(JSON.stringify(wrap(spec, sample, envelope))) };
    }
    yield { label: "bare payload, no envelope", bytes: encoder.encode(JSON.stringify(sample)) };
  }
  for (const field of fieldsOf(sample)) {
    yield {
      label: `field ${field} of the wrong type`,
      bytes: text(spec, { ...sample, [field]: wrongTypeOf(sample[field]) }),
    };
    const { [field]: _dropped, ...rest } = sample;
    yield { label: `field ${field} missing`, bytes: text(spec, rest) };
  }
  yield {
    label: "extra fields",
    bytes: text(spec, { ...sample, robustness_extra: "x", another: [1, 2, 3] }),
  };
  yield {
    label: "__proto__ and constructor fields",
    bytes: encoder.encode(
      withRaw(
        wrap(spec, "@@RAW@@"),
        JSON.stringify(sample).replace(
          /^\{/,
          '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},',
        ),
      ),
    ),
  };
}

function* oversized(spec: TopicSpec, sample: Record<string, unknown>) {
  const strings = fieldsOf(sample).filter((f) => typeof sample[f] === "string").slice(0, 2);
  for (const field of strings) {
    yield {
      label: `field ${field}: 1 MB string`,
      bytes: text(spec, { ...sample, [field]: big() }),
    };
  }
  yield { label: "extra field: 2 MB string", bytes: text(spec, { ...sample, padding: huge() }) };
  yield { label: "1 MB of non-JSON text", bytes: encoder.encode(big()) };
}

function* nestedFamily(spec: TopicSpec, sample: Record<string, unknown>) {
  yield { label: `root: ${NEST_DEPTH} arrays`, bytes: encoder.encode(nested("array")) };
  yield { label: `root: ${NEST_DEPTH} objects`, bytes: encoder.encode(nested("object")) };
  yield {
    label: `root: ${NEST_DEPTH} unclosed arrays`,
    bytes: encoder.encode("[".repeat(NEST_DEPTH)),
  };
  if (spec.wire === "envelope") {
    yield { label: `data: ${NEST_DEPTH} arrays`, bytes: text(spec, "@@RAW@@", nested("array")) };
  }
  const field = fieldsOf(sample)[0];
  if (field) {
    yield {
      label: `field ${field}: ${NEST_DEPTH} objects`,
      bytes: text(spec, { ...sample, [field]: "@@RAW@@" }, nested("object")),
    };
  }
  yield {
    label: `extra field: ${NEST_DEPTH} arrays`,
    bytes: text(spec, { ...sample, nested: "@@RAW@@" }, nested("array")),
  };
}

function* nonfinite(spec: TopicSpec, sample: Record<string, unknown>) {
  let numeric = fieldsOf(sample).filter((f) => typeof sample[f] === "number").slice(0, 2);
  // No number in the fixture: put the numbers where a string or the data goes.
  if (numeric.length === 0) numeric = fieldsOf(sample).slice(0, 1);
  for (const field of numeric) {
    for (const token of NONFINITE_TOKENS) {
      yield {
        label: `field ${field}: ${token}`,
        bytes: text(spec, { ...sample, [field]: "@@RAW@@" }, token),
      };
    }
  }
  if (spec.wire === "envelope") {
    for (const token of ["1e400", "-1e400"]) {
      yield {
        label: `envelope ts: ${token}`,
        bytes: encoder.encode(withRaw(wrap(spec, sample, { ts: "@@RAW@@" }), token)),
      };
    }
  }
  yield { label: "root: 1e400", bytes: encoder.encode("1e400") };
}

function* binary(seed: number) {
  const random = prng(seed);
  yield { label: "empty frame", bytes: new Uint8Array() };
  yield { label: "one byte", bytes: new Uint8Array([1]) };
  yield { label: "three bytes", bytes: new Uint8Array([1, 2, 3]) };
  yield { label: "odd length (641 bytes)", bytes: randomBytes(random, 641) };
  yield { label: "random frame (640 bytes)", bytes: randomBytes(random, 640) };
  yield {
    label: "full-scale square wave",
    bytes: new Uint8Array(640).map((_, i) => i % 4 < 2 ? 0xff : 0x7f),
  };
  yield { label: "JSON text instead of PCM", bytes: encoder.encode('{"data":[1e400]}') };
}

/**
 * The payloads of one family for one topic, generated lazily. `seed` varies the random
 * bytes between topics.
 */
export function* hostilePayloads(
  spec: TopicSpec,
  family: Family,
  seed = 1,
): Generator<HostilePayload> {
  const sample = fixtureSample(spec);
  if (sample === null) {
    // Binary topic: no JSON is parsed, so only framing and size apply. (JSON text sent as
    // audio is loud DC that rightly raises stt-worker's noise floor: a test artefact.)
    if (family === "malformed") yield* binary(seed);
    else if (family === "oversized") {
      // Silence: the size is the attack, not the sound.
      yield { label: "2 MB frame of silence", bytes: new Uint8Array(HUGE_BYTES) };
    }
    return;
  }
  switch (family) {
    case "malformed":
      yield* malformed(spec, sample, seed);
      break;
    case "schema":
      yield* schema(spec, sample);
      break;
    case "oversized":
      yield* oversized(spec, sample);
      break;
    case "nested":
      yield* nestedFamily(spec, sample);
      break;
    case "nonfinite":
      yield* nonfinite(spec, sample);
      break;
  }
}
