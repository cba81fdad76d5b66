import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  estimateTokens,
  MemorySearcher,
  reciprocalRankFusion,
} from "../../services/memory-worker/retrieval.ts";
import {
  lexicalQuery,
  MAX_QUERY_TERMS,
  MAX_TERM_LENGTH,
  MemoryDatabase,
} from "../../services/memory-worker/store.ts";
import { OnnxEmbedder } from "../../services/memory-worker/embedders/mod.ts";
import { EmbeddingIndexer } from "../../services/memory-worker/indexer.ts";
import { writeTinySentenceModel } from "../helpers/memory_embedders.ts";
import { getLogger } from "../../core/mod.ts";

const lexicalOnly = { fusion: "hybrid" as const, embedQuery: () => Promise.resolve(null) };

function seeded(texts: string[]): MemoryDatabase {
  const db = MemoryDatabase.open({ path: ":memory:", vectors: false });
  texts.forEach((text, i) => db.add("user", text, { role: "user" }, 1_700_000_000_000 + i * 1000));
  return db;
}

const search = (text: string, extra: Partial<Parameters<MemorySearcher["search"]>[0]> = {}) => ({
  text,
  topK: 3,
  maxTokens: null,
  includeContext: false,
  contextWindow: 1,
  strategy: "hybrid" as const,
  ...extra,
});

Deno.test("rrf: k=60, a missing rank counts as list length + 1, ties go to the newer id", () => {
  const fused = reciprocalRankFusion([
    [{ id: 1, score: 0 }, { id: 2, score: 0 }],
    [{ id: 2, score: 0 }, { id: 3, score: 0 }],
  ]);
  assert.deepEqual(fused.map((f) => f.id), [2, 1, 3]);
  assert.equal(fused[0].score, 1 / 62 + 1 / 61);
  assert.equal(fused[1].score, 1 / 61 + 1 / 63);
  assert.equal(fused[2].score, 1 / 63 + 1 / 62);
  const tie = reciprocalRankFusion([[{ id: 1, score: 0 }, { id: 2, score: 0 }], [
    { id: 2, score: 0 },
    { id: 1, score: 0 },
  ]]);
  assert.deepEqual(tie.map((f) => f.id), [2, 1]);
});

Deno.test("tokens are words × 1.3, rounded up", () => {
  assert.equal(estimateTokens("one two three"), 4);
  assert.equal(estimateTokens("  "), 0);
  assert.equal(estimateTokens("a b c d e f g h i j"), 13);
});

Deno.test("lexical query: quoted words, stop words dropped unless nothing else is left", () => {
  assert.equal(lexicalQuery("What is my dog's name?"), '"dog" OR "s" OR "name"');
  assert.equal(lexicalQuery("who is it"), '"who" OR "is" OR "it"');
  assert.equal(lexicalQuery("?!"), null);
  assert.equal(lexicalQuery('x" OR 1=1 --'), '"x" OR "1"');
});

Deno.test("lexical query: at most MAX_QUERY_TERMS terms, none longer than MAX_TERM_LENGTH", () => {
  const words = Array.from({ length: 5_000 }, (_, i) => `w${i}`);
  const query = lexicalQuery(`the ${"x".repeat(MAX_TERM_LENGTH + 1)} ${words.join(" ")}`);
  const terms = query?.split(" OR ") ?? [];
  assert.equal(terms.length, MAX_QUERY_TERMS);
  assert.deepEqual(terms.slice(0, 2), ['"w0"', '"w1"'], "the first words, in order");
  assert.equal(lexicalQuery("x".repeat(MAX_TERM_LENGTH + 1)), null);
  assert.equal(lexicalQuery(`${"x".repeat(MAX_TERM_LENGTH)} rex`)?.split(" OR ").length, 2);
});

Deno.test("search: results keep within maxResultBytes, whole targets left out", async () => {
  const db = seeded(Array.from({ length: 10 }, (_, i) => `rex ${i} ${"語".repeat(1000)}`));
  const searcher = new MemorySearcher(db, lexicalOnly);
  const base = {
    text: "rex",
    topK: 10,
    includeContext: false,
    contextWindow: 0,
    strategy: "hybrid" as const,
  };
  const all = await searcher.search(base);
  assert.equal(all.k, 10);
  assert.equal(all.truncated, false);
  const cut = await searcher.search({ ...base, maxResultBytes: 10_000 });
  assert.equal(cut.truncated, true);
  assert.equal(cut.k, 3, "3 000-byte documents");
  assert.equal(cut.results.length, 3);
  assert.ok(new TextEncoder().encode(JSON.stringify(cut.results)).byteLength <= 10_000);
});

Deno.test("store: bm25 finds stemmed words; bad FTS syntax in the query cannot break it", async () => {
  const db = seeded([
    "my dog is called rex",
    "the weather is rainy today",
    "rex likes running in the park",
    "coffee in the morning",
  ]);
  try {
    const searcher = new MemorySearcher(db, lexicalOnly);
    const out = await searcher.search(search("does rex run?"));
    assert.equal(out.strategyUsed, "lexical");
    assert.deepEqual(
      out.results.map((r) => (r.document as { text: string }).text),
      ["rex likes running in the park", "my dog is called rex"],
    );
    const weird = await searcher.search(search('"unbalanced AND (NEAR'));
    assert.equal(weird.k, 0);
  } finally {
    db.close();
  }
});

