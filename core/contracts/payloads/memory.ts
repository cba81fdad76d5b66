/**
 * Memory (RAG) payloads: `memory/query` and `memory/results`.
 *
 * @module
 */
import { z } from "zod";
import { builtSchema, lazySchema } from "../lazy_schema.ts";
import {
  jsonObject,
  labelString,
  longTextString,
  messageIdField,
  TEXT_LIMITS,
  textString,
} from "./common.ts";

/** The retrieval strategies of {@linkcode MemoryQuery}. */
export const MEMORY_RETRIEVAL_STRATEGIES = ["hybrid", "recent", "similarity"] as const;
/** One of {@linkcode MEMORY_RETRIEVAL_STRATEGIES}. */
export type MemoryRetrievalStrategy = typeof MEMORY_RETRIEVAL_STRATEGIES[number];

/** The `context_type` values of {@linkcode MemoryResult}. */
export const MEMORY_CONTEXT_TYPES = ["target", "previous", "next"] as const;
/** One of {@linkcode MEMORY_CONTEXT_TYPES}. */
export type MemoryContextType = typeof MEMORY_CONTEXT_TYPES[number];

const queryOptions = {
  top_k: z.int().min(1).max(50).default(5),
  max_tokens: z.int().min(1).max(10000).nullish().meta({
    description: "Token budget of the results (words x 1.3).",
  }),
  include_context: z.boolean().default(false).meta({
    description: "Also return neighbouring documents.",
  }),
  context_window: z.int().min(0).max(5).default(1).meta({
    description: "Neighbours on each side when include_context.",
  }),
  retrieval_strategy: z.enum(MEMORY_RETRIEVAL_STRATEGIES).default("hybrid"),
};

const MemoryQueryObject = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    text: textString().meta({ description: "What to search for." }),
    ...queryOptions,
  }).meta({ title: "MemoryQuery", description: "A memory search." })
);

const MemoryQueryWithQueryKey = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    query: textString().meta({ description: "What to search for (raw alias of `text`)." }),
    ...queryOptions,
  }).meta({
    title: "MemoryQuery (raw `query` alias)",
    description: "The raw form py-tars also accepts: `query` instead of `text`.",
  }).transform(({ message_id, query, ...options }) => ({ message_id, text: query, ...options }))
);

/**
 * MemoryQuery: a memory search, on `memory/query`. The reply on `memory/results` reuses
 * the query's envelope id. Like py-tars, `{query, top_k}` is accepted for `{text, top_k}`.
 */
export const MemoryQuery = lazySchema(() =>
  z.union([builtSchema(MemoryQueryObject), builtSchema(MemoryQueryWithQueryKey)])
);
/** A parsed {@linkcode MemoryQuery} (always with `text`). */
export type MemoryQuery = z.output<typeof MemoryQuery>;

/**
 * Results of a {@linkcode MemoryResults} at most: `top_k` (<= 50) targets, each with up to
 * `context_window` (<= 5) neighbours on either side.
 */
export const MEMORY_RESULTS_MAX = 50 * (1 + 2 * 5);

/** MemoryResult: one document of {@linkcode MemoryResults} (no `message_id`). */
export const MemoryResult = lazySchema(() =>
  z.strictObject({
    document: z.union([jsonObject(), longTextString()]).meta({
      description: "The stored document: a TtsSay/transcript dict or a string.",
    }),
    score: z.number().nullish(),
    timestamp: labelString().nullish(),
    context_type: z.enum(MEMORY_CONTEXT_TYPES).default("target"),
    token_count: z.int().nullish(),
  }).meta({ title: "MemoryResult", description: "One retrieved document." })
);
/** A parsed {@linkcode MemoryResult}. */
export type MemoryResult = z.output<typeof MemoryResult>;

/** MemoryResults: the answer to a {@linkcode MemoryQuery}, on `memory/results`. */
export const MemoryResults = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    query: textString().meta({ description: "The query text." }),
    k: z.int().meta({ description: "Number of target (non-context) results." }),
    results: z.array(builtSchema(MemoryResult)).max(MEMORY_RESULTS_MAX).default(() => []),
    total_tokens: z.int().nullish(),
    strategy_used: labelString().default("hybrid"),
    truncated: z.boolean().default(false),
  }).meta({ title: "MemoryResults", description: "The answer to a memory search." })
);
/** A parsed {@linkcode MemoryResults}. */
export type MemoryResults = z.output<typeof MemoryResults>;

/**
 * MemoryStore: asks memory-worker to keep one fact, on `memory/store` (new in TARS-Deno; the
 * llm-worker's "remember this" tool). Stored like an utterance, so every search finds it.
 */
export const MemoryStore = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    text: z.string().trim().min(1).max(TEXT_LIMITS.text).meta({
      description: "The fact to remember.",
    }),
    source: labelString().nullish().meta({ description: "Who asked, e.g. `llm-worker`." }),
  }).meta({ title: "MemoryStore", description: "A fact for memory-worker to keep." })
);
/** A parsed {@linkcode MemoryStore}. */
export type MemoryStore = z.output<typeof MemoryStore>;
