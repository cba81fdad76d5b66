/**
 * RAG: asks memory-worker (memory/query → memory/results) through core's `request()` helper
 * with a timeout. Replies are dispatched on the client's own reply queue, so a request
 * handler awaiting memory does not block the reply (py-tars' deadlock, where every query
 * timed out, is gone) and many requests may wait at once. Answers are cached for
 * RAG_CACHE_TTL (at most 100 entries); failures are not cached.
 *
 * @module
 */
import { type Logger, type MqttClient, RequestTimeoutError, topics } from "../../core/mod.ts";
import type { RagConfig } from "./config.ts";
import { formatMemory } from "./prompt.ts";

/** Options of one retrieval. */
export interface RetrieveOptions {
  /** Results to ask for. */
  readonly topK: number;
  /** Token budget of the memory text. */
  readonly maxTokens: number;
  /** Envelope id of the query (py-tars: the llm request's id). */
  readonly correlationId?: string;
  /** Aborts the wait (llm/cancel). */
  readonly signal?: AbortSignal;
}

/** The outcome of a retrieval. */
export interface RetrieveResult {
  /** The formatted context ("" when memory had nothing or did not answer). */
  readonly context: string;
  /** Where it came from. */
  readonly source: "memory" | "cache" | "timeout" | "error";
}

const CACHE_MAX = 100;

/** Retrieves memory context for prompts. */
export class MemoryRetriever {
  readonly #client: MqttClient;
  readonly #config: RagConfig;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #cache = new Map<string, { context: string; at: number }>();

  /** Creates the retriever. */
  constructor(client: MqttClient, config: RagConfig, logger: Logger, now: () => number = Date.now) {
    this.#client = client;
    this.#config = config;
    this.#logger = logger;
    this.#now = now;
  }

  /** Queries memory for `text`; never rejects (a timeout or error gives empty context). */
  async retrieve(text: string, options: RetrieveOptions): Promise<RetrieveResult> {
    const key = JSON.stringify([text, options.topK, options.maxTokens, this.#config.strategy]);
    const cached = this.#cache.get(key);
    if (cached && this.#now() - cached.at < this.#config.cacheTtlMs) {
      return { context: cached.context, source: "cache" };
    }
    try {
      const results = await this.#client.request(topics.memoryQuery, {
        text,
        top_k: options.topK,
        max_tokens: Math.max(1, Math.min(10_000, options.maxTokens)),
        include_context: this.#config.includeContext,
        context_window: this.#config.contextWindow,
        retrieval_strategy: this.#config.strategy,
      }, {
        replyTopic: topics.memoryResults,
        timeoutMs: this.#config.timeoutMs,
        correlationId: options.correlationId,
        signal: options.signal,
      });
      const context = formatMemory(results, options.maxTokens);
      if (this.#config.cacheTtlMs > 0) {
        this.#cache.delete(key);
        this.#cache.set(key, { context, at: this.#now() });
        while (this.#cache.size > CACHE_MAX) {
          this.#cache.delete(this.#cache.keys().next().value!);
        }
      }
      return { context, source: "memory" };
    } catch (error) {
      if (options.signal?.aborted) return { context: "", source: "error" };
      const timedOut = error instanceof RequestTimeoutError;
      this.#logger.warn(
        timedOut
          ? "memory-worker did not answer within {timeoutMs} ms (RAG_TIMEOUT_SEC); answering without memory"
          : "Memory query failed ({error}); answering without memory",
        { timeoutMs: this.#config.timeoutMs, error: String(error) },
      );
      return { context: "", source: timedOut ? "timeout" : "error" };
    }
  }
}
