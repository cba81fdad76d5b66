/**
 * Request/response bookkeeping, without I/O: the requests waiting for a reply (by correlation
 * id, with timeout and abort), the one reply listener per reply filter, and the error of a
 * request that got no reply.
 *
 * @module
 */
import { filterOf, topicFor, type TopicSpec } from "../contracts/topic.ts";

/** Thrown by `MqttClient.request` when no reply came in time. */
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

/** Where {@linkcode RequestTracker.wait} waits, for the timeout error. */
export interface WaitOptions {
  /** The topic the request was published on. */
  readonly topic: string;
  /** The reply topic or filter. */
  readonly replyFilter: string;
  /** Give up after this many ms. */
  readonly timeoutMs: number;
  /** Cancels the wait. */
  readonly signal?: AbortSignal;
}

/**
 * The reply filter of a request: `spec`'s topic filled with `params` when it has `{params}`
 * and they are given, else its subscription filter (`{params}` as `+`).
 */
export function replyFilterOf(
  spec: Pick<TopicSpec, "topic">,
  params: Readonly<Record<string, string>> | undefined,
): string {
  return params && spec.topic.includes("{") ? topicFor(spec, params) : filterOf(spec);
}

/** The requests waiting for a reply, by correlation id, and one reply listener per filter. */
export class RequestTracker {
  readonly #pending = new Map<
    string,
    { resolve(payload: unknown): void; reject(error: Error): void }
  >();
  readonly #listeners = new Map<string, Promise<void>>();

  /** Whether a request with this id waits. */
  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /** Requests waiting right now. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Waits for the reply to request `id`: resolves with what {@linkcode resolve} gets for it,
   * rejects with {@linkcode RequestTimeoutError} after `timeoutMs`, with an abort error when
   * `signal` aborts, or with what {@linkcode reject} / {@linkcode rejectAll} pass.
   */
  wait(id: string, options: WaitOptions): Promise<unknown> {
    if (this.#pending.has(id)) throw new Error(`A request with id ${id} is already waiting`);
    const { topic, replyFilter, timeoutMs, signal } = options;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        finish();
        reject(new RequestTimeoutError(topic, replyFilter, id, timeoutMs));
      }, timeoutMs);
      const onAbort = () => {
        finish();
        reject(new Error(`request on ${topic} aborted`));
      };
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#pending.delete(id);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (payload) => {
          finish();
          resolve(payload);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      });
    });
  }

  /** Settles request `id` with its reply; ignored when no such request waits. */
  resolve(id: string, payload: unknown): void {
    this.#pending.get(id)?.resolve(payload);
  }

  /** Fails request `id`; ignored when no such request waits. */
  reject(id: string, error: Error): void {
    this.#pending.get(id)?.reject(error);
  }

  /** Fails every waiting request with `error`. */
  rejectAll(error: Error): void {
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(error);
    }
  }

  /**
   * The reply listener of `filter`: `subscribe()` is called once per filter and its promise
   * shared; a failed subscribe is forgotten, so the next request tries again.
   */
  listener(filter: string, subscribe: () => Promise<void>): Promise<void> {
    let ready = this.#listeners.get(filter);
    if (!ready) {
      ready = subscribe();
      ready.catch(() => this.#listeners.delete(filter));
      this.#listeners.set(filter, ready);
    }
    return ready;
  }
}
