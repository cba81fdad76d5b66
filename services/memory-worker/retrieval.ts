/**
 * Answers a memory query: the `hybrid` (reciprocal-rank fusion of lexical and vector
 * ranks, k = 60, as py-tars), `similarity` (vector only) and `recent` strategies, the
 * token budget (`max_tokens`, tokens = words × 1.3) with `truncated`, and the previous/next
 * neighbours of each hit (`include_context`). Without an embedder, or while the embedder
 * fails, the vector side is empty and the lexical ranks decide.
 *
 * @module
 */
import type { MemoryResult, MemoryRetrievalStrategy } from "../../core/mod.ts";
import type { MemoryDatabase, RankedId, StoredMemory } from "./store.ts";

/**
 * Characters of query text embedded at most: embedding models read a few hundred tokens, and
 * a longer input only costs time.
 */
export const MAX_EMBED_QUERY_CHARS = 2_000;

const UTF8 = new TextEncoder();

/** Bytes of `value` as JSON. */
function jsonBytes(value: unknown): number {
  return UTF8.encode(JSON.stringify(value)).byteLength;
}

/** The fusion constant of reciprocal-rank fusion (py-tars: 60). */
export const RRF_K = 60;

/** Estimated tokens of `text`: words × 1.3, rounded up (py-tars' estimate). */
export function estimateTokens(text: string): number {
  const words = text.split(/\s+/).filter((word) => word !== "").length;
  return Math.ceil(words * 1.3);
}

/**
 * Reciprocal-rank fusion of ranked id lists: each id scores Σ 1/(k + rank) over the lists,
 * with rank = list length + 1 in a list that lacks it (py-tars). Best first; ties go to
 * the newer memory (higher id).
 */
export function reciprocalRankFusion(
  lists: ReadonlyArray<readonly RankedId[]>,
  k: number = RRF_K,
): Array<{ id: number; score: number }> {
  const ranks = lists.map((list) => new Map(list.map((hit, index) => [hit.id, index + 1])));
  const ids = new Set(lists.flatMap((list) => list.map((hit) => hit.id)));
  const fused = [...ids].map((id) => {
    let score = 0;
    ranks.forEach((rank, i) => {
      score += 1 / (k + (rank.get(id) ?? lists[i].length + 1));
    });
    return { id, score };
  });
  return fused.sort((a, b) => b.score - a.score || b.id - a.id);
}

/** A query, already validated. */
export interface MemorySearch {
  /** What to search for. */
  readonly text: string;
  /** Targets wanted. */
  readonly topK: number;
  /** Token budget of all results, if any. */
  readonly maxTokens?: number | null;
  /** Add previous/next neighbours of each target. */
  readonly includeContext: boolean;
  /** Neighbours on each side. */
  readonly contextWindow: number;
  /** The strategy. */
  readonly strategy: MemoryRetrievalStrategy;
  /**
   * Bytes the results may take as JSON (memory/results has a size limit); targets that do not
   * fit, with their neighbours, are left out and `truncated` set. Default: no limit.
   */
  readonly maxResultBytes?: number;
}

/** What a search found. */
export interface MemorySearchOutcome {
  /** Results: for each target its previous neighbours, itself, then its next ones. */
  readonly results: MemoryResult[];
  /** Number of targets. */
  readonly k: number;
  /** Sum of the results' token counts. */
  readonly totalTokens: number;
  /** Whether the budget left out a target or a neighbour. */
  readonly truncated: boolean;
  /** The strategy that produced the targets (`lexical` when no vector was available). */
  readonly strategyUsed: string;
}

/** How the searcher ranks. */
export interface SearcherOptions {
  /** `naive` makes `hybrid` rank by vectors only (py-tars RAG_STRATEGY=naive). */
  readonly fusion: "hybrid" | "naive";
  /** Embeds the query text; `null` when no embedder is configured or it failed. */
  readonly embedQuery: (text: string) => Promise<Float32Array | null>;
}

/** Runs searches against a {@linkcode MemoryDatabase}. */
export class MemorySearcher {
  readonly #store: MemoryDatabase;
  readonly #options: SearcherOptions;

