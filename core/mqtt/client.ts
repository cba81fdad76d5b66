/**
 * `MqttClient`: the one MQTT client every TARS service uses (on MQTT.js v5, MQTT 3.1.1).
 *
 * It owns reconnects (exponential backoff with jitter, forever), restores every
 * subscription exactly once after a reconnect, publishes retained health with a last will,
 * runs the optional heartbeat and watchdog, de-duplicates, validates payloads with the
 * contract schemas and dispatches each message to every matching handler through that
 * handler's own bounded queue.
 *
 * The parts without I/O live beside it: types.ts (options), incoming.ts (decoding),
 * dispatch.ts and registry.ts (subscriptions), outgoing.ts (publish targets), health.ts,
 * requests.ts and connect_options.ts (MQTT.js options, connection error hints).
 *
 * @module
 */
import type { IPublishPacket, MqttClient as MqttJsClient } from "mqtt";
import { Envelope, newMessageId } from "../contracts/envelope.ts";
import {
  type PayloadInputOf,
  type PayloadOf,
  topicFor,
  type TopicSpec,
} from "../contracts/topic.ts";
import { topics } from "../contracts/topics.ts";
import {
  MqttClientConfig,
  type MqttConfigFromEnvOptions,
  readMqttTlsFiles,
} from "../config/mqtt_config.ts";
import { getLogger, type Logger } from "../log/logging.ts";
import { RateLimitedLog } from "../log/rate_limited.ts";
import { Connection } from "./connection.ts";
import { MessageDeduplicator } from "./dedupe.ts";
import {
  Dispatcher,
  rawSubscriptionOf,
  type RegisterOptions,
  replyListenerOptions,
  subscriptionOf,
} from "./dispatch.ts";
import { HealthReporter } from "./health.ts";
import { type ClientMetrics, emptyMetrics } from "./metrics.ts";
import { encodeEvent, resolveTarget, validateOutgoing } from "./outgoing.ts";
import { replyFilterOf, RequestTracker } from "./requests.ts";
import { BrokerSubscriptions } from "./subscriptions.ts";
import { assertTopicFilter } from "./topic_match.ts";
import { SubscriptionGroup } from "./group.ts";
import type {
  ConnectionState,
  ConnectionStateListener,
  DetachedPublishOptions,
  HealthStatus,
  MessageHandler,
  MqttClientOptions,
  PublishEventOptions,
  PublishOptions,
  RawSubscribeOptions,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  TopicSubscribeOptions,
} from "./types.ts";

// Also here for callers that import the client module directly (tests/helpers).
export type { MqttClientOptions } from "./types.ts";

