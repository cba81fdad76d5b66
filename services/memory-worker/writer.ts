/**
 * Writes memories to the database without losing any: a write that fails (a locked or
 * full disk, a read-only file) is kept in a bounded backlog and retried, the failure is
 * reported once (for the health topic) and so is the recovery.
 *
 * @module
 */
import type { Logger } from "../../core/mod.ts";
import type { NewMemory } from "./ingest.ts";
import type { MemoryDatabase, StoredMemory } from "./store.ts";

/** Options of {@linkcode MemoryWriter}. */
export interface MemoryWriterOptions {
  /** Retry delay after a failed write, ms. */
  readonly retryMs: number;
  /** Memories kept for retry at most; the oldest are dropped (and logged) beyond it. */
  readonly maxBacklog: number;
  /** Logger. */
  readonly logger: Logger;
  /** Called after each stored memory. */
  readonly onStored?: (memory: StoredMemory) => void;
  /** Called when storage starts failing (once until it recovers). */
  readonly onFailure?: (error: Error) => void;
  /** Called when storage works again. */
  readonly onRecovered?: () => void;
}

/** Writes memories, retrying the ones storage refused. */
export class MemoryWriter {
  readonly #db: MemoryDatabase;
  readonly #options: MemoryWriterOptions;
  readonly #backlog: NewMemory[] = [];
  #failing = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dropped = 0;
  #closed = false;

  /** Creates the writer. */
  constructor(db: MemoryDatabase, options: MemoryWriterOptions) {
    this.#db = db;
    this.#options = options;
  }

  /** Memories waiting for a retry. */
  get backlog(): number {
    return this.#backlog.length;
  }

  /** Memories dropped because the backlog was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Whether the last write failed. */
  get failing(): boolean {
    return this.#failing;
  }

  /** Writes `memory` now, or keeps it for a retry (in arrival order). */
  write(memory: NewMemory): void {
    this.#backlog.push(memory);
    if (this.#backlog.length > this.#options.maxBacklog) {
      this.#backlog.shift();
      this.#dropped++;
      this.#options.logger.error(
        "Memory backlog full ({max}): dropped the oldest unsaved memory ({dropped} so far)",
        { max: this.#options.maxBacklog, dropped: this.#dropped },
      );
    }
    this.#drain();
  }

  /** Reports a storage failure seen elsewhere (a query), so health tells the truth. */
  reportFailure(error: Error): void {
    if (!this.#failing) {
      this.#failing = true;
      this.#options.onFailure?.(error);
    }
  }

  /** Reports storage working again (a query succeeded) when nothing waits for a retry. */
  reportSuccess(): void {
    if (this.#failing && this.#backlog.length === 0) {
      this.#failing = false;
      this.#options.onRecovered?.();
    }
  }

  #drain(): void {
    if (this.#closed || (this.#failing && this.#timer !== undefined)) return;
    while (this.#backlog.length > 0) {
      const next = this.#backlog[0];
      let stored: StoredMemory;
      try {
        stored = this.#db.add(next.kind, next.text, next.document, next.at);
      } catch (error) {
        this.#options.logger.error(
          "Storing a memory failed ({backlog} waiting, retry in {delay} ms): {error}",
          { backlog: this.#backlog.length, delay: this.#options.retryMs, error: String(error) },
        );
        this.reportFailure(error as Error);
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#drain();
        }, this.#options.retryMs);
        return;
      }
      this.#backlog.shift();
      this.#options.onStored?.(stored);
    }
    this.reportSuccess();
  }

  /** Tries the backlog one last time and stops retrying; returns how many stayed unsaved. */
  close(): number {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#drain();
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const lost = this.#backlog.length;
    if (lost > 0) {
      this.#options.logger.error("{count} memories could not be saved before shutdown", {
        count: lost,
      });
    }
    return lost;
  }
}
