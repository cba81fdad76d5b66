/**
 * Decoding of received payloads, without I/O: the bytes parsed lazily and at most once
 * (JSON, then the envelope, with a zod-free fast path for the common envelope), and the
 * per-subscription decode (wire, raw-JSON fallback, schema) that either yields the message a
 * handler gets or the reason it was rejected.
 *
 * @module
 */
import type { z } from "zod";
import { Envelope, epochSeconds, newMessageId } from "../contracts/envelope.ts";
import type { Wire } from "../contracts/topic.ts";
import type { InvalidKind } from "./types.ts";

// Shared codecs: `decode()` without `stream` keeps no state between calls.
const UTF8_DECODER = new TextDecoder();
const UTF8_ENCODER = new TextEncoder();

/**
 * `Envelope.fromValue(value)` for the common case without zod, which allocates ~2.7 KB per
 * envelope (a third of the dispatch's garbage): a JSON-parsed object with exactly the keys
 * `id, type, ts, source, data`, non-empty `id`/`type` strings, a finite `ts`, a string
 * `source` and a plain-object `data` without a `__proto__` key. Returns what zod returns for
 * it (a new object in schema key order, `data` copied), or `undefined` for anything else, which
 * then goes to `Envelope.fromValue`; so it never decides a rejection.
 */
