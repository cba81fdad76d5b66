/**
 * `MqttClient`: the one MQTT client every TARS service uses (on MQTT.js v5, MQTT 3.1.1).
 *
 * It owns reconnects (exponential backoff with jitter, forever), restores every
 * subscription exactly once after a reconnect, publishes retained health with a last will,
 * runs the optional heartbeat and watchdog, de-duplicates, validates payloads with the
 * contract schemas and dispatches each message to every matching handler through that
 * handler's own bounded queue.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import mqtt from "mqtt";
import type { IClientOptions, IPublishPacket, MqttClient as MqttJsClient } from "mqtt";
import type { z } from "zod";
import { Envelope, epochSeconds, newMessageId } from "../contracts/envelope.ts";
import {
  DEFAULT_MAX_BYTES,
  filterOf,
  type PayloadInputOf,
  type PayloadOf,
  type QoS,
  topicFor,
  type TopicSpec,
  type Wire,
} from "../contracts/topic.ts";
import { findTopicSpec, topics } from "../contracts/topics.ts";
import {
  MqttClientConfig,
  type MqttClientConfigInput,
  type MqttConfigFromEnvOptions,
  type MqttTlsFiles,
  parseMqttUrl,
  readMqttTlsFiles,
  redactUrl,
} from "../config/mqtt_config.ts";
import { getLogger, type Logger } from "../log/logging.ts";
import { RateLimitedLog } from "../log/rate_limited.ts";
import { redactForLog } from "../log/redact.ts";
import { ExponentialBackoff } from "./backoff.ts";
import { dedupeHash, MessageDeduplicator } from "./dedupe.ts";
import { HandlerQueue, type OverflowPolicy } from "./handler_queue.ts";
import { Heartbeat } from "./heartbeat.ts";
import { type ClientMetrics, emptyMetrics } from "./metrics.ts";
import { assertTopicFilter, assertTopicName, topicMatches } from "./topic_match.ts";

/** Options of {@linkcode MqttClient}: the config fields plus runtime knobs. */
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
   * Health sent on connect until {@linkcode MqttClient.announceReady} is called; default none,
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

/** Options of a subscription to a topic of the table. */
export interface TopicSubscribeOptions extends QueueOptions {
  /** Fills every `{param}` of the topic; without `params` each one subscribes as `+`. */
  params?: Record<string, string>;
}

/** Options of a subscription to a plain filter string. */
export interface SubscribeOptions<T> extends QueueOptions {
  /** Payload schema; without it the handler gets the unvalidated payload. */
  schema?: z.ZodType<T>;
  /** Wire encoding; default `envelope`. */
  wire?: Wire;
  /** Also accept a bare JSON object without an envelope (envelope wire only). */
  acceptRaw?: boolean;
  /**
   * Largest payload in bytes; a bigger one is dropped unparsed and counted as `oversized`.
   * Default: the `maxBytes` of the topic table row of each arriving topic, or
   * {@linkcode DEFAULT_MAX_BYTES} for a topic outside the table.
   */
  maxBytes?: number;
}

/** Options of {@linkcode MqttClient.subscribeRaw}. */
export interface RawSubscribeOptions extends TopicSubscribeOptions {
  /**
   * Largest payload in bytes; a bigger one is dropped and counted as `oversized`. Default:
   * the row's `maxBytes` (for a plain filter: the row of each arriving topic, or
   * {@linkcode DEFAULT_MAX_BYTES} outside the table).
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

/** Options of {@linkcode MqttClient.publishEvent}. */
export interface PublishEventOptions extends PublishOptions {
  /** Reuse this id as the envelope id (correlation), e.g. the request's id. */
  correlationId?: string | null;
  /** Event type, needed when publishing to a plain topic string. */
  eventType?: string;
}

/** Options of {@linkcode MqttClient.request}. */
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

/** Health fields of {@linkcode MqttClient.publishHealth} (py-tars `HealthPing`). */
export interface HealthStatus {
  /** Whether the service works. */
  ok: boolean;
  /** What happened, e.g. `ready`, `shutdown`, `lost`. */
  event?: string;
  /** Error text when `ok` is false. */
  err?: string;
}

/** Thrown by {@linkcode MqttClient.request} when no reply came in time. */
export class RequestTimeoutError extends Error {
  /** The topic the request was published on. */
  readonly topic: string;
  /** The topic (or filter) the reply was awaited on. */
  readonly replyTopic: string;
  /** The request's envelope id (the correlation id the reply had to carry). */
  readonly id: string;
  /** How long it waited, in ms. */
  readonly timeoutMs: number;

