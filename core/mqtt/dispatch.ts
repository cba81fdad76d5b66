/**
 * Dispatch of received messages to the registered handlers: the registration of a handler
 * (its decode rule and its own bounded {@linkcode HandlerQueue}), and for each message the
 * size limits, de-duplication, decoding and queueing, with counting and rate-limited logs.
 * It does no network I/O: the client hands it each PUBLISH and an acknowledge callback.
 *
 * @module
 */
import type { z } from "zod";
import { builtSchema } from "../contracts/lazy_schema.ts";
import { filterOf, type QoS, topicFor, type TopicSpec, type Wire } from "../contracts/topic.ts";
import type { Logger } from "../log/logging.ts";
import type { RateLimitedLog } from "../log/rate_limited.ts";
import { dedupeHash, type MessageDeduplicator } from "./dedupe.ts";
import { HandlerQueue } from "./handler_queue.ts";
import {
  type DecodedMessage,
  decodeFor,
  type DecodeRule,
  IncomingPayload,
  invalidKind,
  rejectionKind,
  unvalidatedData,
} from "./incoming.ts";
import type { ClientMetrics } from "./metrics.ts";
import { topicLimit } from "./outgoing.ts";
import { SubscriptionRegistry } from "./registry.ts";
import type {
  DeliveryOptions,
  InvalidHandler,
  InvalidMessage,
  MessageHandler,
  RawSubscribeOptions,
  SubscribeOptions,
  TopicSubscribeOptions,
} from "./types.ts";

/** Highest QoS a subscription asks for. */
const MAX_SUBSCRIPTION_QOS: QoS = 2;

/** One handler's subscription. */
export interface Registration extends DecodeRule {
  /** The MQTT filter. */
  readonly filter: string;
  /** The subscription QoS. */
  readonly qos: QoS;
  /** Payload limit in bytes; `null`: the limit of the arriving topic's row. */
  readonly maxBytes: number | null;
  /** Retained copies are skipped. */
  readonly ignoreRetained: boolean;
  /** Called for each rejected message; `null`: none. */
  readonly onInvalid: InvalidHandler | null;
  /** The handler's queue. */
  readonly queue: HandlerQueue<DecodedMessage>;
}

/** How to register a handler (the client's subscribe options, resolved). */
export interface RegisterOptions extends DeliveryOptions {
  /** Payload schema. */
  schema?: z.ZodType;
  /** Wire encoding; default `envelope`. */
  wire?: Wire;
  /** Accept bare JSON objects (envelope wire). */
  acceptRaw?: boolean;
  /** Event type of a synthesised envelope. */
  eventType?: string | null;
  /** Payload limit in bytes. */
  maxBytes?: number;
}

/** A received PUBLISH, as far as dispatch cares. */
export interface IncomingPacket {
  /** The concrete topic. */
  readonly topic: string;
  /** The payload (MQTT.js gives a Buffer, rarely a string). */
  readonly payload: Uint8Array | string;
  /** The retain flag. */
  readonly retain: boolean;
}

/** What a {@linkcode Dispatcher} reports to and logs through. */
export interface DispatcherOptions {
  /** The client's counters (updated in place). */
  readonly metrics: ClientMetrics;
  /** The client's logger. */
  readonly log: Logger;
  /** The client's rate limiter of warnings. */
  readonly warnings: RateLimitedLog;
  /** The de-duplicator, `null` when off. */
  readonly dedupe: MessageDeduplicator | null;
}

/** The registrations of one client and the dispatch of its received messages. */
export class Dispatcher {
  /** Registrations, matching and wanted filters. */
  readonly registry = new SubscriptionRegistry<Registration>();
  readonly #metrics: ClientMetrics;
  readonly #log: Logger;
  readonly #warnings: RateLimitedLog;
  readonly #dedupe: MessageDeduplicator | null;

  /** Creates a dispatcher. */
  constructor(options: DispatcherOptions) {
    this.#metrics = options.metrics;
    this.#log = options.log;
    this.#warnings = options.warnings;
    this.#dedupe = options.dedupe;
  }

