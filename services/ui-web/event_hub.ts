/**
 * Live updates to browsers over Server-Sent Events: every connected page gets a `hello`
 * snapshot first, then each event as one `data:` line of JSON. A browser that does not read
 * fast enough is disconnected (its EventSource reconnects and gets a fresh snapshot) rather
 * than buffering without bound; a comment line every `pingMs` keeps proxies from closing
 * idle streams and finds dead connections.
 *
 * @module
 */

/** Options of {@linkcode EventHub}. */
export interface EventHubOptions {
  /** Browsers connected at once, at most (more get 503). */
  readonly maxClients: number;
  /** Bytes queued for one browser before it is dropped; default 1 MiB. */
  readonly maxQueuedBytes?: number;
  /** Interval of keep-alive comments, ms; default 15 000. */
  readonly pingMs?: number;
}

interface Client {
  controller: ReadableStreamDefaultController<Uint8Array>;
  closed: boolean;
}

const encoder = new TextEncoder();

/** Fans JSON events out to every connected browser. */
export class EventHub {
  readonly #options: EventHubOptions;
  readonly #clients = new Set<Client>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #dropped = 0;

  /** Builds a hub with no clients. */
  constructor(options: EventHubOptions) {
    this.#options = options;
  }

  /** Browsers connected now. */
  get size(): number {
    return this.#clients.size;
  }

  /** Browsers dropped so far for reading too slowly. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * The response of a new SSE connection whose first event is `hello` (503 when the hub is
   * full or closed).
   */
  connect(hello: unknown): Response {
    if (this.#closed || this.#clients.size >= this.#options.maxClients) {
      return new Response("Too many live connections; close another tab and reload.\n", {
        status: 503,
        headers: { "content-type": "text/plain; charset=utf-8", "retry-after": "5" },
      });
    }
    let client: Client | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        client = { controller, closed: false };
        this.#clients.add(client);
        this.#ensureTimer();
        this.#write(client, "retry: 2000\n\n");
        this.#write(client, frame(hello));
      },
      cancel: () => {
        if (client) this.#remove(client);
      },
    }, { highWaterMark: this.#options.maxQueuedBytes ?? 1 << 20, size: (chunk) => chunk.length });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Sends one event to every browser. */
  broadcast(event: unknown): void {
    if (this.#clients.size === 0) return;
    const text = frame(event);
    for (const client of [...this.#clients]) this.#write(client, text);
  }

  /** Ends every stream and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const client of [...this.#clients]) {
      this.#remove(client);
      try {
        client.controller.close();
      } catch {
        // already closed by the browser
      }
    }
    this.#stopTimer();
  }

  #write(client: Client, text: string): void {
    if (client.closed) return;
    const bytes = encoder.encode(text);
    if ((client.controller.desiredSize ?? 0) <= 0) {
      // Its queue is full: drop the browser; it reconnects and gets a fresh snapshot.
      this.#dropped++;
      this.#remove(client);
      try {
        client.controller.error(new Error("client too slow"));
      } catch {
        // already gone
      }
      return;
    }
    try {
      client.controller.enqueue(bytes);
    } catch {
      this.#remove(client);
    }
  }

  #remove(client: Client): void {
    client.closed = true;
    this.#clients.delete(client);
    if (this.#clients.size === 0) this.#stopTimer();
  }

  #ensureTimer(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      for (const client of [...this.#clients]) this.#write(client, ": ping\n\n");
    }, this.#options.pingMs ?? 15_000);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** One SSE message carrying `event` as JSON (JSON has no raw newlines, so one data line). */
export function frame(event: unknown): string {
  return `data: ${JSON.stringify(event)}\n\n`;
}
