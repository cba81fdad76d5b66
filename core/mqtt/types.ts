/**
 * The option, handler and state types of `MqttClient` (no code).
 *
 * @module
 */
import type { z } from "zod";
import type { Envelope } from "../contracts/envelope.ts";
import type { QoS, TopicSpec, Wire } from "../contracts/topic.ts";
import type { MqttClientConfigInput } from "../config/mqtt_config.ts";
import type { Logger } from "../log/logging.ts";
import type { OverflowPolicy } from "./handler_queue.ts";

/** Options of `MqttClient`: the config fields plus runtime knobs. */
export interface MqttClientOptions extends MqttClientConfigInput {
  /** Wait for the broker's CONNACK per attempt, in ms; default 10 000. */
  connectTimeoutMs?: number;
  /** QoS 1/2 publishes kept while offline at most; default 10 000. */
  maxOfflineMessages?: number;
  /** Time `shutdown()`/`disconnect()` waits for running handlers, in ms; default 2 000. */
  shutdownGraceMs?: number;
  /** Random source for reconnect jitter (tests); default `Math.random`. */
  random?: () => number;
  /** Logger; default `tars.mqtt`. */
  logger?: Logger;
  /**
   * Health sent on connect until `MqttClient.announceReady` is called; default none,
   * i.e. `ready` is sent on the first connect. `runService` passes `{ ok: false, event:
   * "starting" }` so that `ready` means the service's handlers are subscribed.
   */
  initialHealth?: HealthStatus;
}

/** Per-message context a handler receives beside the payload. */
export interface MessageContext {
  /** The concrete topic the message arrived on. */
  readonly topic: string;
  /** The envelope (`null` for `json` and `binary` subscriptions). Synthesised for raw input. */
  readonly envelope: Envelope | null;
  /** The envelope id, which is the correlation id; `null` without an envelope. */
  readonly correlationId: string | null;
  /** Whether the broker delivered it as a retained message. */
  readonly retained: boolean;
  /** Aborted when the handler timed out or the client shuts down. */
  readonly signal: AbortSignal;
}

/** A message handler; may be async. Errors are caught, counted and logged. */
export type MessageHandler<T> = (payload: T, context: MessageContext) => void | Promise<void>;

/** Queueing options of a subscription. */
export interface QueueOptions {
  /** Subscription QoS; default the topic's QoS (or 0 for a plain filter). */
  qos?: QoS;
  /** Messages waiting at most; default 256. */
  queueSize?: number;
  /** Handler calls running at once; default 1 (messages handled in order). */
  concurrency?: number;
  /** Policy when the queue is full; default `drop-oldest`. */
  overflow?: OverflowPolicy;
  /** A handler call running longer is abandoned and logged, in ms; default 30 000, 0 = none. */
  handlerTimeoutMs?: number;
}

/** What kind of problem made the client reject a message (see {@linkcode InvalidHandler}). */
export type InvalidKind = "oversized" | "not JSON" | "not an envelope" | "schema";

/** The details of a rejected message, beside its topic and reason. */
export interface InvalidMessage {
  /** The kind of problem. */
  readonly kind: InvalidKind;
  /** The payload size in bytes. */
  readonly size: number;
  /** Whether the broker delivered it as retained. */
  readonly retained: boolean;
  /**
   * For `schema`: the value the schema refused (the envelope's data, or the bare JSON). For
   * a caller to answer it (e.g. echo a request id); it is NOT valid, treat it as untrusted.
   */
  readonly data?: unknown;
}

/**
 * Called, synchronously and outside the handler queue, for each message of a subscription
 * that the client rejects (too big, not JSON, not an envelope, refused by the schema) after
 * counting and logging it (rate-limited). `reason` is the logged text.
 */
export type InvalidHandler = (topic: string, reason: string, message: InvalidMessage) => void;

/** Delivery options of every subscription: queueing plus what never reaches the handler. */
export interface DeliveryOptions extends QueueOptions {
  /**
   * Retained copies never reach the handler (nor `onInvalid`): for commands and events that
   * must be live. Default false.
   */
  ignoreRetained?: boolean;
  /** Called for each rejected message (see {@linkcode InvalidHandler}). */
  onInvalid?: InvalidHandler;
}