  /**
   * Creates the registration of `handler` on `filter` (not yet added to the registry); throws
   * a `TypeError` for a bad `maxBytes`.
   */
  registration(
    filter: string,
    handler: MessageHandler<unknown>,
    options: RegisterOptions,
  ): Registration {
    if (
      options.maxBytes !== undefined &&
      (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 1)
    ) {
      throw new TypeError(`maxBytes of the subscription to ${filter} must be a positive integer`);
    }
    const timeoutMs = options.handlerTimeoutMs ?? 30_000;
    return {
      filter,
      qos: Math.min(options.qos ?? 0, MAX_SUBSCRIPTION_QOS) as QoS,
      wire: options.wire ?? "envelope",
      schema: options.schema ?? null,
      acceptRaw: options.acceptRaw ?? false,
      eventType: options.eventType ?? null,
      maxBytes: options.maxBytes ?? null,
      ignoreRetained: options.ignoreRetained ?? false,
      onInvalid: options.onInvalid ?? null,
      queue: new HandlerQueue<DecodedMessage>({
        maxSize: options.queueSize ?? 256,
        concurrency: options.concurrency ?? 1,
        overflow: options.overflow ?? "drop-oldest",
        timeoutMs,
        run: (msg, signal) =>
          handler(msg.payload, {
            topic: msg.topic,
            envelope: msg.envelope,
            correlationId: msg.envelope?.id ?? null,
            retained: msg.retained,
            signal,
          }),
        onDrop: (msg, reason) => {
          this.#metrics.dropped++;
          this.#warnings.maybe(
            `drop:${filter}:${reason}`,
            (suppressed) =>
              this.#log.warn("Dropped a message on {topic} ({reason}: handler queue of {filter})", {
                topic: msg.topic,
                filter,
                reason,
                suppressed,
              }),
          );
        },
        onError: (msg, error) => {
          this.#metrics.handlerErrors++;
          this.#log.error("Handler for {filter} failed on {topic} (correlation {correlationId})", {
            filter,
            topic: msg.topic,
            correlationId: msg.envelope?.id ?? null,
            error,
          });
        },
        onTimeout: (msg) => {
          this.#metrics.handlerTimeouts++;
          this.#log.error(
            "Handler for {filter} exceeded {timeoutMs} ms on {topic} (correlation {correlationId})",
            { filter, topic: msg.topic, timeoutMs, correlationId: msg.envelope?.id ?? null },
          );
        },
      }),
    };
  }

  /**
   * Counts a received `packet` and {@linkcode dispatch}es it. Nothing a payload does may end
   * the service (an uncaught error in MQTT.js's message callback would): a failure to decode
   * drops it, counts it as invalid, says so (rate-limited) and acknowledges it.
   */
  receive(packet: IncomingPacket, done: () => void): void {
    this.#metrics.received++;
    try {
      this.dispatch(packet, done);
    } catch (error) {
      this.#metrics.invalid++;
      this.#warnings.maybe(
        `dispatch:${(error as Error)?.name ?? typeof error}`,
        (suppressed) =>
          this.#log.warn("Dropped a message on {topic} that failed to decode: {error}", {
            topic: packet.topic,
            error,
            suppressed,
          }),
      );
      done();
    }
  }

  /**
   * Decodes `packet` for every matching registration and queues it; calls `done` (the
   * acknowledgement) at once, or once every blocking queue took it.
   */
  dispatch(packet: IncomingPacket, done: () => void): void {
    const topic = packet.topic;
    let matches = this.registry.matching(topic);
    if (packet.retain && matches.length > 0) matches = withoutRetainedIgnored(matches);
    if (matches.length === 0) {
      done();
      return;
    }
    const incoming = new IncomingPayload(packet.payload);
    // The size limit comes first: an oversized payload is never parsed or hashed.
    matches = this.#withinLimits(matches, topic, incoming.raw.byteLength, packet.retain);
    if (matches.length === 0) {
      done();
      return;
    }
    if (this.#dedupe) {
      let enveloped = false;
      for (const reg of matches) if (reg.wire === "envelope") enveloped = true;
      if (enveloped) {
        const env = incoming.envelope();
        if (env && this.#dedupe.isDuplicate(dedupeHash(env))) {
          this.#metrics.duplicates++;
          done();
          return;
        }
      }
    }
    let blocked: Promise<void>[] | null = null;
    for (const reg of matches) {
      const message = decodeFor(reg, topic, incoming, packet.retain);
      if (typeof message === "string") {
        this.#reject(reg, topic, message, incoming, packet.retain);
        continue;
      }
      const wait = reg.queue.push(message);
      if (wait) (blocked ??= []).push(wait);
    }
    if (blocked === null) done();
    else Promise.all(blocked).then(() => done());
  }

  /**
   * `matches` without the registrations whose size limit `size` exceeds (the same array when
   * none does); counts the message once as `oversized` and logs per filter, rate-limited.
   */
  #withinLimits(
    matches: readonly Registration[],
    topic: string,
    size: number,
    retained: boolean,
  ): readonly Registration[] {
    let kept: Registration[] | null = null;
    for (let i = 0; i < matches.length; i++) {
      const reg = matches[i];
      const limit = reg.maxBytes ?? topicLimit(topic);
      if (size <= limit) {
        kept?.push(reg);
        continue;
      }
      if (kept === null) {
        kept = matches.slice(0, i);
        this.#metrics.oversized++;
      }
      this.#warnings.maybe(
        `oversized:${reg.filter}`,
        (suppressed) =>
          this.#log.warn(
            "Dropped a {size}-byte message on {topic} unread: the limit of {filter} is " +
              "{limit} bytes (topic table)",
            { size, topic, filter: reg.filter, limit, suppressed },
          ),
      );
      if (reg.onInvalid) {
        const reason = `oversized: ${size} bytes, the limit is ${limit}`;
        this.#notify(reg, topic, reason, { kind: "oversized", size, retained });
      }
    }
    return kept ?? matches;
  }

  #reject(
    reg: Registration,
    topic: string,
    reason: string,
    incoming: IncomingPayload,
    retained: boolean,
  ): void {
    this.#metrics.invalid++;
    // One line per subscription and kind of problem, not per topic: a flood of bad messages
    // over many topics of one wildcard must not flood the log.
    this.#warnings.maybe(
      `invalid:${reg.filter}:${rejectionKind(reason)}`,
      (suppressed) =>
        this.#log.warn("Rejected a message on {topic}: {reason}", { topic, reason, suppressed }),
    );
    if (reg.onInvalid) {
      const kind = invalidKind(reason);
      const size = incoming.raw.byteLength;
      this.#notify(reg, topic, reason, {
        kind,
        size,
        retained,
        data: kind === "schema" ? unvalidatedData(reg, incoming) : undefined,
      });
    }
  }

  /** Calls the registration's `onInvalid`; a hook that throws is logged, never propagated. */
  #notify(reg: Registration, topic: string, reason: string, message: InvalidMessage): void {
    try {
      reg.onInvalid?.(topic, reason, message);
    } catch (error) {
      this.#metrics.handlerErrors++;
      this.#log.error("The onInvalid hook of {filter} failed on {topic}: {error}", {
        filter: reg.filter,
        topic,
        error,
      });
    }
  }
}