  /** Creates a searcher. */
  constructor(store: MemoryDatabase, options: SearcherOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** Runs `search`. Storage errors propagate. */
  async search(search: MemorySearch): Promise<MemorySearchOutcome> {
    // With a budget, fetch twice as many candidates so the budget can pick among them.
    const candidates = search.maxTokens ? search.topK * 2 : search.topK;
    let ranked: StoredMemory[];
    let strategyUsed: string = search.strategy;
    let scores = new Map<number, number>();
    if (search.strategy === "recent") {
      ranked = this.#store.newest(candidates);
      scores = new Map(ranked.map((memory) => [memory.id, 1]));
    } else {
      const found = await this.#rank(search, candidates);
      strategyUsed = found.strategyUsed;
      scores = new Map(found.ids.map((hit) => [hit.id, hit.score]));
      const byId = this.#store.getMany(found.ids.map((hit) => hit.id));
      ranked = found.ids.map((hit) => byId.get(hit.id)).filter((m): m is StoredMemory => !!m);
    }

    const budget = search.maxTokens ?? Infinity;
    let used = 0;
    let truncated = false;
    const targets: StoredMemory[] = [];
    for (const memory of ranked) {
      if (targets.length >= search.topK) break;
      const cost = estimateTokens(memory.text);
      if (used + cost > budget && targets.length > 0) {
        truncated = true;
        break;
      }
      targets.push(memory);
      used += cost;
    }
    // `recent` answers in chronological order, like a transcript.
    if (search.strategy === "recent") targets.sort(byArrival);

    const included = new Set(targets.map((memory) => memory.id));
    const results: MemoryResult[] = [];
    const byteBudget = search.maxResultBytes ?? Infinity;
    let bytes = 0;
    let kept = 0;
    for (const target of targets) {
      const before: StoredMemory[] = [];
      const after: StoredMemory[] = [];
      if (search.includeContext && search.contextWindow > 0) {
        for (const [direction, into] of [["before", before], ["after", after]] as const) {
          for (
            const neighbour of this.#store.neighbours(target, direction, search.contextWindow)
          ) {
            if (included.has(neighbour.id)) continue;
            const cost = estimateTokens(neighbour.text);
            if (used + cost > budget) {
              truncated = true;
              continue;
            }
            included.add(neighbour.id);
            used += cost;
            into.push(neighbour);
          }
        }
        before.reverse();
      }
      const group = [
        ...before.map((memory) => toResult(memory, "previous", 0)),
        toResult(target, "target", scores.get(target.id) ?? 0),
        ...after.map((memory) => toResult(memory, "next", 0)),
      ];
      if (byteBudget !== Infinity) {
        const groupBytes = group.reduce((sum, result) => sum + jsonBytes(result) + 1, 0);
        if (bytes + groupBytes > byteBudget) {
          truncated = true;
          continue;
        }
        bytes += groupBytes;
      }
      results.push(...group);
      kept++;
    }
    return {
      results,
      k: kept,
      totalTokens: results.reduce((sum, result) => sum + (result.token_count ?? 0), 0),
      truncated,
      strategyUsed,
    };
  }

  async #rank(
    search: MemorySearch,
    candidates: number,
  ): Promise<{ ids: Array<{ id: number; score: number }>; strategyUsed: string }> {
    // py-tars fuses the top 2k of each list.
    const depth = Math.max(candidates, search.topK * 2);
    const vector = await this.#options.embedQuery(search.text.slice(0, MAX_EMBED_QUERY_CHARS));
    const vectorHits = vector ? this.#store.searchVector(vector, depth) : [];
    const vectorUsable = vector !== null && this.#store.vectorDimensions !== null;
    const vectorOnly = search.strategy === "similarity" ||
      (search.strategy === "hybrid" && this.#options.fusion === "naive");
    if (vectorOnly && vectorUsable) {
      return {
        ids: vectorHits.slice(0, candidates).map((hit) => ({ id: hit.id, score: 1 - hit.score })),
        strategyUsed: search.strategy,
      };
    }
    const lexicalHits = this.#store.searchLexical(search.text, depth);
    if (!vectorUsable) {
      return {
        ids: reciprocalRankFusion([lexicalHits]).slice(0, candidates),
        strategyUsed: "lexical",
      };
    }
    return {
      ids: reciprocalRankFusion([vectorHits, lexicalHits]).slice(0, candidates),
      strategyUsed: "hybrid",
    };
  }
}

function byArrival(a: StoredMemory, b: StoredMemory): number {
  return a.createdAt - b.createdAt || a.id - b.id;
}

function toResult(
  memory: StoredMemory,
  contextType: MemoryResult["context_type"],
  score: number,
): MemoryResult {
  return {
    document: memory.document,
    score,
    timestamp: new Date(memory.createdAt).toISOString(),
    context_type: contextType,
    token_count: estimateTokens(memory.text),
  };
}