/** Options of a subscription to a topic of the table. */
export interface TopicSubscribeOptions extends DeliveryOptions {
  /** Fills every `{param}` of the topic; without `params` each one subscribes as `+`. */
  params?: Record<string, string>;
}

/** Options of a subscription to a plain filter string. */
export interface SubscribeOptions<T> extends DeliveryOptions {
  /** Payload schema; without it the handler gets the unvalidated payload. */
  schema?: z.ZodType<T>;
  /** Wire encoding; default `envelope`. */
  wire?: Wire;
  /** Also accept a bare JSON object without an envelope (envelope wire only). */
  acceptRaw?: boolean;
  /**
   * Largest payload in bytes; a bigger one is dropped unparsed and counted as `oversized`.
   * Default: the `maxBytes` of the topic table row of each arriving topic, or
   * `DEFAULT_MAX_BYTES` for a topic outside the table.
   */
  maxBytes?: number;
}

/** Options of `MqttClient.subscribeRaw`. */
export interface RawSubscribeOptions extends TopicSubscribeOptions {
  /**
   * Largest payload in bytes; a bigger one is dropped and counted as `oversized`. Default:
   * the row's `maxBytes` (for a plain filter: the row of each arriving topic, or
   * `DEFAULT_MAX_BYTES` outside the table).
   */
  maxBytes?: number;
}

/** A live subscription. */
export interface Subscription {
  /** The MQTT filter. */
  readonly filter: string;
  /** Removes the handler (and the MQTT subscription when it was the last one on the filter). */
  unsubscribe(): Promise<void>;
}

/** Options of every publish call. */
export interface PublishOptions {
  /** QoS; default the topic's QoS (0 for a plain topic string). */
  qos?: QoS;
  /** Retain flag; default the topic's flag (false for a plain topic string). */
  retain?: boolean;
  /** Fills the topic's `{params}`. */
  params?: Record<string, string>;
  /**
   * QoS 0 while offline is dropped (a stale command must not fire late); set true to
   * queue it until the connection is back. QoS 1/2 is always queued.
   */
  queueWhenOffline?: boolean;
}

/** Options of `MqttClient.publishEvent`. */
export interface PublishEventOptions extends PublishOptions {
  /** Reuse this id as the envelope id (correlation), e.g. the request's id. */
  correlationId?: string | null;
  /** Event type, needed when publishing to a plain topic string. */
  eventType?: string;
}

/** Options of `MqttClient.publishDetached`. */
export interface DetachedPublishOptions extends PublishEventOptions {
  /**
   * Also called with each failure (after the client counted it in `detachedFailed` and
   * logged it, rate-limited), e.g. for a service's own counter. Must not throw.
   */
  onError?: (error: Error) => void;
}

/** Options of `MqttClient.request`. */
export interface RequestOptions<R extends TopicSpec> extends PublishOptions {
  /** Where the reply arrives (an envelope reusing the request's id). */
  replyTopic: R;
  /** Placeholder values of `replyTopic`; default `params` (the request topic's). */
  replyParams?: Readonly<Record<string, string>>;
  /** Give up after this many ms; default 5 000. */
  timeoutMs?: number;
  /** Use this id for the request (and so for the reply); default a new id. */
  correlationId?: string;
  /** Cancels the wait. */
  signal?: AbortSignal;
}

/** Health fields of `MqttClient.publishHealth` (py-tars `HealthPing`). */
export interface HealthStatus {
  /** Whether the service works. */
  ok: boolean;
  /** What happened, e.g. `ready`, `shutdown`, `lost`. */
  event?: string;
  /** Error text when `ok` is false. */
  err?: string;
}

/** Connection state of a client. */
export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting" | "closing";

/** Receives each change of a client's {@linkcode ConnectionState} (`MqttClient.onStateChange`). */
export type ConnectionStateListener = (state: ConnectionState, previous: ConnectionState) => void;
