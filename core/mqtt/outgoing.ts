/**
 * Preparing a publish, without I/O: the concrete topic, QoS, retain flag and size limit of a
 * target (a table row or a plain topic), the payload validated against the row's schema, the
 * size check, and the size limit of a received topic.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { z } from "zod";
import { DEFAULT_MAX_BYTES, type QoS, topicFor, type TopicSpec } from "../contracts/topic.ts";
import { builtSchema } from "../contracts/lazy_schema.ts";
import { findTopicSpec } from "../contracts/topic_lookup.ts";
import { Envelope } from "../contracts/envelope.ts";
import { describeZodError, isPlainObject } from "./incoming.ts";
import { assertTopicName } from "./topic_match.ts";
import type { PublishEventOptions, PublishOptions } from "./types.ts";

/** Topics whose validity / size limit are remembered at most (then all are forgotten). */
const TOPIC_CACHE_MAX = 1024;
/** Topic names that passed `assertTopicName` (a pure check). */
const validTopics = new Set<string>();
/** Topic → the `maxBytes` of its table row ({@linkcode DEFAULT_MAX_BYTES} outside it). */
const topicLimits = new Map<string, number>();

/** Where and how one publish goes. */
export interface PublishTarget {
  /** The concrete topic. */
  readonly topic: string;
  /** QoS: the option, else the row's, else 0. */
  readonly qos: QoS;
  /** Retain flag: the option, else the row's, else false. */
  readonly retain: boolean;
  /** The table row, `null` for a plain topic string. */
  readonly spec: TopicSpec | null;
  /** Largest payload in bytes. */
  readonly maxBytes: number;
}

/** The `maxBytes` of `topic`'s table row, {@linkcode DEFAULT_MAX_BYTES} outside the table. */
export function topicLimit(topic: string): number {
  let limit = topicLimits.get(topic);
  if (limit === undefined) {
    limit = findTopicSpec(topic)?.maxBytes ?? DEFAULT_MAX_BYTES;
    if (topicLimits.size >= TOPIC_CACHE_MAX) topicLimits.clear();
    topicLimits.set(topic, limit);
  }
  return limit;
}

/**
 * Resolves a publish target: fills the row's `{params}`, checks the topic name (throws for
 * wildcards and the like) and takes QoS, retain and size limit from the options or the row.
 */
export function resolveTarget(
  target: TopicSpec | string,
  options: PublishOptions,
): PublishTarget {
  const spec = typeof target === "string" ? null : target;
  // A template without `{` has nothing to fill: topicFor would return it unchanged.
  const topic = spec
    ? (options.params || spec.topic.includes("{") ? topicFor(spec, options.params) : spec.topic)
    : (target as string);
  if (!validTopics.has(topic)) {
    assertTopicName(topic);
    if (validTopics.size >= TOPIC_CACHE_MAX) validTopics.clear();
    validTopics.add(topic);
  }
  return {
    topic,
    qos: options.qos ?? spec?.qos ?? 0,
    retain: options.retain ?? spec?.retain ?? false,
    spec,
    maxBytes: spec?.maxBytes ?? topicLimit(topic),
  };
}

/** `data` parsed with the row's schema (defaults filled); throws a `TypeError` saying why not. */
export function validateOutgoing(spec: TopicSpec, data: unknown): unknown {
  // The built schema, not its lazy stand-in (a proxy would trap every read zod makes).
  const result = builtSchema(spec.schema as z.ZodType).safeParse(data);
  if (!result.success) {
    throw new TypeError(`Invalid payload for ${spec.topic}: ${describeZodError(result.error)}`);
  }
  return result.data;
}

/**
 * Why `payload` may not go to `topic` (bigger than `maxBytes`), or `undefined` when it fits.
 * Counts UTF-8 bytes only when a string could be too big (a UTF-16 unit is at most 3 bytes).
 */
export function oversizeProblem(
  topic: string,
  payload: Uint8Array | string,
  maxBytes: number,
): string | undefined {
  const size = typeof payload !== "string"
    ? payload.byteLength
    : payload.length * 3 <= maxBytes
    ? 0
    : Buffer.byteLength(payload, "utf8");
  if (size <= maxBytes) return undefined;
  return `Cannot publish ${size} bytes on ${topic}: the limit is ${maxBytes} bytes ` +
    "(topic table). Send less, or raise the row's maxBytes in core/contracts/topics.ts.";
}

/**
 * The envelope of a `publishEvent` and where it goes: `data` validated with the row's schema
 * (defaults filled), the event type from the row or `options.eventType`, the id reused from
 * `options.correlationId` when given. Throws a `TypeError` saying what is wrong.
 */
export function encodeEvent(
  target: TopicSpec | string,
  data: unknown,
  options: PublishEventOptions,
  source: string,
): { target: PublishTarget; envelope: Envelope } {
  const resolved = resolveTarget(target, options);
  const { topic, spec } = resolved;
  const eventType = options.eventType ?? spec?.eventType;
  if (!eventType) {
    throw new TypeError(
      `publishEvent to ${topic} needs an event type: use a topic of the table or pass eventType`,
    );
  }
  if (spec && spec.wire !== "envelope") {
    throw new TypeError(`${spec.topic} is a ${spec.wire} topic: use publishJson or publishRaw`);
  }
  const payload = spec?.schema ? validateOutgoing(spec, data) : data;
  if (!isPlainObject(payload)) {
    throw new TypeError(`The data published to ${topic} must be a JSON object`);
  }
  const envelope = Envelope.new({
    eventType,
    data: payload,
    correlate: options.correlationId,
    source,
  });
  return { target: resolved, envelope };
}