/**
 * The shared MQTT client.
 *
 * @example
 * ```ts ignore
 * // needs a broker on MQTT_URL
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
  readonly #log: Logger;
  readonly #warnings = new RateLimitedLog(10_000);
  readonly #conn: Connection;
  readonly #metrics: ClientMetrics = emptyMetrics();
  readonly #dispatcher: Dispatcher;
  /** Registrations, wanted filters and the filters the broker has. */
  readonly #registry: Dispatcher["registry"];
  readonly #subscriptions: BrokerSubscriptions;
  readonly #requests = new RequestTracker();
  readonly #health: HealthReporter;

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
    this.#options = options;
    this.#log = logger ?? getLogger("mqtt");
    this.#health = new HealthReporter(this, this.#log, initialHealth);
    this.#dispatcher = new Dispatcher({
      metrics: this.#metrics,
      log: this.#log,
      warnings: this.#warnings,
      dedupe: this.config.dedupeTtl > 0
        ? new MessageDeduplicator({
          ttlMs: this.config.dedupeTtl * 1000,
          maxEntries: this.config.dedupeMaxEntries,
        })
        : null,
    });
    this.#registry = this.#dispatcher.registry;
    this.#conn = new Connection({
      config: this.config,
      // The contents of MQTT_CA_FILE / MQTT_CERT_FILE / MQTT_KEY_FILE, read once.
      tls: readMqttTlsFiles(this.config),
      healthTopic: this.healthTopic,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      maxOfflineMessages: options.maxOfflineMessages ?? 10_000,
      random,
      log: this.#log,
      warnings: this.#warnings,
      metrics: this.#metrics,
      hooks: {
        // The own health topic first (a stray `ok:false` is answered from the start).
        restore: (client, sessionPresent, reconnect) =>
          this.#subscriptions.restore(client, {
            keptSession: sessionPresent && !this.config.cleanSession,
            reconnect,
            before: () => this.#health.watch(),
          }),
        connected: () => this.#health.onConnected(),
        message: (client, packet, done) => this.#onPublish(client, packet, done),
        closing: () => this.#onClosing(),
        closed: () => this.#registry.brokerForgot(),
      },
    });
    this.#subscriptions = new BrokerSubscriptions({
      registry: this.#registry,
      connection: this.#conn,
      metrics: this.#metrics,
      log: this.#log,
    });
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
   * import { MqttClient } from "../mod.ts";
   * const client = new MqttClient({ url: "mqtt://127.0.0.1:1883", clientId: "doc-example" });
   * const stopMotors = () => {};
   * const off = client.onStateChange((state) => {
   *   if (state !== "connected") stopMotors();
   * });
   * off();
   * ```
   */
  onStateChange(listener: ConnectionStateListener): () => void {
    return this.#conn.onStateChange(listener);
  }

  get #state(): ConnectionState {
    return this.#conn.state;
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
    return this.#conn.connect(options);
  }

  /**
   * Closes the connection cleanly (no will is sent) without publishing health. Running
   * handlers get `shutdownGraceMs` to finish; pending requests are rejected. The client
   * can connect again later. Idempotent.
   */
  disconnect(): Promise<void> {
    return this.#conn.disconnect();
  }

  /**
   * Publishes health `ok:false, event:"shutdown"` (when health is on and connected), then
   * {@linkcode MqttClient.disconnect}s. Idempotent; `await using` calls it.
   */
  async shutdown(): Promise<void> {
    if (this.#conn.closing) return this.#conn.closing;
    await this.#health.whileShuttingDown(() => this.disconnect());
  }

  /** `await using client = ...` shuts the client down at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #onClosing(): Promise<void> {
    const closed = new Error("The MQTT client was disconnected before the reply arrived");
    this.#requests.rejectAll(closed);
    const grace = this.#options.shutdownGraceMs ?? 2_000;
    await Promise.all([...this.#registry].map((reg) => reg.queue.close(grace)));
  }

  // ---------------------------------------------------------------- publishing

  /**
   * Publishes `data` as an envelope. With a table topic, `data` is validated with its
   * schema (defaults such as `message_id` filled) and QoS/retain come from the table.
   * Resolves with the envelope id once the broker has it (QoS 1/2: acknowledged).
   *
   * @example
   * ```ts ignore
   * // needs a connected client
   * import { MqttClient, topics } from "../mod.ts";
   * const client = MqttClient.fromEnv({ defaults: { clientId: "doc-example" } });
   * await client.connect();
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
    const { target: to, envelope } = encodeEvent(target, data, options, this.config.sourceName);
    return this.#conn.publish(
      to.topic,
      Envelope.toJson(envelope),
      to.qos,
      to.retain,
      options.queueWhenOffline,
      to.maxBytes,
    ).then(() => envelope.id);
  }

  /**
   * Fire-and-forget `publishEvent`: never throws or rejects. A failure (invalid data, not
   * connected, broker error, too big) is counted in `metrics().detachedFailed`, logged as a
   * warning at most once per 10 s per topic and kind of error, and passed to `options.onError`.
   *
   * @example
   * ```ts ignore
   * // inside a handler of a connected client
   * client.publishDetached(topics.ttsSay, { text: "On it." }, { correlationId: ctx.correlationId });
   * ```
   */
  publishDetached<S extends TopicSpec>(
    spec: S,
    data: PayloadInputOf<S>,
    options?: DetachedPublishOptions,
  ): void;
  /** Fire-and-forget envelope to a plain topic; `options.eventType` is required. */
  publishDetached(
    topic: string,
    data: Record<string, unknown>,
    options: DetachedPublishOptions & { eventType: string },
  ): void;
  publishDetached(
    target: TopicSpec | string,
    data: unknown,
    options: DetachedPublishOptions = {},
  ): void {
    const topic = typeof target === "string" ? target : target.topic;
    this.publishEvent(target as string, data as Record<string, unknown>, {
      ...options,
      eventType: options.eventType as string,
    }).catch((error: Error) => {
      this.#metrics.detachedFailed++;
      this.#warnings.maybe(
        `detached:${topic}:${error?.name}`,
        (suppressed) =>
          this.#log.warn("Could not publish to {topic}: {error}", { topic, error, suppressed }),
      );
      try {
        options.onError?.(error);
      } catch (hookError) {
        this.#log.error("onError of a publish to {topic} failed: {hookError}", {
          topic,
          hookError,
        });
      }
    });
  }

  /** Publishes bare JSON (no envelope), e.g. for ESP32 topics; validated for table topics. */
  async publishJson(
    target: TopicSpec | string,
    value: unknown,
    options: PublishOptions = {},
  ): Promise<void> {
    const { topic, qos, retain, spec, maxBytes } = resolveTarget(target, options);
    const payload = spec?.schema ? validateOutgoing(spec, value) : value;
    await this.#conn.publish(
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
    const { topic, qos, retain, maxBytes } = resolveTarget(target, options);
    await this.#conn.publish(topic, bytes, qos, retain, options.queueWhenOffline, maxBytes);
  }

  /**
   * Publishes retained health on `system/health/<client_id>` (QoS 1). A no-op when health
   * is off (py-tars); skipped with a debug line when not connected (the client re-sends
   * `ready` on every connect).
   */
  publishHealth(status: HealthStatus): Promise<void> {
    return this.#health.publish(status);
  }

  /**
   * Ends the `initialHealth` phase: publishes `ready` unless the service reported a problem
   * (`ok:false`) itself in the meantime. Used by `runService` after `main`.
   */
  announceReady(): Promise<void> {
    return this.#health.announceReady();
  }

  /** Publishes the counters on `system/metrics/<client_id>` (retained). */
  async publishMetrics(): Promise<void> {
    await this.publishEvent(topics.systemMetrics, {
      client_id: this.config.clientId,
      counters: { ...this.#metrics },
    }, { params: { client_id: this.config.clientId } });
  }

  // ---------------------------------------------------------------- subscribing

  /**
   * A {@linkcode SubscriptionGroup}: subscribe through it like through the client, and one
   * `close()` removes everything it subscribed.
   *
   * @example
   * ```ts ignore
   * // needs a connected client
   * const group = client.group();
   * await group.subscribe(topics.sttFinal, onFinal, { ignoreRetained: true });
   * await group.close();
   * ```
   */
  group(): SubscriptionGroup {
    return new SubscriptionGroup(this);
  }

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
    const { filter, register } = subscriptionOf(target, options);
    return this.#subscribeInternal(filter, handler, register);
  }

  /** Subscribes a handler that gets the raw payload bytes (audio and other binary topics). */
  subscribeRaw(
    target: TopicSpec | string,
    handler: MessageHandler<Uint8Array>,
    options: RawSubscribeOptions = {},
  ): Promise<Subscription> {
    const { filter, register } = rawSubscriptionOf(target, options);
    return this.#subscribeInternal(filter, handler as MessageHandler<unknown>, register);
  }

  async #subscribeInternal(
    filter: string,
    handler: MessageHandler<unknown>,
    options: RegisterOptions,
  ): Promise<Subscription> {
    assertTopicFilter(filter);
    return await this.#subscriptions.add(this.#dispatcher.registration(filter, handler, options));
  }

  // ---------------------------------------------------------------- dispatch

  #onPublish(client: MqttJsClient, packet: IPublishPacket, done: (error?: Error) => void): void {
    if (client !== this.#conn.mqtt || this.#state === "closing") {
      return; // shutting down: never acknowledge, so the broker keeps QoS 1 messages
    }
    this.#dispatcher.receive(packet as IPublishPacket & { payload: Uint8Array | string }, done);
  }

  // ---------------------------------------------------------------- request/response

  /**
   * Publishes a request and resolves with the validated reply: the first message on
   * `replyTopic` whose envelope id equals the request's id. Rejects with
   * {@linkcode RequestTimeoutError} after `timeoutMs`. Replies are dispatched on their
   * own queue, so a handler may await `request()` without blocking the reply.
   *
   * @example
   * ```ts ignore
   * // needs a connected client and a memory-worker
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
    const replyFilter = replyFilterOf(replySpec, replyParams);
    await this.#ensureReplyListener(replySpec, replyFilter);
    const id = options.correlationId ?? newMessageId();
    const reply = this.#requests.wait(id, {
      topic: spec.topic,
      replyFilter,
      timeoutMs: options.timeoutMs ?? 5_000,
      signal: options.signal,
    });
    try {
      await this.publishEvent(spec, data, { ...options, correlationId: id });
    } catch (error) {
      this.#requests.reject(id, error as Error);
    }
    return await reply as PayloadOf<R>;
  }

  #ensureReplyListener(spec: TopicSpec, filter: string): Promise<void> {
    return this.#requests.listener(filter, () =>
      this.#subscribeInternal(filter, (payload, ctx) => {
        const id = ctx.correlationId;
        if (id) this.#requests.resolve(id, payload);
      }, replyListenerOptions(spec)).then(() => undefined));
  }
}