Deno.test("recent: the newest top_k in chronological order, score 1", async () => {
  const db = seeded(["one", "two", "three", "four"]);
  try {
    const out = await new MemorySearcher(db, lexicalOnly).search(
      search("anything", { strategy: "recent", topK: 2 }),
    );
    assert.deepEqual(out.results.map((r) => (r.document as { text: string }).text), [
      "three",
      "four",
    ]);
    assert.ok(out.results.every((r) => r.score === 1 && r.context_type === "target"));
    assert.equal(out.results[0].timestamp, new Date(1_700_000_002_000).toISOString());
    assert.equal(out.strategyUsed, "recent");
  } finally {
    db.close();
  }
});

Deno.test("budget: stops before max_tokens (but returns at least one) and says truncated", async () => {
  const db = seeded([
    "rex one two three four five six seven eight nine",
    "rex alpha beta",
    "rex gamma delta",
  ]);
  try {
    const searcher = new MemorySearcher(db, lexicalOnly);
    const tight = await searcher.search(search("rex", { maxTokens: 8, topK: 3 }));
    assert.ok(tight.truncated);
    assert.ok(tight.totalTokens <= 8);
    assert.ok(tight.k >= 1 && tight.k < 3);
    const tiny = await searcher.search(search("rex one", { maxTokens: 1, topK: 3 }));
    assert.equal(tiny.k, 1, "at least one result");
    assert.ok(tiny.truncated);
    const roomy = await searcher.search(search("rex", { maxTokens: 1000, topK: 3 }));
    assert.equal(roomy.k, 3);
    assert.equal(roomy.truncated, false);
  } finally {
    db.close();
  }
});

Deno.test("include_context: previous and next neighbours around each target, once each", async () => {
  const db = seeded(["a1", "a2", "target rex", "a4", "a5", "another rex", "a7"]);
  try {
    const out = await new MemorySearcher(db, lexicalOnly).search(
      search("rex", { includeContext: true, contextWindow: 1, topK: 2 }),
    );
    const shape = out.results.map((r) =>
      `${r.context_type}:${(r.document as { text: string }).text}`
    );
    assert.equal(out.k, 2);
    assert.equal(shape.length, 6);
    for (
      const group of [["previous:a2", "target:target rex", "next:a4"], [
        "previous:a5",
        "target:another rex",
        "next:a7",
      ]]
    ) {
      const at = shape.indexOf(group[1]);
      assert.deepEqual(shape.slice(at - 1, at + 2), group);
    }
    assert.ok(out.results.filter((r) => r.context_type !== "target").every((r) => r.score === 0));
    const budgeted = await new MemorySearcher(db, lexicalOnly).search(
      search("rex", { includeContext: true, contextWindow: 2, topK: 1, maxTokens: 5 }),
    );
    assert.ok(budgeted.truncated);
    assert.ok(budgeted.totalTokens <= 5);
  } finally {
    db.close();
  }
});

Deno.test("vectors: similarity ranks by cosine, hybrid fuses, re-embedding after a model change", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tars-mem-" });
  const modelA = await writeTinySentenceModel(`${dir}`, { dims: 16 });
  await Deno.mkdir(`${dir}/b`);
  const modelB = await writeTinySentenceModel(`${dir}/b`, { dims: 8 });
  const path = `${dir}/memory.sqlite`;
  const logger = getLogger("test", "memory");
  let db = MemoryDatabase.open({ path, vectors: true });
  let embedder = await OnnxEmbedder.load({ modelDir: modelA });
  try {
    for (
      const text of [
        "my dog is rex",
        "the weather is sunny today",
        "my sister anna lives in berlin",
      ]
    ) {
      db.add("user", text, {});
    }
    let indexer = new EmbeddingIndexer(db, embedder, { batchSize: 2, logger });
    indexer.start();
    await indexer.idle();
    assert.equal(db.unembeddedCount(), 0);
    assert.equal(db.vectorDimensions, 16);
    const embedQuery = async (text: string) => (await embedder.embed([text]))[0];
    const searcher = new MemorySearcher(db, { fusion: "hybrid", embedQuery });
    // No shared word with the right answer apart from "anna": lexical alone finds it too,
    // but similarity must rank it first by meaning (shared word vectors).
    const similar = await searcher.search(
      search("where does anna live", { strategy: "similarity", topK: 1 }),
    );
    assert.equal(
      (similar.results[0].document as { text: string }).text,
      "my sister anna lives in berlin",
    );
    assert.equal(similar.strategyUsed, "similarity");
    assert.ok(similar.results[0].score! > 0);
    const hybrid = await searcher.search(search("rex the dog", { topK: 2 }));
    assert.equal(hybrid.strategyUsed, "hybrid");
    assert.equal((hybrid.results[0].document as { text: string }).text, "my dog is rex");
    await indexer.close();
    await embedder.close();
    db.close();

    // Another model: the vectors are dropped and rebuilt with the new size.
    db = MemoryDatabase.open({ path, vectors: true });
    assert.equal(db.vectorDimensions, 16);
    embedder = await OnnxEmbedder.load({ modelDir: modelB });
    indexer = new EmbeddingIndexer(db, embedder, { batchSize: 2, logger });
    indexer.start();
    await indexer.idle();
    assert.equal(db.vectorDimensions, 8);
    assert.equal(db.unembeddedCount(), 0);
    assert.equal(indexer.embedded, 3);
    await indexer.close();
  } finally {
    await embedder.close();
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: WAL journal and one row per memory (no whole-file rewrite)", () => {
  const dir = Deno.makeTempDirSync({ prefix: "tars-mem-" });
  try {
    const db = MemoryDatabase.open({ path: `${dir}/m.sqlite`, vectors: false });
    db.add("fact", "the sky is blue", { role: "fact" });
    const raw = new DatabaseSync(`${dir}/m.sqlite`);
    assert.equal(
      (raw.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
      "wal",
    );
    assert.equal((raw.prepare("SELECT count(*) AS n FROM memories").get() as { n: number }).n, 1);
    raw.close();
    db.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
