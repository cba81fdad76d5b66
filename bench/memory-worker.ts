/**
 * memory-worker bench: query latency of the `hybrid` strategy at 1k, 10k and 100k memories,
 * lexical only (no embedder) and with 384-dimension vectors (the size of all-MiniLM-L6-v2),
 * plus the ingest rate (one memory per write, as the service writes them). The query
 * embedding itself is excluded (it is the embedder's cost, not the store's): the vectors are
 * random unit vectors. Baseline measured in the same run: the `recent` strategy, which reads
 * the newest rows by index only.
 *
 * `deno run -A bench/memory-worker.ts [--max=10000]`
 *
 * @module
 */
import { normalize } from "../services/memory-worker/embedders/mod.ts";
import { type MemorySearch, MemorySearcher } from "../services/memory-worker/retrieval.ts";
import { MemoryDatabase } from "../services/memory-worker/store.ts";

const SIZES = [1_000, 10_000, 100_000];
const DIMS = 384;
const QUERIES = 200;
const TARGET_P50_MS = 10;

// A deterministic generator so runs compare.
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 0x100000000;
  };
}

// 5 000 pseudo-words with a Zipf-like frequency, like conversation text.
const random = rng(42);
const SYLLABLES = ["ka", "lo", "mi", "ra", "te", "su", "no", "vi", "pe", "da", "zu", "ri"];
const WORDS = Array.from({ length: 5000 }, () => {
  const n = 2 + Math.floor(random() * 3);
  return Array.from({ length: n }, () => SYLLABLES[Math.floor(random() * SYLLABLES.length)]).join(
    "",
  );
});
const word = () => WORDS[Math.floor(WORDS.length * Math.pow(random(), 2.5))];
const sentence = (words: number) => Array.from({ length: words }, word).join(" ");
const vector = () => normalize(Float32Array.from({ length: DIMS }, () => random() - 0.5));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function timeQueries(
  searcher: MemorySearcher,
  strategy: MemorySearch["strategy"],
  queries: string[],
): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (const text of queries) {
    const started = performance.now();
    await searcher.search({
      text,
      topK: 5,
      maxTokens: 2000,
      includeContext: false,
      contextWindow: 1,
      strategy,
    });
    times.push(performance.now() - started);
  }
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

/** Runs the bench; returns its Markdown section. */
export async function run(max = Infinity): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tars-memory-bench-" });
  const rows: string[] = [];
  let ingestLine = "";
  try {
    for (const size of SIZES.filter((s) => s <= max)) {
      const db = MemoryDatabase.open({ path: `${dir}/m${size}.sqlite`, vectors: true });
      const started = performance.now();
      for (let i = 0; i < size; i++) db.add("user", sentence(6 + Math.floor(random() * 14)), {});
      const ingestMs = performance.now() - started;
      if (size === 10_000 || size === Math.min(max, SIZES[0])) {
        ingestLine = `Ingest: ${Math.round(size / (ingestMs / 1000))} memories/s ` +
          `(${(ingestMs * 1000 / size).toFixed(0)} µs each, ${size} one-row writes, WAL).`;
      }
      for (let from = 0; from < size; from += 1000) {
        const batch = db.unembedded(1000).map((m) => ({ id: m.id, vector: vector() }));
        db.putVectors(batch);
      }
      const queries = Array.from({ length: QUERIES }, () => sentence(4));
      const queryVector = vector();
      const lexical = new MemorySearcher(db, {
        fusion: "hybrid",
        embedQuery: () => Promise.resolve(null),
      });
      const hybrid = new MemorySearcher(db, {
        fusion: "hybrid",
        embedQuery: () => Promise.resolve(queryVector),
      });
      await timeQueries(lexical, "hybrid", queries.slice(0, 20)); // warm up
      const recent = await timeQueries(lexical, "recent", queries);
      const lex = await timeQueries(lexical, "hybrid", queries);
      const hyb = await timeQueries(hybrid, "hybrid", queries);
      const mark = (ms: number) => size === 10_000 ? (ms < TARGET_P50_MS ? " ✓" : " ✗") : "";
      rows.push(
        `| ${size.toLocaleString("en")} | ${recent.p50.toFixed(2)} | ` +
          `${lex.p50.toFixed(2)}${mark(lex.p50)} / ${lex.p99.toFixed(2)} | ` +
          `${hyb.p50.toFixed(2)}${mark(hyb.p50)} / ${hyb.p99.toFixed(2)} | ` +
          `${(lex.p50 / recent.p50).toFixed(1)}× / ${(hyb.p50 / recent.p50).toFixed(1)}× |`,
      );
      console.log(rows.at(-1));
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return [
    `Query latency in ms (${QUERIES} queries of 4 words, top_k 5, max_tokens 2000; ` +
    `${DIMS}-d vectors; target p50 < ${TARGET_P50_MS} ms at 10k):`,
    "",
    "| memories | recent p50 (baseline) | lexical p50 / p99 | hybrid p50 / p99 | ratio to baseline (lexical / hybrid) |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
    ingestLine,
  ].join("\n");
}

if (import.meta.main) {
  const maxArg = Deno.args.find((a) => a.startsWith("--max="));
  console.log(await run(maxArg ? Number(maxArg.slice(6)) : Infinity));
}
