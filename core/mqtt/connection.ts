/**
 * The connection of one client to the broker: the MQTT.js client, the connection state and
 * its listeners, `connect()` with timeout/abort, reconnects with exponential backoff (forever),
 * errors that retrying cannot fix (refused login, TLS) and the clean close. What happens on
 * connect, on a message and on close is the owner's, through {@linkcode ConnectionHooks}.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createConnection } from "node:net";
import mqtt from "mqtt";
import type { IPublishPacket, MqttClient as MqttJsClient } from "mqtt";
import { type MqttClientConfig, type MqttTlsFiles, redactUrl } from "../config/mqtt_config.ts";
import type { Logger } from "../log/logging.ts";
import type { RateLimitedLog } from "../log/rate_limited.ts";
import { ExponentialBackoff } from "./backoff.ts";
import { Heartbeat } from "./heartbeat.ts";
import { oversizeProblem } from "./outgoing.ts";
import { epochSeconds } from "../contracts/envelope.ts";
import { type QoS, topicFor } from "../contracts/topic.ts";
import { topics } from "../contracts/topics.ts";
import { fatalConnectionError, mqttJsOptions, settlesWithin } from "./connect_options.ts";
import type { ClientMetrics } from "./metrics.ts";
import type { ConnectionState, ConnectionStateListener } from "./types.ts";

/** What the owner of a {@linkcode Connection} does at each step. */
export interface ConnectionHooks {
  /**
   * The broker accepted the connection (CONNACK): restore the subscriptions. Resolves `false`
   * when that failed (the connection is gone; the close handler schedules the next attempt).
   */
  restore(client: MqttJsClient, sessionPresent: boolean, reconnect: boolean): Promise<boolean>;
  /** The state became `connected` (subscriptions restored). */
  connected(): void;
  /** A PUBLISH arrived; `done` acknowledges it. */
  message(client: MqttJsClient, packet: IPublishPacket, done: (error?: Error) => void): void;
  /** `disconnect()` began (state `closing`): stop timers, let handlers finish. */
  closing(): Promise<void>;
  /** `disconnect()` ended the MQTT.js client (state `idle` follows). */
  closed(): void;
}

/** What a {@linkcode Connection} needs. */
export interface ConnectionOptions {
  /** The validated client configuration. */
  readonly config: MqttClientConfig;
  /** The TLS file contents. */
  readonly tls: MqttTlsFiles;
  /** The retained health topic (target of the last will). */
  readonly healthTopic: string;
  /** Wait for the CONNACK per attempt, in ms. */
  readonly connectTimeoutMs: number;
  /** QoS 1/2 publishes kept while offline at most. */
  readonly maxOfflineMessages: number;
  /** Random source of the reconnect jitter. */
  readonly random?: () => number;
  /** The owner's logger. */
  readonly log: Logger;
  /** The owner's rate limiter of warnings. */
  readonly warnings: RateLimitedLog;
  /** The owner's counters (`reconnects` is counted here). */
  readonly metrics: ClientMetrics;
  /** The owner's steps. */
  readonly hooks: ConnectionHooks;
}

/** One client's connection to the broker. */
export class Connection {
  readonly config: MqttClientConfig;
  readonly #options: ConnectionOptions;
  readonly #hooks: ConnectionHooks;
  readonly #log: Logger;
  readonly #warnings: RateLimitedLog;
  readonly #backoff: ExponentialBackoff;
  #mqtt: MqttJsClient | null = null;
  #stateValue: ConnectionState = "idle";
  readonly #stateListeners = new Set<ConnectionStateListener>();
  #everConnected = false;
  #connectWaiters: Array<{ resolve(): void; reject(e: Error): void }> = [];
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #lastError: Error | null = null;
  #closing: Promise<void> | null = null;
  #offlinePending = 0;
  #heartbeat: Heartbeat | null = null;