  /** Creates the error. */
  constructor(topic: string, replyTopic: string, id: string, timeoutMs: number) {
    super(
      `No reply on ${replyTopic} within ${timeoutMs} ms to the request on ${topic} (id ${id}); ` +
        "is the responding service running?",
    );
    this.name = "RequestTimeoutError";
    this.topic = topic;
    this.replyTopic = replyTopic;
    this.id = id;
    this.timeoutMs = timeoutMs;
  }
}

/** Connection state of a client. */
export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting" | "closing";

/** Receives each change of a client's {@linkcode ConnectionState} (`MqttClient.onStateChange`). */
export type ConnectionStateListener = (state: ConnectionState, previous: ConnectionState) => void;

interface Registration {
  readonly filter: string;
  readonly qos: QoS;
  readonly wire: Wire;
  readonly schema: z.ZodType | null;
  readonly acceptRaw: boolean;
  readonly eventType: string | null;
  /** Payload limit in bytes; `null`: the limit of the arriving topic's row. */
  readonly maxBytes: number | null;
  readonly queue: HandlerQueue<QueuedMessage>;
}

interface QueuedMessage {
  readonly payload: unknown;
  readonly topic: string;
  readonly envelope: Envelope | null;
  readonly retained: boolean;
}

interface PendingRequest {
  resolve(payload: unknown): void;
  reject(error: Error): void;
}

const AUTH_ERROR_CODES = new Set([2, 4, 5]);

/**
 * What to do about a TLS handshake failure (a certificate the client or the broker did not
 * accept), or `undefined` for any other error. Like a refused login, retrying cannot fix it.
 */
function tlsErrorHint(error: Error & { code?: number | string }): string | undefined {
  const code = typeof error.code === "string" ? error.code : "";
  if (/CERTIFICATE_REQUIRED/.test(code)) {
    return "The broker requires a client certificate: set MQTT_CERT_FILE and MQTT_KEY_FILE.";
  }
  if (/ALTNAME|HOSTNAME/.test(code)) {
    return "The broker's certificate does not name the host of MQTT_URL: connect to a name " +
      "it lists (subjectAltName) or reissue it.";
  }
  if (/CERT|UNABLE_TO_(GET|VERIFY)|ERR_SSL_|ERR_TLS_/.test(code)) {
    return "Set MQTT_CA_FILE to the PEM certificate of the CA that signed the broker's " +
      "certificate (and check MQTT_CERT_FILE / MQTT_KEY_FILE if the broker asks for one).";
  }
  return undefined;
}
const MAX_SUBSCRIPTION_QOS: QoS = 2;
/** Topics whose matching registrations / validity are remembered at most (then forgotten). */
const TOPIC_CACHE_MAX = 1024;
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
function plainEnvelope(value: unknown): Envelope | undefined {
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
const ENVELOPE_FAST_PATH = [
  { id: "x", type: "t", ts: -1.5, source: "", data: {} },
  { id: "0".repeat(64), type: "a.b", ts: 0, source: "s", data: { "1": [null, { a: 1 }], b: "" } },
].every((probe) => {
  const zod = Envelope.fromValue(JSON.parse(JSON.stringify(probe)));
  const fast = plainEnvelope(JSON.parse(JSON.stringify(probe)));
  return zod !== null && fast !== undefined && JSON.stringify(zod) === JSON.stringify(fast);
});

/**
 * Whether MQTT.js should log through `debug` (`DEBUG=mqttjs*` or `DEBUG=*`, as in Node). Off by
 * default: MQTT.js calls its logger several times per packet, and even a disabled `debug`
 * logger costs about 1 µs per message on the hot path.
 */
const MQTTJS_DEBUG = (() => {
  try {
    return /mqttjs|\*/.test(Deno.env.get("DEBUG") ?? "");
  } catch {
    return false; // no --allow-env: nothing asked for it
  }
})();

function ignoreMqttJsLog(): void {}

type JsonResult = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * One received payload, parsed lazily and at most once however many handlers match:
 * JSON first, then the envelope (dispatch hot path: one object instead of closures).
 */
class IncomingPayload {
  readonly raw: Uint8Array;
  #json: JsonResult | undefined;
  #envelope: Envelope | null | undefined;

  constructor(raw: Uint8Array) {
    this.raw = raw;
  }

  json(): JsonResult {
    if (this.#json) return this.#json;
    try {
      this.#json = { ok: true, value: JSON.parse(UTF8_DECODER.decode(this.raw)) };
    } catch (error) {
      this.#json = { ok: false, error: `not JSON (${(error as Error).message})` };
    }
    return this.#json;
  }

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

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describeZodError(error: z.ZodError): string {
  return error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}

/** Waits for `promise` at most `ms`; resolves `true` when it settled in time. Clears its timer. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The shared MQTT client.
 *
 * @example
 * ```ts
 * import { MqttClient, topics } from "../mod.ts";
 * await using client = MqttClient.fromEnv({ defaults: { clientId: "tars-router" } });
 * await client.connect();
 * await client.subscribe(topics.sttFinal, (final, ctx) => {
 *   console.log(final.text, ctx.correlationId);
 * });
 * await client.publishEvent(topics.ttsSay, { text: "Hello." });
 * ```
 */
export class MqttClient {
  /** The validated configuration. */
  readonly config: MqttClientConfig;
  readonly #options: MqttClientOptions;
  /** The contents of MQTT_CA_FILE / MQTT_CERT_FILE / MQTT_KEY_FILE, read once. */
  readonly #tls: MqttTlsFiles;
  readonly #log: Logger;
  readonly #warnings = new RateLimitedLog(10_000);
  readonly #backoff: ExponentialBackoff;
  readonly #dedupe: MessageDeduplicator | null;
  readonly #registrations = new Set<Registration>();
  /** Topic → its matching registrations in registration order; cleared when they change. */
  readonly #matchCache = new Map<string, readonly Registration[]>();
  /** Topic names that passed `assertTopicName` (a pure check). */
  readonly #validTopics = new Set<string>();
  /** Topic → the `maxBytes` of its table row ({@linkcode DEFAULT_MAX_BYTES} outside it). */
  readonly #topicLimits = new Map<string, number>();
  readonly #filters = new Map<string, QoS>();
  readonly #brokerFilters = new Map<string, QoS>();
  readonly #pending = new Map<string, PendingRequest>();
  readonly #replyListeners = new Map<string, Promise<void>>();
  #metrics: ClientMetrics = emptyMetrics();
  #mqtt: MqttJsClient | null = null;
  #stateValue: ConnectionState = "idle";
  readonly #stateListeners = new Set<ConnectionStateListener>();
  #everConnected = false;
  #connectWaiters: Array<{ resolve(): void; reject(e: Error): void }> = [];
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: Heartbeat | null = null;
  #offlinePending = 0;
  #lastError: Error | null = null;
  #closing: Promise<void> | null = null;
  #healthWatch: Subscription | null = null;
  #shuttingDown = false;
  #lastHealth: HealthStatus = { ok: true, event: "ready" };
  readonly #ownHealthIds: string[] = [];

  /**
   * Creates a client (not connected). Throws a `ConfigError` for invalid options, and for a
   * TLS file (`caFile`, `certFile`, `keyFile`) that cannot be read.
   */
  constructor(options: MqttClientOptions) {
    const {
      connectTimeoutMs: _c,
      maxOfflineMessages: _m,
      shutdownGraceMs: _s,
      random,
      logger,
      initialHealth,
      ...config
    } = options;
    this.config = MqttClientConfig.parse(config);
    this.#tls = readMqttTlsFiles(this.config);
    this.#options = options;
    this.#log = logger ?? getLogger("mqtt");
    if (initialHealth) this.#lastHealth = { ...initialHealth };
    this.#backoff = new ExponentialBackoff({
      minMs: this.config.reconnectMinDelay * 1000,
      maxMs: this.config.reconnectMaxDelay * 1000,
      random,
    });
    this.#dedupe = this.config.dedupeTtl > 0
      ? new MessageDeduplicator({
        ttlMs: this.config.dedupeTtl * 1000,
        maxEntries: this.config.dedupeMaxEntries,
      })
      : null;
  }

  /**
   * Creates a client from the `MQTT_*` environment variables (see
   * {@linkcode MqttClientConfig.fromEnv}); `defaults` apply to unset variables.
   */
  static fromEnv(
    options: MqttConfigFromEnvOptions & Omit<MqttClientOptions, keyof MqttClientConfig> = {},
    env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
  ): MqttClient {
    const { defaults, ...runtime } = options;
    return new MqttClient({ ...runtime, ...MqttClientConfig.fromEnv(env, { defaults }) });
  }

  /** Current connection state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Whether the client is connected right now. */
  get connected(): boolean {
    return this.#state === "connected";
  }

  /**
   * Calls `listener(state, previous)` synchronously on every change of {@linkcode state}, e.g.
   * `connected` → `reconnecting` when the broker is lost and `reconnecting` → `connected` once
   * the subscriptions are restored. A listener that throws is logged and does not stop the
   * others. Returns a function that removes the listener.
   *
   * @example
   * ```ts
   * const off = client.onStateChange((state) => { if (state !== "connected") stopMotors(); });
   * off();
   * ```
   */
  onStateChange(listener: ConnectionStateListener): () => void {
    this.#stateListeners.add(listener);
    return () => void this.#stateListeners.delete(listener);
  }

  // Every assignment to `#state` goes through this accessor pair, so listeners see each change.
  get #state(): ConnectionState {
    return this.#stateValue;
  }

  set #state(state: ConnectionState) {
    const previous = this.#stateValue;
    if (state === previous) return;
    this.#stateValue = state;
    for (const listener of [...this.#stateListeners]) {
      try {
        listener(state, previous);
      } catch (error) {
        this.#log.error("A connection state listener failed: {error}", { error });
      }
    }
  }

  /** The topic of this client's retained health. */
  get healthTopic(): string {
    return topicFor(topics.systemHealth, { client_id: this.config.clientId });
  }

  /** A copy of the counters. */
  metrics(): ClientMetrics {
    return { ...this.#metrics };
  }

  // ---------------------------------------------------------------- connection

  /**
   * Connects and resolves once connected (subscriptions restored, health `ready` sent).
   * Network failures are retried with backoff until `timeoutMs` (default: forever);
   * a broker that refuses the credentials rejects at once. Idempotent.
   */
  connect(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.#state === "connected") return Promise.resolve();
    if (options.signal?.aborted) return Promise.reject(new Error("connect() aborted"));
    if (this.#closing) {
      return this.#closing.then(() => this.connect(options));
    }
    const waiter = new Promise<void>((resolve, reject) => {
      this.#connectWaiters.push({ resolve, reject });
    });
    if (this.#state === "idle") this.#open();
    const { timeoutMs, signal } = options;
    if (timeoutMs === undefined && !signal) return waiter;
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const fail = (error: Error) => {
        cleanup();
        reject(error);
        if (this.#state !== "connected") void this.disconnect();
      };
      const onAbort = () => fail(new Error("connect() aborted"));
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const why = this.#lastError ? `: ${this.#lastError.message}` : "";
          fail(
            new Error(
              `Could not connect to ${redactUrl(this.config.url)} within ${timeoutMs} ms${why}. ` +
                "Is the broker running and MQTT_URL right?",
            ),
          );
        }, timeoutMs);
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      waiter.then(() => {
        cleanup();
        resolve();
      }, (error) => {
        cleanup();
        reject(error);
      });
    });
  }

