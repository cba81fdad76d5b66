/**
 * The shape of one row of the topic table: everything a service needs to publish or
 * subscribe a topic without building topic strings or JSON by hand.
 *
 * @module
 */
import type { z } from "zod";
import type { ServiceName } from "../service/catalog.ts";
import { TOPIC_PARAM } from "./topic_param.ts";

/**
 * How a topic's payload is encoded on the wire.
 * - `envelope`: the py-tars envelope JSON, payload in `data`.
 * - `json`: bare JSON (py-tars `system/keepalive/*`, ESP32 topics).
 * - `binary`: raw bytes (PCM audio).
 */
export type Wire = "envelope" | "json" | "binary";

/** MQTT quality of service. */
export type QoS = 0 | 1 | 2;

/**
 * The programs that appear as publishers or subscribers in the topic table: a TARS service
 * ({@linkcode ServiceName}), `esp32` (the ESP32 movement firmware), `homeassistant` (a Home
 * Assistant instance, its own MQTT login), or `*` for every service (health, keepalive).
 */
export type TopicParty = ServiceName | "esp32" | "homeassistant" | "*";

/** One row of the topic table. */
export interface TopicSpec<S extends z.ZodType = z.ZodType> {
  /** Key of the row in the table, e.g. `sttFinal`. */
  readonly name: string;
  /**
   * The topic. Parameterised topics use `{param}` for one level, e.g.
   * `system/health/{client_id}`; fill them with {@linkcode topicFor}.
   */
  readonly topic: string;
  /** Envelope event type (`stt.final`); `null` for `json` and `binary` topics. */
  readonly eventType: string | null;
  /** Zod schema of the payload (`data` for envelopes); `null` for binary topics. */
  readonly schema: S | null;
  /** Wire encoding. */
  readonly wire: Wire;
  /** Default QoS for publishing and subscribing. */
  readonly qos: QoS;
  /** Whether publishes are retained. */
  readonly retain: boolean;
  /**
   * Whether subscribers also accept the bare JSON payload without an envelope
   * (py-tars sends some control messages raw); we always publish the enveloped form.
   */
  readonly acceptsRaw: boolean;
  /** Services that publish it. */
  readonly publishers: readonly TopicParty[];
  /** Services that subscribe to it. */
  readonly subscribers: readonly TopicParty[];
  /** One sentence saying what the topic carries. */
  readonly description: string;
  /**
   * The largest payload (bytes on the wire, envelope included) the topic carries. A
   * subscriber drops a bigger one before parsing it; publishing a bigger one fails.
   */
  readonly maxBytes: number;
}

/**
 * The payload limit of a row that sets none: 64 KiB, room for the largest control or
 * conversation message (a 10 000-character utterance in 3-byte UTF-8 is 30 KB).
 */
export const DEFAULT_MAX_BYTES = 64 * 1024;

/** The payload type a handler of `spec` receives. */
export type PayloadOf<T extends TopicSpec> = T extends TopicSpec<infer S> ? z.output<S> : never;

/** The payload type a publisher of `spec` passes in (defaults may be omitted). */
export type PayloadInputOf<T extends TopicSpec> = T extends TopicSpec<infer S> ? z.input<S>
  : never;

/** Names of the `{params}` of a topic template, in order. */
export function topicParams(topic: string): string[] {
  return [...topic.matchAll(TOPIC_PARAM)].map((m) => m[1]);
}

/**
 * Fills the `{params}` of a topic template. Throws when a parameter is missing or
 * contains `/`, `+` or `#`, which would change the topic's meaning.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { topicFor, topics } from "../mod.ts";
 * assert.equal(topicFor(topics.systemHealth, { client_id: "tars-stt" }), "system/health/tars-stt");
 * ```
 */
export function topicFor(
  spec: Pick<TopicSpec, "topic">,
  params: Record<string, string> = {},
): string {
  return spec.topic.replace(TOPIC_PARAM, (_m, name: string) => {
    const value = params[name];
    if (value === undefined || value === "") {
      throw new Error(
        `Topic "${spec.topic}" needs the parameter "${name}"; pass it as { ${name}: "..." }.`,
      );
    }
    if (/[/+#]/.test(value) || value.includes("\u0000")) {
      throw new Error(
        `Topic parameter "${name}"="${value}" must not contain "/", "+", "#" or NUL.`,
      );
    }
    return value;
  });
}

/**
 * The `{params}` of a concrete topic of `spec` (the reverse of {@linkcode topicFor});
 * `null` when the topic is not one of `spec`'s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paramsOfTopic, topics } from "../mod.ts";
 * const params = paramsOfTopic(topics.systemHealth, "system/health/tars-stt");
 * assert.deepEqual(params, { client_id: "tars-stt" });
 * ```
 */
export function paramsOfTopic(
  spec: Pick<TopicSpec, "topic">,
  topic: string,
): Record<string, string> | null {
  const names = topicParams(spec.topic);
  const pattern = spec.topic.split(TOPIC_PARAM).map((part, i) =>
    i % 2 === 1 ? "([^/+#]+)" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  ).join("");
  const match = new RegExp(`^${pattern}$`).exec(topic);
  if (!match) return null;
  return Object.fromEntries(names.map((name, i) => [name, match[i + 1]]));
}

/** The subscription filter of a topic: its `{params}` replaced by `+`. */
export function filterOf(spec: Pick<TopicSpec, "topic">): string {
  return spec.topic.replace(TOPIC_PARAM, "+");
}