export function plainEnvelope(value: unknown): Envelope | undefined {
  if (!isPlainObject(value) || Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  if (Object.keys(value).length !== 5) return undefined;
  const { id, type, ts, source, data } = value;
  if (
    typeof id !== "string" || id === "" || typeof type !== "string" || type === "" ||
    typeof ts !== "number" || !Number.isFinite(ts) || typeof source !== "string" ||
    !isPlainObject(data) || Object.getPrototypeOf(data) !== Object.prototype ||
    Object.hasOwn(data, "__proto__")
  ) {
    return undefined;
  }
  return { id, type, ts, source, data: { ...data } };
}

/**
 * Whether {@linkcode plainEnvelope} may stand in for `Envelope.fromValue`: checked once
 * against zod on envelopes at the edges of what it accepts, so a stricter (or otherwise
 * changed) envelope schema turns it off instead of being bypassed.
 */
export const ENVELOPE_FAST_PATH = [
  { id: "x", type: "t", ts: -1.5, source: "", data: {} },
  { id: "0".repeat(64), type: "a.b", ts: 0, source: "s", data: { "1": [null, { a: 1 }], b: "" } },
].every((probe) => {
  const zod = Envelope.fromValue(JSON.parse(JSON.stringify(probe)));
  const fast = plainEnvelope(JSON.parse(JSON.stringify(probe)));
  return zod !== null && fast !== undefined && JSON.stringify(zod) === JSON.stringify(fast);
});

/** The outcome of parsing a payload as JSON. */
export type JsonResult = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * One received payload, parsed lazily and at most once however many handlers match:
 * JSON first, then the envelope (dispatch hot path: one object instead of closures).
 */
export class IncomingPayload {
  /** The payload bytes as received. */
  readonly raw: Uint8Array;
  #json: JsonResult | undefined;
  #envelope: Envelope | null | undefined;

  /** Wraps `raw` (a string, as MQTT.js may hand over, is encoded as UTF-8). */
  constructor(raw: Uint8Array | string) {
    this.raw = typeof raw === "string" ? UTF8_ENCODER.encode(raw) : raw;
  }

  /** The payload parsed as JSON (UTF-8), or why it is not JSON. */
  json(): JsonResult {
    if (this.#json) return this.#json;
    try {
      this.#json = { ok: true, value: JSON.parse(UTF8_DECODER.decode(this.raw)) };
    } catch (error) {
      this.#json = { ok: false, error: `not JSON (${(error as Error).message})` };
    }
    return this.#json;
  }

  /** The payload as a valid envelope, or `null` (not JSON, or not an envelope). */
  envelope(): Envelope | null {
    if (this.#envelope !== undefined) return this.#envelope;
    const parsed = this.json();
    this.#envelope = parsed.ok
      ? (ENVELOPE_FAST_PATH ? plainEnvelope(parsed.value) : undefined) ??
        Envelope.fromValue(parsed.value)
      : null;
    return this.#envelope;
  }
}

/** Whether `value` is a non-null, non-array object. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The first three issues of a zod error as `path: message; ...` (for logs and errors). */
export function describeZodError(error: z.ZodError): string {
  return error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}

/** How one subscription decodes its messages. */
export interface DecodeRule {
  /** Wire encoding of the subscription. */
  readonly wire: Wire;
  /** Payload schema; `null`: the payload is passed on unvalidated. */
  readonly schema: z.ZodType | null;
  /** Accept a bare JSON object without an envelope (envelope wire only). */
  readonly acceptRaw: boolean;
  /** Event type of the envelope synthesised for a bare JSON object; `null`: `raw`. */
  readonly eventType: string | null;
}

/** A decoded message, as queued for a handler. */
export interface DecodedMessage {
  /** What the handler gets: the bytes, the JSON value or the (validated) envelope data. */
  readonly payload: unknown;
  /** The concrete topic. */
  readonly topic: string;
  /** The envelope (`null` for `json` and `binary`). */
  readonly envelope: Envelope | null;
  /** Whether the broker delivered it as retained. */
  readonly retained: boolean;
}

/**
 * Decodes `incoming` for a subscription with `rule`: the message for its handler, or the
 * reason (a string whose head before `:`/`(` names the kind: `not JSON`, `not an envelope`,
 * `schema`) why it was rejected.
 */
export function decodeFor(
  rule: DecodeRule,
  topic: string,
  incoming: IncomingPayload,
  retained: boolean,
): DecodedMessage | string {
  if (rule.wire === "binary") return { payload: incoming.raw, topic, envelope: null, retained };
  const parsed = incoming.json();
  if (!parsed.ok) return parsed.error;
  let envelope: Envelope | null = null;
  let data: unknown = parsed.value;
  if (rule.wire === "envelope") {
    envelope = incoming.envelope();
    if (!envelope) {
      if (!rule.acceptRaw || !isPlainObject(parsed.value)) {
        return "not an envelope {id,type,ts,source,data}";
      }
      const value = parsed.value;
      const id = typeof value.message_id === "string" && value.message_id
        ? value.message_id
        : newMessageId();
      envelope = {
        id,
        type: rule.eventType ?? "raw",
        ts: epochSeconds(),
        source: "raw",
        data: value,
      };
    }
    data = envelope.data;
  }
  if (rule.schema) {
    const result = rule.schema.safeParse(data);
    if (!result.success) return `schema: ${describeZodError(result.error)}`;
    data = result.data;
    if (envelope) envelope = { ...envelope, data: data as Record<string, unknown> };
  }
  return { payload: data, topic, envelope, retained };
}

/**
 * The fixed head of a rejection reason (`not JSON`, `schema`, ...), never its details: one
 * log line per subscription and kind, however varied the bad messages.
 */
export function rejectionKind(reason: string): string {
  return reason.split(/[:(]/, 1)[0].trim().slice(0, 40);
}

/**
 * The value `rule`'s schema saw in `incoming` (the envelope's data, or the bare JSON), for
 * reporting a schema rejection; `undefined` when it is not JSON or not an envelope.
 */
export function unvalidatedData(rule: DecodeRule, incoming: IncomingPayload): unknown {
  const parsed = incoming.json();
  if (!parsed.ok) return undefined;
  if (rule.wire !== "envelope") return parsed.value;
  const envelope = incoming.envelope();
  if (envelope) return envelope.data;
  return rule.acceptRaw && isPlainObject(parsed.value) ? parsed.value : undefined;
}

/** The {@linkcode InvalidKind} of a {@linkcode decodeFor} rejection reason. */
export function invalidKind(reason: string): InvalidKind {
  if (reason.startsWith("schema")) return "schema";
  if (reason.startsWith("not an envelope")) return "not an envelope";
  return "not JSON";
}