  #open(): void {
    const url = parseMqttUrl(this.config.url);
    const willPayload = Envelope.toJson(Envelope.new({
      eventType: topics.systemHealth.eventType ?? "health.status",
      data: { message_id: newMessageId(), ok: false, event: "lost", timestamp: epochSeconds() },
      source: this.config.sourceName,
    }));
    const options: IClientOptions = {
      protocol: url.scheme,
      host: url.hostname,
      hostname: url.hostname,
      port: url.port,
      path: url.scheme === "ws" || url.scheme === "wss" ? url.path : undefined,
      username: url.username,
      password: url.password,
      clientId: this.config.clientId,
      keepalive: this.config.keepalive,
      clean: this.config.cleanSession,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: this.#options.connectTimeoutMs ?? 10_000,
      resubscribe: false,
      queueQoSZero: true,
      manualConnect: true,
      // TLS (mqtts://, wss://): the private CA and client certificate, if configured; the
      // broker's certificate is always verified.
      ...this.#tls,
      rejectUnauthorized: true,
      log: MQTTJS_DEBUG ? undefined : ignoreMqttJsLog,
      will: this.config.enableHealth
        ? { topic: this.healthTopic, payload: willPayload, qos: 1, retain: true }
        : undefined,
    };
    const client = mqtt.connect(options);
    client.handleMessage = (packet, done) => this.#onPublish(client, packet, done);
    client.on("connect", (connack) => void this.#onConnect(client, connack.sessionPresent));
    client.on("close", () => this.#onClose(client));
    client.on("error", (error) => this.#onError(error));
    this.#mqtt = client;
    this.#state = "connecting";
    this.#log.debug("Connecting to {url} as {clientId}", {
      url: redactUrl(this.config.url),
      clientId: this.config.clientId,
    });
    client.connect();
  }