/** The filter and registration options of a `subscribe(target, handler, options)`. */
export function subscriptionOf(
  target: TopicSpec | string,
  options: TopicSubscribeOptions & SubscribeOptions<unknown>,
): { filter: string; register: RegisterOptions } {
  if (typeof target === "string") return { filter: target, register: options };
  return {
    filter: options.params ? topicFor(target, options.params) : filterOf(target),
    register: {
      ...options,
      // The built schema, not its lazy stand-in: every message is parsed with it.
      schema: target.schema ? builtSchema(target.schema) : undefined,
      wire: target.wire,
      acceptRaw: target.acceptsRaw,
      qos: options.qos ?? target.qos,
      eventType: target.eventType,
      maxBytes: target.maxBytes,
    },
  };
}

/** The filter and registration options of a `subscribeRaw(target, handler, options)`. */
export function rawSubscriptionOf(
  target: TopicSpec | string,
  options: RawSubscribeOptions,
): { filter: string; register: RegisterOptions } {
  const filter = typeof target === "string"
    ? target
    : options.params
    ? topicFor(target, options.params)
    : filterOf(target);
  const qos = options.qos ?? (typeof target === "string" ? 0 : target.qos);
  const maxBytes = options.maxBytes ?? (typeof target === "string" ? undefined : target.maxBytes);
  return { filter, register: { ...options, wire: "binary", qos, maxBytes } };
}

/** The registration options of the reply listener of `spec` (many replies at once). */
export function replyListenerOptions(spec: TopicSpec): RegisterOptions {
  return {
    schema: spec.schema ? builtSchema(spec.schema) : undefined,
    wire: spec.wire,
    acceptRaw: spec.acceptsRaw,
    qos: spec.qos,
    eventType: spec.eventType,
    maxBytes: spec.maxBytes,
    concurrency: 16,
    queueSize: 1024,
  };
}

/** `matches` without the registrations that ignore retained copies (the same array if none). */
function withoutRetainedIgnored(matches: readonly Registration[]): readonly Registration[] {
  for (const reg of matches) {
    if (reg.ignoreRetained) return matches.filter((r) => !r.ignoreRetained);
  }
  return matches;
}
