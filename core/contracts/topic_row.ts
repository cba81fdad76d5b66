/**
 * One row of the topic table: what {@linkcode defineTopic} takes and how it checks it.
 *
 * @module
 */
import type { z } from "zod";
import {
  DEFAULT_MAX_BYTES,
  type QoS,
  type TopicParty,
  type TopicSpec,
  type Wire,
} from "./topic.ts";

interface TopicRowBase {
  /** Key of the row in the topic table (`topics`). */
  name: string;
  /** Topic template, `{param}` for one level. */
  topic: string;
  /** QoS for publishing and subscribing. */
  qos: QoS;
  /** Whether publishes are retained; default `false`. */
  retain?: boolean;
  /** Services that publish it. */
  publishers: readonly TopicParty[];
  /** Services that subscribe to it. */
  subscribers: readonly TopicParty[];
  /** One sentence saying what the topic carries. */
  description: string;
  /** Largest payload in bytes (envelope included); default {@linkcode DEFAULT_MAX_BYTES}. */
  maxBytes?: number;
}

/** Input of {@linkcode defineTopic} for an enveloped topic (the default wire). */
export interface EnvelopeTopicRow<S extends z.ZodType> extends TopicRowBase {
  /** Wire encoding; default `envelope`. */
  wire?: "envelope";
  /** Envelope event type. */
  eventType: string;
  /** Payload (`data`) schema. */
  schema: S;
  /** Also accept the bare payload without an envelope; default `false`. */
  acceptsRaw?: boolean;
}

/** Input of {@linkcode defineTopic} for a bare-JSON topic. */
export interface JsonTopicRow<S extends z.ZodType> extends TopicRowBase {
  /** Bare JSON, no envelope. */
  wire: "json";
  /** Payload schema. */
  schema: S;
}

/** Input of {@linkcode defineTopic} for a binary topic. */
export interface BinaryTopicRow extends TopicRowBase {
  /** Raw bytes. */
  wire: "binary";
}

/** Builds a {@linkcode TopicSpec} row, filling the defaults and checking it is consistent. */
export function defineTopic<S extends z.ZodType>(row: EnvelopeTopicRow<S>): TopicSpec<S>;
/** Builds a bare-JSON {@linkcode TopicSpec} row. */
export function defineTopic<S extends z.ZodType>(row: JsonTopicRow<S>): TopicSpec<S>;
/** Builds a binary {@linkcode TopicSpec} row (no schema; handlers get the bytes). */
export function defineTopic(row: BinaryTopicRow): TopicSpec<z.ZodType<Uint8Array>>;
export function defineTopic(
  row: EnvelopeTopicRow<z.ZodType> | JsonTopicRow<z.ZodType> | BinaryTopicRow,
): TopicSpec {
  const wire: Wire = row.wire ?? "envelope";
  const eventType = "eventType" in row ? row.eventType : null;
  const schema = "schema" in row ? row.schema : null;
  if (wire === "envelope" && (!eventType || !schema)) {
    throw new TypeError(`Topic ${row.topic}: an envelope topic needs an eventType and a schema`);
  }
  if (wire === "json" && !schema) {
    throw new TypeError(`Topic ${row.topic}: a json topic needs a schema`);
  }
  const maxBytes = row.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new TypeError(`Topic ${row.topic}: maxBytes must be a positive integer`);
  }
  return Object.freeze({
    name: row.name,
    topic: row.topic,
    eventType: wire === "envelope" ? eventType : null,
    schema: wire === "binary" ? null : schema,
    wire,
    qos: row.qos,
    retain: row.retain ?? false,
    acceptsRaw: "acceptsRaw" in row ? row.acceptsRaw ?? false : false,
    publishers: Object.freeze([...row.publishers]),
    subscribers: Object.freeze([...row.subscribers]),
    description: row.description,
    maxBytes,
  });
}