  async #onConnect(client: MqttJsClient, sessionPresent: boolean): Promise<void> {
    if (client !== this.#mqtt) return;
    const socket = client.stream as unknown as { setNoDelay?: (on: boolean) => void };
    socket.setNoDelay?.(true);
    const wasReconnect = this.#everConnected;
    this.#everConnected = true;
    this.#backoff.reset();
    this.#lastError = null;
    if (wasReconnect) this.#metrics.reconnects++;
    for (const reg of this.#registrations) reg.queue.reopen();
    if (!(sessionPresent && !this.config.cleanSession)) this.#brokerFilters.clear();
    try {
      if (this.config.enableHealth && !this.#healthWatch) {
        this.#healthWatch = await this.#subscribeInternal(
          this.healthTopic,
          (payload, ctx) =>
            this.#onOwnHealth(
              payload as { ok?: boolean; event?: string },
              ctx.retained,
              ctx.correlationId,
            ),
          { wire: "envelope", qos: 1, concurrency: 1, queueSize: 4 },
        );
      }
      // Subscribe every filter the broker does not have yet, in one SUBSCRIBE per round;
      // loop because a subscribe() may land while the previous round was in flight.
      for (;;) {
        const missing: Record<string, { qos: QoS }> = {};
        let count = 0;
        for (const [filter, qos] of this.#filters) {
          if ((this.#brokerFilters.get(filter) ?? -1) < qos) {
            missing[filter] = { qos };
            count++;
          }
        }
        if (count === 0) break;
        const granted = await client.subscribeAsync(missing);
        for (const [filter, { qos }] of Object.entries(missing)) {
          this.#brokerFilters.set(filter, qos);
        }
        if (wasReconnect) this.#metrics.subscriptionsRestored += count;
        for (const g of granted) {
          if (g.qos === 128) {
            this.#log.error("The broker refused the subscription to {filter} (check its ACL)", {
              filter: g.topic,
            });
          }
        }
      }
    } catch (error) {
      if (client !== this.#mqtt) return;
      this.#log.warn("Restoring subscriptions failed: {error}", { error });
      return; // the connection is gone; the close handler schedules the next attempt
    }
    if (client !== this.#mqtt || !client.connected) return;
    this.#state = "connected";
    this.#log.info(wasReconnect ? "Reconnected to {url}" : "Connected to {url}", {
      url: redactUrl(this.config.url),
      clientId: this.config.clientId,
      sessionPresent,
    });
    if (this.config.enableHealth) {
      // The last status said (ready unless the service reported otherwise) outlives reconnects.
      this.publishHealth(this.#lastHealth).catch((error) =>
        this.#log.warn("Publishing health failed: {error}", { error })
      );
    }
    this.#startHeartbeat();
    for (const waiter of this.#connectWaiters.splice(0)) waiter.resolve();
  }

  #onClose(client: MqttJsClient): void {
    if (client !== this.#mqtt || this.#state === "closing" || this.#state === "idle") return;
    this.#heartbeat?.stop();
    if (this.#state === "connected") {
      this.#log.warn("Lost the connection to {url}; reconnecting", {
        url: redactUrl(this.config.url),
      });
    }
    this.#state = this.#everConnected ? "reconnecting" : "connecting";
    if (this.#reconnectTimer !== undefined) return;
    const wait = this.#backoff.next();
    const key = `retry:${this.#lastError?.message ?? "closed"}`;
    this.#warnings.maybe(key, (suppressed) =>
      this.#log.warn(
        "Broker {url} not reachable ({reason}); retrying in {delayMs} ms",
        {
          url: redactUrl(this.config.url),
          reason: this.#lastError?.message ?? "connection closed",
          delayMs: Math.round(wait),
          suppressed,
        },
      ));
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (client !== this.#mqtt || this.#state === "closing" || this.#state === "idle") return;
      client.reconnect({
        incomingStore: client.incomingStore,
        outgoingStore: client.outgoingStore,
      });
    }, wait);
  }

  #onError(error: Error & { code?: number | string }): void {
    this.#lastError = error;
    const tlsHint = tlsErrorHint(error);
    if ((typeof error.code === "number" && AUTH_ERROR_CODES.has(error.code)) || tlsHint) {
      const message = tlsHint
        ? `Cannot connect to ${redactUrl(this.config.url)}: TLS failed (${error.message}). ` +
          tlsHint
        : `The broker ${redactUrl(this.config.url)} refused the connection: ` +
          `${error.message}. Check the user name, password and client id in MQTT_URL / ` +
          "MQTT_CLIENT_ID.";
      if (!this.#everConnected) {
        // Retrying cannot help: close first, then fail connect() with the reason.
        const failure = new Error(message);
        const waiters = this.#connectWaiters.splice(0);
        void this.disconnect().then(() => {
          for (const waiter of waiters) waiter.reject(failure);
        });
        return;
      }
      this.#log.error(message);
    }
  }

  /**
   * Closes the connection cleanly (no will is sent) without publishing health. Running
   * handlers get `shutdownGraceMs` to finish; pending requests are rejected. The client
   * can connect again later. Idempotent.
   */
  disconnect(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (this.#state === "idle" && !this.#mqtt) return Promise.resolve();
    this.#closing = this.#close().finally(() => this.#closing = null);
    return this.#closing;
  }

  /**
   * Publishes health `ok:false, event:"shutdown"` (when health is on and connected), then
   * {@linkcode MqttClient.disconnect}s. Idempotent; `await using` calls it.
   */
  async shutdown(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#shuttingDown = true;
    try {
      await this.#announceShutdown();
      await this.disconnect();
    } finally {
      this.#shuttingDown = false;
    }
  }

  async #announceShutdown(): Promise<void> {
    if (this.config.enableHealth && this.#state === "connected") {
      const sent = this.publishHealth({ ok: false, event: "shutdown" }).catch((error) =>
        this.#log.warn("Publishing shutdown health failed: {error}", { error })
      );
      await settlesWithin(sent, 1_000);
    }
  }

  /** `await using client = ...` shuts the client down at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #close(): Promise<void> {
    const client = this.#mqtt;
    this.#state = "closing";
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#heartbeat?.stop();
    this.#heartbeat = null;
    const closed = new Error("The MQTT client was disconnected before the reply arrived");
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(closed);
    }
    const grace = this.#options.shutdownGraceMs ?? 2_000;
    await Promise.all([...this.#registrations].map((reg) => reg.queue.close(grace)));
    if (client) {
      const ended = client.connected
        ? settlesWithin(
          new Promise<void>((resolve) => client.end(false, {}, () => resolve())),
          1_000,
        )
        : Promise.resolve(false);
      if (!(await ended)) {
        await settlesWithin(
          new Promise<void>((resolve) => client.end(true, {}, () => resolve())),
          1_000,
        );
      }
      client.removeAllListeners();
    }
    this.#mqtt = null;
    this.#brokerFilters.clear();
    this.#everConnected = false;
    this.#offlinePending = 0;
    this.#state = "idle";
    const stopped = new Error("The MQTT client was disconnected while connecting");
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(stopped);
    this.#log.debug("Disconnected from {url}", { url: redactUrl(this.config.url) });
  }

  #onOwnHealth(
    payload: { ok?: boolean; event?: string },
    retained: boolean,
    id: string | null,
  ): void {
    // A retained copy predates our subscription and is superseded by the `ready` sent on
    // connect; our own publishes (e.g. a degraded `ok:false`) are what we meant to say.
    // Only a live `ok:false` from elsewhere (a late will, a stray publisher) is answered,
    // with the status this client last published.
    if (payload.ok !== false || retained || this.#shuttingDown) return;
    if (this.#state !== "connected" || (id !== null && this.#ownHealthIds.includes(id))) return;
    this.#log.warn("Health says {event} while connected; re-asserting {status}", {
      event: payload.event ?? "offline",
      status: this.#lastHealth.event ?? String(this.#lastHealth.ok),
    });
    this.publishHealth(this.#lastHealth).catch((error) =>
      this.#log.warn("Re-asserting health failed: {error}", { error })
    );
  }

  #startHeartbeat(): void {
    if (!this.config.enableHeartbeat) return;
    this.#heartbeat?.stop();
    const topic = topicFor(topics.systemKeepalive, { client_id: this.config.clientId });
    this.#heartbeat = new Heartbeat({
      intervalMs: this.config.heartbeatInterval * 1000,
      publish: () =>
        this.#publishBytes(
          topic,
          JSON.stringify({ ok: true, event: "heartbeat", timestamp: epochSeconds() }),
          1,
          false,
          false,
        ),
      onError: (error) => this.#log.debug("Heartbeat failed: {error}", { error }),
      onStall: (silentMs) => {
        this.#metrics.watchdogResets++;
        this.#log.warn("No heartbeat got through for {silentMs} ms; forcing a reconnect", {
          silentMs,
        });
        this.#mqtt?.stream?.destroy();
      },
    });
    this.#heartbeat.start();
  }

  // ---------------------------------------------------------------- publishing

  /**
   * Publishes `data` as an envelope. With a table topic, `data` is validated with its
   * schema (defaults such as `message_id` filled) and QoS/retain come from the table.
   * Resolves with the envelope id once the broker has it (QoS 1/2: acknowledged).
   *
   * @example
   * ```ts
   * const id = await client.publishEvent(topics.llmRequest, { id: "rt-1", text: "hi" });
   * ```
   */
  publishEvent<S extends TopicSpec>(
    spec: S,
    data: PayloadInputOf<S>,
    options?: PublishEventOptions,
  ): Promise<string>;
  /** Publishes an envelope to a plain topic; `options.eventType` is required. */
  publishEvent(
    topic: string,
    data: Record<string, unknown>,
    options: PublishEventOptions & { eventType: string },
  ): Promise<string>;
  publishEvent(
    target: TopicSpec | string,
    data: unknown,
    options: PublishEventOptions = {},
  ): Promise<string> {
    // Not `async`: one promise per publish instead of three (a hot path); a bad call still
    // rejects rather than throws.
    try {
      return this.#publishEvent(target, data, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #publishEvent(
    target: TopicSpec | string,
    data: unknown,
    options: PublishEventOptions,
  ): Promise<string> {
    const { topic, qos, retain, spec, maxBytes } = this.#resolveTarget(target, options);
    const eventType = options.eventType ?? spec?.eventType;
    if (!eventType) {
      throw new TypeError(
        `publishEvent to ${topic} needs an event type: use a topic of the table or pass eventType`,
      );
    }
    if (spec && spec.wire !== "envelope") {
      throw new TypeError(`${spec.topic} is a ${spec.wire} topic: use publishJson or publishRaw`);
    }
    const payload = spec?.schema ? this.#validateOutgoing(spec, data) : data;
    if (!isPlainObject(payload)) {
      throw new TypeError(`The data published to ${topic} must be a JSON object`);
    }
    const envelope = Envelope.new({
      eventType,
      data: payload,
      correlate: options.correlationId,
      source: this.config.sourceName,
    });
    return this.#publishBytes(
      topic,
      Envelope.toJson(envelope),
      qos,
      retain,
      options.queueWhenOffline,
      maxBytes,
    ).then(() => envelope.id);
  }

  /** Publishes bare JSON (no envelope), e.g. for ESP32 topics; validated for table topics. */
  async publishJson(
    target: TopicSpec | string,
    value: unknown,
    options: PublishOptions = {},
  ): Promise<void> {
    const { topic, qos, retain, spec, maxBytes } = this.#resolveTarget(target, options);
    const payload = spec?.schema ? this.#validateOutgoing(spec, value) : value;
    await this.#publishBytes(
      topic,
      JSON.stringify(payload),
      qos,
      retain,
      options.queueWhenOffline,
      maxBytes,
    );
  }

  /** Publishes raw bytes (audio frames). */
  async publishRaw(
    target: TopicSpec | string,
    bytes: Uint8Array | string,
    options: PublishOptions = {},
  ): Promise<void> {
    const { topic, qos, retain, maxBytes } = this.#resolveTarget(target, options);
    await this.#publishBytes(topic, bytes, qos, retain, options.queueWhenOffline, maxBytes);
  }

  /**
   * Publishes retained health on `system/health/<client_id>` (QoS 1). A no-op when health
   * is off (py-tars); skipped with a debug line when not connected (the client re-sends
   * `ready` on every connect).
   */
  async publishHealth(status: HealthStatus): Promise<void> {
    if (!this.config.enableHealth) return;
    if (this.#state !== "connected" && this.#state !== "closing") {
      this.#log.debug("Not connected; health {event} not sent", { event: status.event });
      return;
    }
    // Health is on the bus and on the dashboard: an error text (often a provider's or a
    // library's message) is redacted and cut like a log line.
    if (status.err) status = { ...status, err: redactForLog(status.err) };
    if (status.event !== "shutdown") this.#lastHealth = { ...status };
    const id = newMessageId(); // known before it can echo back to our own subscription
    this.#ownHealthIds.push(id);
    if (this.#ownHealthIds.length > 8) this.#ownHealthIds.shift();
    await this.publishEvent(topics.systemHealth, { ...status }, {
      params: { client_id: this.config.clientId },
      correlationId: id,
    });
  }

  /**
   * Ends the `initialHealth` phase: publishes `ready` unless the service reported a problem
   * (`ok:false`) itself in the meantime. Used by `runService` after `main`.
   */
  async announceReady(): Promise<void> {
    const initial = this.#options.initialHealth;
    if (initial && !this.#lastHealth.ok && this.#lastHealth.event !== initial.event) return;
    if (initial && this.#state !== "connected") {
      this.#lastHealth = { ok: true, event: "ready" }; // sent on the next connect
      return;
    }
    if (initial) await this.publishHealth({ ok: true, event: "ready" });
  }

  /** Publishes the counters on `system/metrics/<client_id>` (retained). */
  async publishMetrics(): Promise<void> {
    await this.publishEvent(topics.systemMetrics, {
      client_id: this.config.clientId,
      counters: { ...this.#metrics },
    }, { params: { client_id: this.config.clientId } });
  }

  #resolveTarget(
    target: TopicSpec | string,
    options: PublishOptions,
  ): { topic: string; qos: QoS; retain: boolean; spec: TopicSpec | null; maxBytes: number } {
    const spec = typeof target === "string" ? null : target;
    // A template without `{` has nothing to fill: topicFor would return it unchanged.
    const topic = spec
      ? (options.params || spec.topic.includes("{") ? topicFor(spec, options.params) : spec.topic)
      : (target as string);
    if (!this.#validTopics.has(topic)) {
      assertTopicName(topic);
      if (this.#validTopics.size >= TOPIC_CACHE_MAX) this.#validTopics.clear();
      this.#validTopics.add(topic);
    }
    return {
      topic,
      qos: options.qos ?? spec?.qos ?? 0,
      retain: options.retain ?? spec?.retain ?? false,
      spec,
      maxBytes: spec?.maxBytes ?? this.#topicLimit(topic),
    };
  }

  #validateOutgoing(spec: TopicSpec, data: unknown): unknown {
    const result = (spec.schema as z.ZodType).safeParse(data);
    if (!result.success) {
      throw new TypeError(`Invalid payload for ${spec.topic}: ${describeZodError(result.error)}`);
    }
    return result.data;
  }

  #publishBytes(
    topic: string,
    payload: Uint8Array | string,
    qos: QoS,
    retain: boolean,
    queueWhenOffline = false,
    maxBytes?: number,
  ): Promise<void> {
    if (maxBytes !== undefined) {
      // A UTF-16 code unit is at most 3 bytes of UTF-8: most strings need no count.
      const size = typeof payload !== "string"
        ? payload.byteLength
        : payload.length * 3 <= maxBytes
        ? 0
        : Buffer.byteLength(payload, "utf8");
      if (size > maxBytes) {
        this.#metrics.publishFailed++;
        return Promise.reject(
          new Error(
            `Cannot publish ${size} bytes on ${topic}: the limit is ${maxBytes} bytes ` +
              "(topic table). Send less, or raise the row's maxBytes in core/contracts/topics.ts.",
          ),
        );
      }
    }
    const client = this.#mqtt;
    if (!client || this.#state === "idle") {
      return Promise.reject(
        new Error(`Cannot publish to ${topic}: the client is not connected; call connect() first`),
      );
    }
    const online = client.connected;
    if (!online) {
      if (qos === 0 && !queueWhenOffline) {
        this.#metrics.dropped++;
        this.#warnings.maybe(
          `offline-drop:${topic}`,
          (suppressed) =>
            this.#log.debug("Offline: dropped a QoS 0 message to {topic}", { topic, suppressed }),
        );
        return Promise.resolve();
      }
      const max = this.#options.maxOfflineMessages ?? 10_000;
      if (this.#offlinePending >= max) {
        this.#metrics.dropped++;
        return Promise.reject(
          new Error(`Cannot publish to ${topic}: ${max} messages already wait for the broker`),
        );
      }
      this.#offlinePending++;
    }
    return new Promise<void>((resolve, reject) => {
      const body = typeof payload === "string"
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      client.publish(topic, body, { qos, retain }, (error) => {
        if (!online) this.#offlinePending = Math.max(0, this.#offlinePending - 1);
        if (error) {
          this.#metrics.publishFailed++;
          reject(new Error(`Publishing to ${topic} failed: ${error.message}`));
        } else {
          this.#metrics.published++;
          resolve();
        }
      });
    });
  }

  // ---------------------------------------------------------------- subscribing

  /**
   * Subscribes a handler to a topic of the table (payload validated with its schema;
   * `{params}` become `+` unless given) or to a plain filter (`+`/`#` wildcards,
   * `$share/group/...`). Every matching handler of a message runs, each through its
   * own bounded queue. Can be called before `connect()`.
   */
  subscribe<S extends TopicSpec>(
    spec: S,
    handler: MessageHandler<PayloadOf<S>>,
    options?: TopicSubscribeOptions,
  ): Promise<Subscription>;
  /** Subscribes a handler to a plain filter. */
  subscribe<T = unknown>(
    filter: string,
    handler: MessageHandler<T>,
    options?: SubscribeOptions<T>,
  ): Promise<Subscription>;
  subscribe(
    target: TopicSpec | string,
    handler: MessageHandler<unknown>,
    options: TopicSubscribeOptions & SubscribeOptions<unknown> = {},
  ): Promise<Subscription> {
    if (typeof target === "string") {
      return this.#subscribeInternal(target, handler, options);
    }
    const filter = options.params ? topicFor(target, options.params) : filterOf(target);
    return this.#subscribeInternal(filter, handler, {
      ...options,
      schema: target.schema ?? undefined,
      wire: target.wire,
      acceptRaw: target.acceptsRaw,
      qos: options.qos ?? target.qos,
      eventType: target.eventType,
      maxBytes: target.maxBytes,
    });
  }

  /** Subscribes a handler that gets the raw payload bytes (audio and other binary topics). */
  subscribeRaw(
    target: TopicSpec | string,
    handler: MessageHandler<Uint8Array>,
    options: RawSubscribeOptions = {},
  ): Promise<Subscription> {
    const filter = typeof target === "string"
      ? target
      : options.params
      ? topicFor(target, options.params)
      : filterOf(target);
    const qos = options.qos ?? (typeof target === "string" ? 0 : target.qos);
    const maxBytes = options.maxBytes ?? (typeof target === "string" ? undefined : target.maxBytes);
    return this.#subscribeInternal(
      filter,
      handler as MessageHandler<unknown>,
      { ...options, wire: "binary", qos, maxBytes },
    );
  }

  async #subscribeInternal(
    filter: string,
    handler: MessageHandler<unknown>,
    options: SubscribeOptions<unknown> & { eventType?: string | null },
  ): Promise<Subscription> {
    assertTopicFilter(filter);
    if (
      options.maxBytes !== undefined &&
      (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 1)
    ) {
      throw new TypeError(`maxBytes of the subscription to ${filter} must be a positive integer`);
    }
    const qos = Math.min(options.qos ?? 0, MAX_SUBSCRIPTION_QOS) as QoS;
    const timeoutMs = options.handlerTimeoutMs ?? 30_000;
    const registration: Registration = {
      filter,
      qos,
      wire: options.wire ?? "envelope",
      schema: options.schema ?? null,
      acceptRaw: options.acceptRaw ?? false,
      eventType: options.eventType ?? null,
      maxBytes: options.maxBytes ?? null,
      queue: new HandlerQueue<QueuedMessage>({
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
    this.#registrations.add(registration);
    this.#matchCache.clear();
    try {
      await this.#ensureFilter(filter, qos);
    } catch (error) {
      // Refused: leave nothing registered that the caller has no handle to remove.
      this.#registrations.delete(registration);
      this.#matchCache.clear();
      await registration.queue.close(0);
      if (![...this.#registrations].some((r) => r.filter === filter)) this.#filters.delete(filter);
      throw error;
    }
    let active = true;
    return {
      filter,
      unsubscribe: async () => {
        if (!active) return;
        active = false;
        this.#registrations.delete(registration);
        this.#matchCache.clear();
        await registration.queue.close(0);
        await this.#releaseFilter(filter);
      },
    };
  }

  async #ensureFilter(filter: string, qos: QoS): Promise<void> {
    const current = this.#filters.get(filter);
    if (current !== undefined && current >= qos) return;
    this.#filters.set(filter, qos);
    const client = this.#mqtt;
    if (!client || !client.connected || this.#state !== "connected") return; // sent on connect
    let granted: Array<{ qos: number }>;
    try {
      granted = await client.subscribeAsync(filter, { qos });
    } catch (error) {
      // The connection dropped before the SUBACK: the filter stays wanted and the reconnect
      // subscribes it (it is not in #brokerFilters). Anything else is the caller's to see.
      if (client !== this.#mqtt || !client.connected) return;
      throw error;
    }
    if (granted.some((g) => g.qos === 128)) {
      throw new Error(
        `The broker refused the subscription to ${filter}; check the broker ACL for ` +
          `${this.config.clientId}`,
      );
    }
    this.#brokerFilters.set(filter, qos);
  }

  async #releaseFilter(filter: string): Promise<void> {
    for (const reg of this.#registrations) if (reg.filter === filter) return;
    this.#filters.delete(filter);
    const client = this.#mqtt;
    if (client?.connected && this.#brokerFilters.delete(filter)) {
      await client.unsubscribeAsync(filter);
    }
  }

  // ---------------------------------------------------------------- dispatch

  #onPublish(client: MqttJsClient, packet: IPublishPacket, done: (error?: Error) => void): void {
    if (client !== this.#mqtt || this.#state === "closing") {
      return; // shutting down: never acknowledge, so the broker keeps QoS 1 messages
    }
    this.#metrics.received++;
    try {
      this.#dispatch(packet, done);
    } catch (error) {
      // Nothing a payload does may end the service (an uncaught error in MQTT.js's
      // message callback would): drop it, count it, say so (rate-limited), acknowledge it.
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

  /** Decodes `packet` for every matching subscription and queues it (see #onPublish). */
  #dispatch(packet: IPublishPacket, done: (error?: Error) => void): void {
    const topic = packet.topic;
    let matches = this.#matching(topic);
    if (matches.length === 0) {
      done();
      return;
    }
    const raw = typeof packet.payload === "string"
      ? UTF8_ENCODER.encode(packet.payload)
      : packet.payload as Uint8Array;
    // The size limit comes first: an oversized payload is never parsed or hashed.
    matches = this.#withinLimits(matches, topic, raw.byteLength);
    if (matches.length === 0) {
      done();
      return;
    }
    const incoming = new IncomingPayload(raw);
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
      const message = this.#decode(reg, topic, incoming, packet.retain);
      if (!message) continue;
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
  ): readonly Registration[] {
    let kept: Registration[] | null = null;
    for (let i = 0; i < matches.length; i++) {
      const reg = matches[i];
      const limit = reg.maxBytes ?? this.#topicLimit(topic);
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
    }
    return kept ?? matches;
  }

  /** The `maxBytes` of `topic`'s table row, {@linkcode DEFAULT_MAX_BYTES} outside the table. */
  #topicLimit(topic: string): number {
    let limit = this.#topicLimits.get(topic);
    if (limit === undefined) {
      limit = findTopicSpec(topic)?.maxBytes ?? DEFAULT_MAX_BYTES;
      if (this.#topicLimits.size >= TOPIC_CACHE_MAX) this.#topicLimits.clear();
      this.#topicLimits.set(topic, limit);
    }
    return limit;
  }

  /** The registrations whose filter matches `topic`, in registration order (cached). */
  #matching(topic: string): readonly Registration[] {
    let matches = this.#matchCache.get(topic);
    if (matches === undefined) {
      const found: Registration[] = [];
      for (const reg of this.#registrations) if (topicMatches(reg.filter, topic)) found.push(reg);
      if (this.#matchCache.size >= TOPIC_CACHE_MAX) this.#matchCache.clear();
      this.#matchCache.set(topic, found);
      matches = found;
    }
    return matches;
  }

  #decode(
    reg: Registration,
    topic: string,
    incoming: IncomingPayload,
    retained: boolean,
  ): QueuedMessage | null {
    if (reg.wire === "binary") return { payload: incoming.raw, topic, envelope: null, retained };
    const parsed = incoming.json();
    if (!parsed.ok) return this.#reject(reg, topic, parsed.error);
    let envelope: Envelope | null = null;
    let data: unknown = parsed.value;
    if (reg.wire === "envelope") {
      envelope = incoming.envelope();
      if (!envelope) {
        if (!reg.acceptRaw || !isPlainObject(parsed.value)) {
          return this.#reject(reg, topic, "not an envelope {id,type,ts,source,data}");
        }
        const value = parsed.value;
        const id = typeof value.message_id === "string" && value.message_id
          ? value.message_id
          : newMessageId();
        envelope = {
          id,
          type: reg.eventType ?? "raw",
          ts: epochSeconds(),
          source: "raw",
          data: value,
        };
      }
      data = envelope.data;
    }
    if (reg.schema) {
      const result = reg.schema.safeParse(data);
      if (!result.success) {
        return this.#reject(reg, topic, `schema: ${describeZodError(result.error)}`);
      }
      data = result.data;
      if (envelope) envelope = { ...envelope, data: data as Record<string, unknown> };
    }
    return { payload: data, topic, envelope, retained };
  }

  #reject(reg: Registration, topic: string, reason: string): null {
    this.#metrics.invalid++;
    // One line per subscription and kind of problem, not per topic: a flood of bad messages
    // over many topics of one wildcard must not flood the log.
    // The kind is the reason's fixed head ("not JSON", "schema", ...), never the details.
    const kind = reason.split(/[:(]/, 1)[0].trim().slice(0, 40);
    this.#warnings.maybe(
      `invalid:${reg.filter}:${kind}`,
      (suppressed) =>
        this.#log.warn("Rejected a message on {topic}: {reason}", { topic, reason, suppressed }),
    );
    return null;
  }

  // ---------------------------------------------------------------- request/response

  /**
   * Publishes a request and resolves with the validated reply: the first message on
   * `replyTopic` whose envelope id equals the request's id. Rejects with
   * {@linkcode RequestTimeoutError} after `timeoutMs`. Replies are dispatched on their
   * own queue, so a handler may await `request()` without blocking the reply.
   *
   * @example
   * ```ts
   * const results = await client.request(topics.memoryQuery, { text: "pizza" }, {
   *   replyTopic: topics.memoryResults,
   *   timeoutMs: 5000,
   * });
   * ```
   */
  async request<S extends TopicSpec, R extends TopicSpec>(
    spec: S,
    data: PayloadInputOf<S>,
    options: RequestOptions<R>,
  ): Promise<PayloadOf<R>> {
    if (options.signal?.aborted) throw new Error(`request on ${spec.topic} aborted`);
    const replySpec = options.replyTopic;
    const replyParams = options.replyParams ?? options.params;
    const replyFilter = replyParams && replySpec.topic.includes("{")
      ? topicFor(replySpec, replyParams)
      : filterOf(replySpec);
    await this.#ensureReplyListener(replySpec, replyFilter);
    const id = options.correlationId ?? newMessageId();
    if (this.#pending.has(id)) throw new Error(`A request with id ${id} is already waiting`);
    const timeoutMs = options.timeoutMs ?? 5_000;
    const reply = new Promise<PayloadOf<R>>((resolve, reject) => {
      const timer = setTimeout(() => {
        finish();
        reject(new RequestTimeoutError(spec.topic, replyFilter, id, timeoutMs));
      }, timeoutMs);
      const onAbort = () => {
        finish();
        reject(new Error(`request on ${spec.topic} aborted`));
      };
      const finish = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        this.#pending.delete(id);
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (payload) => {
          finish();
          resolve(payload as PayloadOf<R>);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      });
    });
    try {
      await this.publishEvent(spec, data, { ...options, correlationId: id });
    } catch (error) {
      this.#pending.get(id)?.reject(error as Error);
    }
    return await reply;
  }

  #ensureReplyListener(spec: TopicSpec, filter: string): Promise<void> {
    let ready = this.#replyListeners.get(filter);
    if (!ready) {
      ready = this.#subscribeInternal(filter, (payload, ctx) => {
        const id = ctx.correlationId;
        if (id) this.#pending.get(id)?.resolve(payload);
      }, {
        schema: spec.schema ?? undefined,
        wire: spec.wire,
        acceptRaw: spec.acceptsRaw,
        qos: spec.qos,
        eventType: spec.eventType,
        maxBytes: spec.maxBytes,
        concurrency: 16,
        queueSize: 1024,
      }).then(() => undefined);
      ready.catch(() => this.#replyListeners.delete(filter));
      this.#replyListeners.set(filter, ready);
    }
    return ready;
  }
}
