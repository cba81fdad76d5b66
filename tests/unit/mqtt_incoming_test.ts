/** core/mqtt/incoming.ts: payload decoding without a broker. */
import assert from "node:assert/strict";
import { z } from "zod";
import { Envelope } from "../../core/contracts/envelope.ts";
import {
  decodeFor,
  type DecodeRule,
  describeZodError,
  ENVELOPE_FAST_PATH,
  IncomingPayload,
  plainEnvelope,
  rejectionKind,
} from "../../core/mqtt/incoming.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const envelopeJson = (data: Record<string, unknown>) =>
  JSON.stringify({ id: "abc", type: "t.x", ts: 1.5, source: "test", data });

const rule = (over: Partial<DecodeRule> = {}): DecodeRule => ({
  wire: "envelope",
  schema: null,
  acceptRaw: false,
  eventType: null,
  ...over,
});

Deno.test("incoming: the envelope fast path is on and agrees with zod", () => {
  assert.equal(ENVELOPE_FAST_PATH, true);
  const value = JSON.parse(envelopeJson({ a: 1, b: [null] }));
  assert.deepEqual(
    plainEnvelope(value),
    Envelope.fromValue(JSON.parse(envelopeJson({ a: 1, b: [null] }))),
  );
});

Deno.test("incoming: the fast path leaves everything unusual to zod (never decides a rejection)", () => {
  const base = JSON.parse(envelopeJson({}));
  assert.equal(plainEnvelope({ ...base, extra: 1 }), undefined);
  assert.equal(plainEnvelope({ ...base, id: "" }), undefined);
  assert.equal(plainEnvelope({ ...base, ts: "1" }), undefined);
  assert.equal(plainEnvelope({ ...base, data: [] }), undefined);
  assert.equal(
    plainEnvelope(JSON.parse('{"id":"a","type":"t","ts":1,"source":"s","data":{"__proto__":{}}}')),
    undefined,
  );
  assert.equal(plainEnvelope(Object.assign(Object.create(null), base)), undefined);
});

Deno.test("incoming: the payload is parsed once however often it is asked", () => {
  const incoming = new IncomingPayload(bytes(envelopeJson({ n: 1 })));
  const first = incoming.json();
  assert.equal(incoming.json(), first);
  assert.equal(incoming.envelope(), incoming.envelope());
  assert.equal(incoming.envelope()?.id, "abc");
});

Deno.test("incoming: a string payload is taken as UTF-8", () => {
  const incoming = new IncomingPayload('{"ü":1}');
  assert.equal(incoming.raw.byteLength, 8);
  assert.deepEqual(incoming.json(), { ok: true, value: { "ü": 1 } });
});

Deno.test("decodeFor: binary passes the bytes through, even when they are not JSON", () => {
  const raw = new Uint8Array([0xff, 0x00]);
  const decoded = decodeFor(rule({ wire: "binary" }), "audio/x", new IncomingPayload(raw), true);
  assert.deepEqual(decoded, { payload: raw, topic: "audio/x", envelope: null, retained: true });
});

Deno.test("decodeFor: json wire gives the value; envelope wire gives the data and the envelope", () => {
  const json = decodeFor(rule({ wire: "json" }), "t", new IncomingPayload(bytes("[1,2]")), false);
  assert.deepEqual(json, { payload: [1, 2], topic: "t", envelope: null, retained: false });
  const env = decodeFor(rule(), "t", new IncomingPayload(bytes(envelopeJson({ k: "v" }))), false);
  assert.ok(typeof env !== "string");
  assert.deepEqual(env.payload, { k: "v" });
  assert.equal(env.envelope?.id, "abc");
});

Deno.test("decodeFor: rejections name their kind", () => {
  const notJson = decodeFor(rule(), "t", new IncomingPayload(bytes("{")), false);
  assert.equal(typeof notJson, "string");
  assert.equal(rejectionKind(notJson as string), "not JSON");
  const bare = decodeFor(rule(), "t", new IncomingPayload(bytes('{"a":1}')), false);
  assert.equal(bare, "not an envelope {id,type,ts,source,data}");
  const schema = decodeFor(
    rule({ schema: z.object({ k: z.number() }) }),
    "t",
    new IncomingPayload(bytes(envelopeJson({ k: "v" }))),
    false,
  );
  assert.match(schema as string, /^schema: k: /);
  assert.equal(rejectionKind(schema as string), "schema");
});

Deno.test("decodeFor: acceptRaw wraps a bare object in an envelope (message_id as its id)", () => {
  const decoded = decodeFor(
    rule({ acceptRaw: true, eventType: "x.y" }),
    "t",
    new IncomingPayload(bytes('{"message_id":"m1","a":1}')),
    false,
  );
  assert.ok(typeof decoded !== "string");
  assert.equal(decoded.envelope?.id, "m1");
  assert.equal(decoded.envelope?.type, "x.y");
  assert.equal(decoded.envelope?.source, "raw");
  assert.deepEqual(decoded.payload, { message_id: "m1", a: 1 });
});

Deno.test("decodeFor: the schema's output (defaults) replaces the data, in the envelope too", () => {
  const decoded = decodeFor(
    rule({ schema: z.object({ k: z.string(), n: z.number().default(7) }) }),
    "t",
    new IncomingPayload(bytes(envelopeJson({ k: "v" }))),
    false,
  );
  assert.ok(typeof decoded !== "string");
  assert.deepEqual(decoded.payload, { k: "v", n: 7 });
  assert.deepEqual(decoded.envelope?.data, { k: "v", n: 7 });
});

Deno.test("describeZodError: at most three issues, with their paths", () => {
  const result = z.object({ a: z.number(), b: z.number(), c: z.number(), d: z.number() })
    .safeParse({});
  assert.ok(!result.success);
  const text = describeZodError(result.error);
  assert.equal(text.split("; ").length, 3);
  assert.match(text, /^a: /);
});
