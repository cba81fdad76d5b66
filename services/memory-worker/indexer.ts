/**
 * Background embedding: memories are searchable lexically as soon as they are stored, and
 * this indexer gives them vectors afterwards, in batches, without ever holding up a query
 * or an ingest. When the configured embedder differs from the one that made the stored
 * vectors, every memory is re-embedded the same way. A failing embedder is retried with
 * backoff; nothing is lost meanwhile.
 *
 * @module
 */
import { ExponentialBackoff, type Logger } from "../../core/mod.ts";
import type { Embedder } from "./embedders/mod.ts";
import type { MemoryDatabase } from "./store.ts";

/** Options of {@linkcode EmbeddingIndexer}. */
export interface EmbeddingIndexerOptions {
  /** Memories per embedding call. */
  readonly batchSize: number;
  /** Where progress and failures go. */
  readonly logger: Logger;
  /** First retry delay after a failure, ms (doubles up to `maxRetryMs`). */
  readonly minRetryMs?: number;
  /** Longest retry delay, ms. */
  readonly maxRetryMs?: number;
}

/** Gives stored memories their vectors, in the background. */
export class EmbeddingIndexer {
  readonly #db: MemoryDatabase;
  readonly #embedder: Embedder;
  readonly #options: EmbeddingIndexerOptions;
  readonly #abort = new AbortController();
  #running: Promise<void> | null = null;
  #again = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #retry: ExponentialBackoff;
  #failures = 0;
  #embedded = 0;

  /** Creates the indexer; call {@linkcode start}. */
  constructor(db: MemoryDatabase, embedder: Embedder, options: EmbeddingIndexerOptions) {
    this.#db = db;
    this.#embedder = embedder;
    this.#options = options;
    this.#retry = new ExponentialBackoff({
      minMs: options.minRetryMs ?? 1000,
      maxMs: options.maxRetryMs ?? 30_000,
      jitter: 0,
    });
  }

  /** Memories embedded since start. */
  get embedded(): number {
    return this.#embedded;
  }

  /** Failed embedding batches since start. */
  get failures(): number {
    return this.#failures;
  }

  /**
   * Re-embeds everything when the stored vectors came from another embedder, then indexes
   * whatever has no vector yet.
   */
  start(): void {
    const previous = this.#db.getSetting("embedder");
    if (previous !== this.#embedder.id) {
      const count = this.#db.count();
      this.#db.resetVectors(this.#embedder.id);
      if (previous !== null && count > 0) {
        this.#options.logger.info(
          "Embedder changed from {previous} to {current}: re-embedding {count} memories in the background",
          { previous, current: this.#embedder.id, count },
        );
      }
    }
    this.kick();
  }

  /** Schedules a pass over the memories without vectors (after a new memory). */
  kick(): void {
    if (this.#abort.signal.aborted || this.#retryTimer !== undefined) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#run().finally(() => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        this.kick();
      }
    });
  }

  /** Resolves once no pass is running or scheduled (tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #run(): Promise<void> {
    const { batchSize, logger } = this.#options;
    while (!this.#abort.signal.aborted) {
      const batch = this.#db.unembedded(batchSize);
      if (batch.length === 0) return;
      try {
        const vectors = await this.#embedder.embed(batch.map((m) => m.text), this.#abort.signal);
        if (this.#abort.signal.aborted) return;
        this.#db.putVectors(batch.map((m, i) => ({ id: m.id, vector: vectors[i] })));
        this.#embedded += batch.length;
        this.#retry.reset();
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        this.#failures++;
        const delay = this.#retry.next();
        logger.warn("Embedding {count} memories failed (retry in {delay} ms): {error}", {
          count: batch.length,
          delay,
          error: (error as Error).message,
        });
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.kick();
        }, delay);
        return;
      }
      // Let queries and ingests run between batches.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  /** Stops indexing (what is left is picked up at the next start). */
  async close(): Promise<void> {
    this.#abort.abort();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#running?.catch(() => {});
  }
}
