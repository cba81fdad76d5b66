/**
 * A bounded work queue per subscription: its own concurrency (default 1, in order), its
 * own overflow policy and a timeout per handler call, so a slow or stuck handler only
 * delays its own subscription.
 *
 * @module
 */

/**
 * What happens when a subscription's queue is full:
 * - `drop-oldest`: the oldest waiting message is dropped (py-tars' default),
 * - `drop-new`: the arriving message is dropped,
 * - `block`: nothing is dropped; the client stops reading from the broker until there is
 *   room again (every topic of the connection waits; for QoS 1 the broker keeps the
 *   message until it is taken).
 */
export type OverflowPolicy = "drop-oldest" | "drop-new" | "block";

/** Why a queued item was not run. */
export type DropReason = "overflow" | "closed";

/** Options of {@linkcode HandlerQueue}. */
export interface HandlerQueueOptions<T> {
  /** Items waiting at most (not counting running ones); >= 1. */
  maxSize: number;
  /** Handler calls running at once; >= 1. */
  concurrency: number;
  /** Policy when full. */
  overflow: OverflowPolicy;
  /** A call running longer is abandoned (its signal aborted) and reported; 0 = no limit. */
  timeoutMs: number;
  /** Runs one item. */
  run: (item: T, signal: AbortSignal) => void | Promise<void>;
  /** An item was dropped. */
  onDrop?: (item: T, reason: DropReason) => void;
  /** A call threw or rejected. */
  onError?: (item: T, error: unknown) => void;
  /** A call exceeded the timeout. */
  onTimeout?: (item: T) => void;
}

/** Error a handler's signal is aborted with when its call timed out. */
export class HandlerTimeoutError extends Error {
  /** Creates the error for a limit in ms. */
  constructor(timeoutMs: number) {
    super(`handler did not finish within ${timeoutMs} ms`);
    this.name = "HandlerTimeoutError";
  }
}

/** Bounded FIFO with a fixed number of workers. */
export class HandlerQueue<T> {
  readonly #o: HandlerQueueOptions<T>;
  readonly #items: T[] = [];
  readonly #running = new Set<AbortController>();
  readonly #spaceWaiters: Array<() => void> = [];
  readonly #idleWaiters: Array<() => void> = [];
  #closed = false;

  /** Creates an open, empty queue. */
  constructor(options: HandlerQueueOptions<T>) {
    if (!(options.maxSize >= 1) || !(options.concurrency >= 1)) {
      throw new RangeError("HandlerQueue needs maxSize >= 1 and concurrency >= 1");
    }
    this.#o = options;
  }

  /** Items waiting. */
  get size(): number {
    return this.#items.length;
  }

  /** Calls running. */
  get active(): number {
    return this.#running.size;
  }

  /**
   * Adds an item. Returns `undefined` when it was queued or dropped at once, or a promise
   * that resolves once it is queued (`block` policy on a full queue).
   */
  push(item: T): Promise<void> | undefined {
    if (this.#closed) {
      this.#o.onDrop?.(item, "closed");
      return undefined;
    }
    if (this.#items.length >= this.#o.maxSize) {
      switch (this.#o.overflow) {
        case "drop-new":
          this.#o.onDrop?.(item, "overflow");
          return undefined;
        case "drop-oldest":
          this.#o.onDrop?.(this.#items.shift() as T, "overflow");
          break;
        case "block":
          return new Promise<void>((resolve) => {
            this.#spaceWaiters.push(() => {
              const again = this.push(item);
              if (again) again.then(resolve);
              else resolve();
            });
          });
      }
    }
    this.#items.push(item);
    this.#pump();
    return undefined;
  }

  /**
   * Stops taking items and waits up to `graceMs` for queued and running calls to finish;
   * then aborts running calls and drops what is still queued. Resolves when done.
   */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    for (const wake of this.#spaceWaiters.splice(0)) wake();
    if (this.#items.length > 0 || this.#running.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#idleWaiters.push(resolve)),
        new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs)),
      ]);
      clearTimeout(timer);
    }
    for (const item of this.#items.splice(0)) this.#o.onDrop?.(item, "closed");
    for (const controller of this.#running) controller.abort(new Error("client shutting down"));
    this.#running.clear();
  }

  /** Accepts items again after {@linkcode HandlerQueue.close}. */
  reopen(): void {
    this.#closed = false;
  }

  #pump(): void {
    while (this.#running.size < this.#o.concurrency && this.#items.length > 0) {
      this.#start(this.#items.shift() as T);
    }
    while (this.#spaceWaiters.length > 0 && this.#items.length < this.#o.maxSize) {
      (this.#spaceWaiters.shift() as () => void)();
    }
    if (this.#running.size === 0 && this.#items.length === 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  #start(item: T): void {
    const controller = new AbortController();
    this.#running.add(controller);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#running.delete(controller);
      this.#pump();
    };
    const started = performance.now();
    let result: void | Promise<void>;
    try {
      result = this.#o.run(item, controller.signal);
    } catch (error) {
      this.#o.onError?.(item, error);
      finish();
      return;
    }
    if (!(result instanceof Promise)) {
      finish();
      return;
    }
    // Only a returned promise can outlive the limit, so only it gets a timer (a timer per
    // call costs more than the rest of the dispatch); the deadline still counts from the call.
    if (this.#o.timeoutMs > 0) {
      timer = setTimeout(() => {
        if (settled) return;
        controller.abort(new HandlerTimeoutError(this.#o.timeoutMs));
        this.#o.onTimeout?.(item);
        finish();
      }, Math.max(0, Math.ceil(this.#o.timeoutMs - (performance.now() - started))));
    }
    result.then(finish, (error) => {
      if (!settled) this.#o.onError?.(item, error);
      finish();
    });
  }
}