  /** Creates the connection (not connected). */
  constructor(options: ConnectionOptions) {
    this.config = options.config;
    this.#options = options;
    this.#hooks = options.hooks;
    this.#log = options.log;
    this.#warnings = options.warnings;
    this.#backoff = new ExponentialBackoff({
      minMs: this.config.reconnectMinDelay * 1000,
      maxMs: this.config.reconnectMaxDelay * 1000,
      random: options.random,
    });
  }

  /** The current MQTT.js client (`null` when idle); replaced by each `connect()` after idle. */
  get mqtt(): MqttJsClient | null {
    return this.#mqtt;
  }

  /** The close in progress, `null` when none. */
  get closing(): Promise<void> | null {
    return this.#closing;
  }

  /** Current connection state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Adds a state listener; returns a function that removes it. */
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
    const client = openMqttJsClient(mqttJsOptions({
      config: this.config,
      tls: this.#options.tls,
      healthTopic: this.#options.healthTopic,
      connectTimeoutMs: this.#options.connectTimeoutMs,
    }));
    client.handleMessage = (packet, done) => this.#hooks.message(client, packet, done);
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

  /**
   * Hands `payload` to MQTT.js; one bigger than `maxBytes` is refused (counted). Offline, QoS 0 is dropped (counted, logged at debug) unless
   * `queueWhenOffline`, and QoS 1/2 is queued up to `maxOfflineMessages`. Resolves once
   * written (QoS 0) or acknowledged (QoS 1/2); rejects when not connected at all.
   */
  publish(
    topic: string,
    payload: Uint8Array | string,
    qos: QoS,
    retain: boolean,
    queueWhenOffline = false,
    maxBytes?: number,
  ): Promise<void> {
    const tooBig = maxBytes === undefined ? undefined : oversizeProblem(topic, payload, maxBytes);
    if (tooBig) {
      this.#options.metrics.publishFailed++;
      return Promise.reject(new Error(tooBig));
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
        this.#options.metrics.dropped++;
        this.#warnings.maybe(
          `offline-drop:${topic}`,
          (suppressed) =>
            this.#log.debug("Offline: dropped a QoS 0 message to {topic}", { topic, suppressed }),
        );
        return Promise.resolve();
      }
      const max = this.#options.maxOfflineMessages;
      if (this.#offlinePending >= max) {
        this.#options.metrics.dropped++;
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
          this.#options.metrics.publishFailed++;
          reject(new Error(`Publishing to ${topic} failed: ${error.message}`));
        } else {
          this.#options.metrics.published++;
          resolve();
        }
      });
    });
  }

  async #onConnect(client: MqttJsClient, sessionPresent: boolean): Promise<void> {
    if (client !== this.#mqtt) return;
    const socket = client.stream as unknown as { setNoDelay?: (on: boolean) => void };
    socket.setNoDelay?.(true);
    const wasReconnect = this.#everConnected;
    this.#everConnected = true;
    this.#backoff.reset();
    this.#lastError = null;
    if (wasReconnect) this.#options.metrics.reconnects++;
    if (!(await this.#hooks.restore(client, sessionPresent, wasReconnect))) return;
    if (client !== this.#mqtt || !client.connected) return;
    this.#state = "connected";
    this.#log.info(wasReconnect ? "Reconnected to {url}" : "Connected to {url}", {
      url: redactUrl(this.config.url),
      clientId: this.config.clientId,
      sessionPresent,
    });
    this.#hooks.connected();
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
    const message = fatalConnectionError(error, this.config.url);
    if (message) {
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

  #startHeartbeat(): void {
    if (!this.config.enableHeartbeat) return;
    this.#heartbeat?.stop();
    const topic = topicFor(topics.systemKeepalive, { client_id: this.config.clientId });
    this.#heartbeat = new Heartbeat({
      intervalMs: this.config.heartbeatInterval * 1000,
      publish: () =>
        this.publish(
          topic,
          JSON.stringify({ ok: true, event: "heartbeat", timestamp: epochSeconds() }),
          1,
          false,
        ),
      onError: (error) => this.#log.debug("Heartbeat failed: {error}", { error }),
      onStall: (silentMs) => {
        this.#options.metrics.watchdogResets++;
        this.#log.warn("No heartbeat got through for {silentMs} ms; forcing a reconnect", {
          silentMs,
        });
        this.#mqtt?.stream?.destroy();
      },
    });
    this.#heartbeat.start();
  }

  /**
   * Closes the connection cleanly (no will is sent) without publishing health. Running
   * handlers get `shutdownGraceMs` to finish (the `closing` hook); the client can connect
   * again later. Idempotent.
   */
  disconnect(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (this.#state === "idle" && !this.#mqtt) return Promise.resolve();
    this.#closing = this.#close().finally(() => this.#closing = null);
    return this.#closing;
  }

  async #close(): Promise<void> {
    const client = this.#mqtt;
    this.#state = "closing";
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#heartbeat?.stop();
    this.#heartbeat = null;
    await this.#hooks.closing();
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
    this.#everConnected = false;
    this.#offlinePending = 0;
    this.#hooks.closed();
    this.#state = "idle";
    const stopped = new Error("The MQTT client was disconnected while connecting");
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(stopped);
    this.#log.debug("Disconnected from {url}", { url: redactUrl(this.config.url) });
  }
}

/**
 * Makes the MQTT.js client of one connection attempt. A plain `mqtt://` connection gets its TCP
 * socket straight from `node:net`: `mqtt.connect` would first load every transport MQTT.js has
 * (WebSocket, TLS, SOCKS), about 1.4 MiB of idle memory per service that never uses them.
 * Every other scheme (`mqtts://`, `ws://`, `wss://`) goes through `mqtt.connect`.
 */
export function openMqttJsClient(options: mqtt.IClientOptions): MqttJsClient {
  if (options.protocol !== "mqtt") return mqtt.connect(options);
  const host = options.hostname ?? options.host ?? "localhost";
  const port = options.port ?? 1883;
  return new mqtt.MqttClient(() => createConnection({ host, port }), options);
}
