/**
 * A subscription group: subscribes through a client like the client itself and unsubscribes
 * everything it subscribed with one `close()`, so a service keeps no list of subscriptions.
 *
 * @module
 */
import type { PayloadOf, TopicSpec } from "../contracts/topic.ts";
import type { MqttClient } from "./client.ts";
import type {
  MessageHandler,
  RawSubscribeOptions,
  SubscribeOptions,
  Subscription,
  TopicSubscribeOptions,
} from "./types.ts";

/** The subscribe methods a group forwards to (those of `MqttClient`). */
export type Subscriber = Pick<MqttClient, "subscribe" | "subscribeRaw">;

/** `subscribe` without its overloads, for forwarding. */
type AnySubscribe = (
  target: TopicSpec | string,
  handler: MessageHandler<never>,
  options?: TopicSubscribeOptions & SubscribeOptions<unknown>,
) => Promise<Subscription>;

/**
 * Subscriptions made through one group, removed together by {@linkcode close} (which waits for
 * subscriptions still in flight). Made by `MqttClient.group()`.
 *
 * @example
 * ```ts ignore
 * // needs a connected client
 * const group = client.group();
 * await group.subscribe(topics.sttFinal, (final) => console.log(final.text));
 * await group.subscribeRaw(topics.audioFrames, (bytes) => play(bytes));
 * await group.close(); // both unsubscribed
 * ```
 */
export class SubscriptionGroup {
  readonly #client: Subscriber;
  readonly #active = new Set<Subscription>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  /** Creates a group on `client` (prefer `client.group()`). */
  constructor(client: Subscriber) {
    this.#client = client;
  }

  /** Subscriptions currently held by the group. */
  get size(): number {
    return this.#active.size;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** `MqttClient.subscribe` to a topic of the table, held by the group. */
  subscribe<S extends TopicSpec>(
    spec: S,
    handler: MessageHandler<PayloadOf<S>>,
    options?: TopicSubscribeOptions,
  ): Promise<Subscription>;
  /** `MqttClient.subscribe` to a plain filter, held by the group. */
  subscribe<T = unknown>(
    filter: string,
    handler: MessageHandler<T>,
    options?: SubscribeOptions<T>,
  ): Promise<Subscription>;
  subscribe(
    target: TopicSpec | string,
    handler: MessageHandler<never>,
    options?: TopicSubscribeOptions & SubscribeOptions<unknown>,
  ): Promise<Subscription> {
    const subscribe = this.#client.subscribe as AnySubscribe;
    return this.#hold(() => subscribe.call(this.#client, target, handler, options));
  }

  /** `MqttClient.subscribeRaw`, held by the group. */
  subscribeRaw(
    target: TopicSpec | string,
    handler: MessageHandler<Uint8Array>,
    options?: RawSubscribeOptions,
  ): Promise<Subscription> {
    return this.#hold(() => this.#client.subscribeRaw(target, handler, options));
  }

  /**
   * Unsubscribes everything subscribed through the group, including subscriptions still in
   * flight; every one is tried, then the first failure (if any) is thrown. Idempotent; later
   * subscribes through the group reject.
   */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    const active = [...this.#active];
    this.#active.clear();
    const results = await Promise.allSettled(active.map((s) => s.unsubscribe()));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** `await using group = client.group()` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #hold(subscribe: () => Promise<Subscription>): Promise<Subscription> {
    if (this.#closed) {
      throw new Error("Cannot subscribe through a closed subscription group; make a new group");
    }
    const pending = subscribe();
    this.#inFlight.add(pending);
    let subscription: Subscription;
    try {
      subscription = await pending;
    } finally {
      this.#inFlight.delete(pending);
    }
    if (this.#closed) {
      // close() already ran past this one: it must not outlive the group.
      await subscription.unsubscribe();
      return subscription;
    }
    this.#active.add(subscription);
    return {
      filter: subscription.filter,
      unsubscribe: () => {
        this.#active.delete(subscription);
        return subscription.unsubscribe();
      },
    };
  }
}
