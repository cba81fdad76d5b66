/**
 * The broker side of a client's subscriptions: SUBSCRIBE when a filter is first wanted (or
 * with a higher QoS), UNSUBSCRIBE when its last handler goes, and after each (re)connect one
 * SUBSCRIBE per round for every filter the broker lacks, so each is restored exactly once.
 *
 * @module
 */
import type { MqttClient as MqttJsClient } from "mqtt";
import type { QoS } from "../contracts/topic.ts";
import type { Logger } from "../log/logging.ts";
import type { Connection } from "./connection.ts";
import type { Registration } from "./dispatch.ts";
import type { ClientMetrics } from "./metrics.ts";
import type { SubscriptionRegistry } from "./registry.ts";
import type { Subscription } from "./types.ts";

/** What {@linkcode BrokerSubscriptions} works with. */
export interface BrokerSubscriptionsOptions {
  /** The client's registry. */
  readonly registry: SubscriptionRegistry<Registration>;
  /** The client's connection. */
  readonly connection: Connection;
  /** The client's counters (`subscriptionsRestored`). */
  readonly metrics: ClientMetrics;
  /** The client's logger. */
  readonly log: Logger;
}

/** Keeps the broker's subscriptions in step with the registry. */
export class BrokerSubscriptions {
  readonly #registry: SubscriptionRegistry<Registration>;
  readonly #conn: Connection;
  readonly #metrics: ClientMetrics;
  readonly #log: Logger;

  /** Creates it. */
  constructor(options: BrokerSubscriptionsOptions) {
    this.#registry = options.registry;
    this.#conn = options.connection;
    this.#metrics = options.metrics;
    this.#log = options.log;
  }

  /**
   * Registers `registration` and subscribes its filter when due (now when connected, else on
   * connect). Rejects, leaving nothing registered, when the broker refuses it.
   */
  async add(registration: Registration): Promise<Subscription> {
    const filter = registration.filter;
    this.#registry.add(registration);
    try {
      await this.#ensureFilter(filter, registration.qos);
    } catch (error) {
      // Refused: leave nothing registered that the caller has no handle to remove.
      this.#registry.delete(registration);
      await registration.queue.close(0);
      this.#registry.release(filter);
      throw error;
    }
    let active = true;
    return {
      filter,
      unsubscribe: async () => {
        if (!active) return;
        active = false;
        this.#registry.delete(registration);
        await registration.queue.close(0);
        const client = this.#conn.mqtt;
        // `release` forgets the filter (when unused) even while offline.
        if (this.#registry.release(filter) && client?.connected) {
          await client.unsubscribeAsync(filter);
        }
      },
    };
  }

  /**
   * After a CONNACK: reopens the handler queues, runs `before`, and subscribes every filter the
   * broker lacks (all of them unless it kept a persistent session). Resolves `false` when that
   * failed (the connection dropped; the reconnect tries again).
   */
  async restore(
    client: MqttJsClient,
    options: { keptSession: boolean; reconnect: boolean; before?: () => Promise<void> },
  ): Promise<boolean> {
    try {
      for (const reg of this.#registry) reg.queue.reopen();
      if (!options.keptSession) this.#registry.brokerForgot();
      await options.before?.();
      await this.#subscribeMissing(client, options.reconnect);
      return true;
    } catch (error) {
      if (client === this.#conn.mqtt) {
        this.#log.warn("Restoring subscriptions failed: {error}", { error });
      }
      return false; // the connection is gone; the close handler schedules the next attempt
    }
  }

  /** One SUBSCRIBE per round; loops because a subscribe() may land while one was in flight. */
  async #subscribeMissing(client: MqttJsClient, wasReconnect: boolean): Promise<void> {
    for (;;) {
      const missing = this.#registry.missing();
      const count = Object.keys(missing).length;
      if (count === 0) break;
      const granted = await client.subscribeAsync(missing);
      for (const [filter, { qos }] of Object.entries(missing)) {
        this.#registry.subscribed(filter, qos);
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
  }

  async #ensureFilter(filter: string, qos: QoS): Promise<void> {
    if (!this.#registry.want(filter, qos)) return;
    const client = this.#conn.mqtt;
    if (!client || !client.connected || this.#conn.state !== "connected") return; // on connect
    let granted: Array<{ qos: number }>;
    try {
      granted = await client.subscribeAsync(filter, { qos });
    } catch (error) {
      // The connection dropped before the SUBACK: the filter stays wanted and the reconnect
      // subscribes it (the broker does not have it). Anything else is the caller's to see.
      if (client !== this.#conn.mqtt || !client.connected) return;
      throw error;
    }
    if (granted.some((g) => g.qos === 128)) {
      throw new Error(
        `The broker refused the subscription to ${filter}; check the broker ACL for ` +
          `${this.#conn.config.clientId}`,
      );
    }
    this.#registry.subscribed(filter, qos);
  }
}
