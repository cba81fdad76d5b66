/**
 * The subscription registry of a client, without I/O: the registered handlers, which of them
 * match a topic (cached), the QoS each filter is wanted with, and which filters the broker
 * has already (so a reconnect subscribes exactly the missing ones, once).
 *
 * @module
 */
import type { QoS } from "../contracts/topic.ts";
import { topicMatches } from "./topic_match.ts";

/** Topics whose matching registrations are remembered at most (then all are forgotten). */
const MATCH_CACHE_MAX = 1024;

/** What the registry needs of a registration. */
export interface Registered {
  /** The MQTT filter. */
  readonly filter: string;
}

/** Registrations by filter, the wanted filters and the filters the broker has. */
export class SubscriptionRegistry<R extends Registered> {
  readonly #registrations = new Set<R>();
  /** Topic → its matching registrations in registration order; cleared when they change. */
  readonly #matchCache = new Map<string, readonly R[]>();
  /** Filter → the highest QoS it is wanted with. */
  readonly #wanted = new Map<string, QoS>();
  /** Filter → the QoS the broker has it with (this session). */
  readonly #onBroker = new Map<string, QoS>();

  /** Every registration, in registration order. */
  [Symbol.iterator](): IterableIterator<R> {
    return this.#registrations.values();
  }

  /** Adds a registration. */
  add(registration: R): void {
    this.#registrations.add(registration);
    this.#matchCache.clear();
  }

  /** Removes a registration (its filter stays wanted until {@linkcode release}). */
  delete(registration: R): void {
    this.#registrations.delete(registration);
    this.#matchCache.clear();
  }

  /**
   * Wants `filter` with at least `qos`; returns `true` when that raised it (a SUBSCRIBE is
   * due), `false` when it is already wanted with that QoS or more.
   */
  want(filter: string, qos: QoS): boolean {
    const current = this.#wanted.get(filter);
    if (current !== undefined && current >= qos) return false;
    this.#wanted.set(filter, qos);
    return true;
  }

  /**
   * Stops wanting `filter` when no registration uses it any more; returns whether the broker
   * had it (an UNSUBSCRIBE is due). Returns `false` while a registration still uses it.
   */
  release(filter: string): boolean {
    for (const reg of this.#registrations) if (reg.filter === filter) return false;
    this.#wanted.delete(filter);
    return this.#onBroker.delete(filter);
  }

  /** The wanted filters the broker lacks (or has with a lower QoS), for one SUBSCRIBE. */
  missing(): Record<string, { qos: QoS }> {
    const missing: Record<string, { qos: QoS }> = {};
    for (const [filter, qos] of this.#wanted) {
      if ((this.#onBroker.get(filter) ?? -1) < qos) missing[filter] = { qos };
    }
    return missing;
  }

  /** Records that the broker granted `filter` with `qos`. */
  subscribed(filter: string, qos: QoS): void {
    this.#onBroker.set(filter, qos);
  }

  /** Forgets what the broker has (a new session without the old subscriptions). */
  brokerForgot(): void {
    this.#onBroker.clear();
  }

  /** The registrations whose filter matches `topic`, in registration order (cached). */
  matching(topic: string): readonly R[] {
    let matches = this.#matchCache.get(topic);
    if (matches === undefined) {
      const found: R[] = [];
      for (const reg of this.#registrations) if (topicMatches(reg.filter, topic)) found.push(reg);
      if (this.#matchCache.size >= MATCH_CACHE_MAX) this.#matchCache.clear();
      this.#matchCache.set(topic, found);
      matches = found;
    }
    return matches;
  }
}
