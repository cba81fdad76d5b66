/**
 * The memory database: one SQLite file (node:sqlite, WAL) holding every memory, an FTS5
 * index for lexical search (bm25), a sqlite-vec `vec0` table for vector search when an
 * embedder is configured, the embedder's identity and the character's trait changes.
 * Each memory is one row written as it arrives; nothing rewrites the whole file.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { getLoadablePath } from "sqlite-vec";

/** Who a memory came from. */
export type MemoryKind = "user" | "assistant" | "fact";

/** A JSON object stored with a memory and returned as the result's `document`. */
export type MemoryDocument = Record<string, unknown>;

/** One stored memory. */
export interface StoredMemory {
  /** Row id, increasing in arrival order. */
  readonly id: number;
  /** Arrival time, epoch milliseconds. */
  readonly createdAt: number;
  /** Who it came from. */
  readonly kind: MemoryKind;
  /** The searchable text. */
  readonly text: string;
  /** The document returned to queries (includes `text`). */
  readonly document: MemoryDocument;
}

/** A ranked hit of a search: the memory id and the backend's raw score. */
export interface RankedId {
  /** Memory id. */
  readonly id: number;
  /** bm25 (lower is better) or cosine distance (lower is better). */
  readonly score: number;
}

/** Options of {@linkcode MemoryDatabase.open}. */
export interface MemoryDatabaseOptions {
  /** Database file path, or `:memory:`. */
  readonly path: string;
  /** Load sqlite-vec (needed for vector search; requires `--allow-ffi`). */
  readonly vectors: boolean;
  /** How long a write waits for another connection's lock, ms (default 5 000). */
  readonly busyTimeoutMs?: number;
  /** SQLite page cache, MiB (default 64). */
  readonly cacheMiB?: number;
  /** Memory-mapped I/O window, MiB (default 256; 0 = off). */
  readonly mmapMiB?: number;
}

interface Row {
  id: number;
  created_at: number;
  kind: string;
  text: string;
  document: string;
}

// Words that match nearly every memory: they make a lexical query slow and say nothing.
const STOP_WORDS = new Set(
  ("a an and are as at be but by did do does for from had has have he her him his how i if in " +
    "is it its me my no not of on or our she so than that the their them then there they this " +
    "to was we were what when where which who why will with you your")
    .split(" "),
);

/**
 * Search terms of a lexical query at most: an OR of more terms costs more (each one a posting
 * list to merge) and no longer ranks better; a question has a handful of meaningful words.
 */
export const MAX_QUERY_TERMS = 32;

/** Characters of one search term at most; a longer "word" (a hash, base64) is left out. */
export const MAX_TERM_LENGTH = 64;

/** Characters of query text read for its terms at most (the contract allows 10 000). */
export const MAX_QUERY_CHARS = 10_000;

/**
 * An FTS5 query for `text`: its first {@linkcode MAX_QUERY_TERMS} distinct words (letters
 * and digits, at most {@linkcode MAX_TERM_LENGTH} characters), quoted, joined by OR, without
 * stop words unless nothing else is left. `null` when the text has no word at all.
 */
export function lexicalQuery(text: string): string | null {
  const words = new Set<string>();
  const meaningful = new Set<string>();
  for (const [word] of text.slice(0, MAX_QUERY_CHARS).toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    if (word.length > MAX_TERM_LENGTH) continue;
    if (words.size < MAX_QUERY_TERMS) words.add(word);
    if (!STOP_WORDS.has(word)) meaningful.add(word);
    if (meaningful.size >= MAX_QUERY_TERMS) break;
  }
  if (words.size === 0) return null;
  return [...(meaningful.size > 0 ? meaningful : words)].map((word) => `"${word}"`).join(" OR ");
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS memories (
  id INTEGER PRIMARY KEY,
  created_at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  text TEXT NOT NULL,
  document TEXT NOT NULL,
  embedded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS memories_unembedded ON memories(id) WHERE embedded = 0;
CREATE INDEX IF NOT EXISTS memories_time ON memories(created_at, id);
CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(
  text, content='memories', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS memories_fts_insert AFTER INSERT ON memories BEGIN
  INSERT INTO memories_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS memories_fts_delete AFTER DELETE ON memories BEGIN
  INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS character_traits (
  character TEXT NOT NULL,
  trait TEXT NOT NULL,
  value INTEGER NOT NULL,
  PRIMARY KEY (character, trait)
);
`;

/** The memory database. All methods are synchronous (node:sqlite) and throw on storage errors. */
export class MemoryDatabase {
  readonly #db: DatabaseSync;
  readonly #vectors: boolean;
  readonly #statements = new Map<string, StatementSync>();
  #vectorDimensions: number | null = null;

  private constructor(db: DatabaseSync, vectors: boolean) {
    this.#db = db;
    this.#vectors = vectors;
  }

  /**
   * Opens (creating when missing) the database at `options.path`.
   *
   * @throws Error when the file cannot be opened or sqlite-vec cannot be loaded.
   */
  static open(options: MemoryDatabaseOptions): MemoryDatabase {
    const db = new DatabaseSync(options.path, { allowExtension: options.vectors });
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      // Vector search scans every vector: keep them in memory rather than re-reading pages.
      db.exec(`PRAGMA cache_size = -${Math.max(2, options.cacheMiB ?? 64) * 1024}`);
      db.exec(`PRAGMA mmap_size = ${(options.mmapMiB ?? 256) * 1024 * 1024}`);
      if (options.vectors) {
        try {
          db.loadExtension(getLoadablePath());
        } catch (error) {
          throw new Error(
            `Could not load the sqlite-vec extension (${(error as Error).message}); vector ` +
              "search needs the npm package sqlite-vec for this platform and --allow-ffi",
          );
        }
      }
      db.exec(SCHEMA);
      const store = new MemoryDatabase(db, options.vectors);
      const dims = store.getSetting("vector_dimensions");
      if (options.vectors && dims !== null && store.#hasVectorTable()) {
        store.#vectorDimensions = Number(dims);
      }
      return store;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Adds a memory; returns it with its id. */
  add(
    kind: MemoryKind,
    text: string,
    document: MemoryDocument,
    createdAt = Date.now(),
  ): StoredMemory {
    const doc = { ...document, text };
    const result = this.#prepare(
      "INSERT INTO memories (created_at, kind, text, document) VALUES (?, ?, ?, ?)",
    ).run(createdAt, kind, text, JSON.stringify(doc));
    return { id: Number(result.lastInsertRowid), createdAt, kind, text, document: doc };
  }

  /** Number of memories. */
  count(): number {
    const row = this.#prepare("SELECT count(*) AS n FROM memories").get() as { n: number };
    return row.n;
  }

  /** The memories with these ids, keyed by id (missing ids are absent). */
  getMany(ids: readonly number[]): Map<number, StoredMemory> {
    const found = new Map<number, StoredMemory>();
    const statement = this.#prepare(
      "SELECT id, created_at, kind, text, document FROM memories WHERE id = ?",
    );
    for (const id of ids) {
      const row = statement.get(id) as Row | undefined;
      if (row) found.set(row.id, toMemory(row));
    }
    return found;
  }

  /** The latest arrival time stored, epoch ms (0 when empty). */
  latestTime(): number {
    const row = this.#prepare("SELECT max(created_at) AS t FROM memories").get() as {
      t: number | null;
    };
    return row.t ?? 0;
  }

  /** The newest `limit` memories (by arrival time), newest first. */
  newest(limit: number): StoredMemory[] {
    const rows = this.#prepare(
      "SELECT id, created_at, kind, text, document FROM memories " +
        "ORDER BY created_at DESC, id DESC LIMIT ?",
    ).all(limit) as unknown as Row[];
    return rows.map(toMemory);
  }

  /**
   * Up to `count` memories that arrived just before (`before`) or after `memory`, nearest
   * first. Order is arrival time (a reply counts from its first sentence), then id.
   */
  neighbours(memory: StoredMemory, direction: "before" | "after", count: number): StoredMemory[] {
    if (count <= 0) return [];
    const sql = direction === "before"
      ? "SELECT id, created_at, kind, text, document FROM memories " +
        "WHERE (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?"
      : "SELECT id, created_at, kind, text, document FROM memories " +
        "WHERE (created_at, id) > (?, ?) ORDER BY created_at ASC, id ASC LIMIT ?";
    return (this.#prepare(sql).all(memory.createdAt, memory.id, count) as unknown as Row[])
      .map(toMemory);
  }

  /** Lexical search (FTS5 bm25): up to `limit` ids, best first. */
  searchLexical(text: string, limit: number): RankedId[] {
    const query = lexicalQuery(text);
    if (query === null) return [];
    const rows = this.#prepare(
      "SELECT rowid AS id, bm25(memories_fts) AS score FROM memories_fts " +
        "WHERE memories_fts MATCH ? ORDER BY score LIMIT ?",
    ).all(query, limit) as unknown as RankedId[];
    return rows.map((row) => ({ id: row.id, score: row.score }));
  }

  // ------------------------------------------------------------------ vectors

  /** Whether sqlite-vec is loaded. */
  get vectorsEnabled(): boolean {
    return this.#vectors;
  }

  /** Dimensions of the stored vectors, `null` before the first one. */
  get vectorDimensions(): number | null {
    return this.#vectorDimensions;
  }

  #hasVectorTable(): boolean {
    return this.#prepare(
      "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'memory_vectors'",
    ).get() !== undefined;
  }

  /**
   * Drops every vector and marks every memory as not embedded (the embedder changed);
   * records `embedderId` as the one the vectors will come from.
   */
  resetVectors(embedderId: string): void {
    this.#requireVectors();
    this.#db.exec("BEGIN");
    try {
      this.#db.exec("DROP TABLE IF EXISTS memory_vectors");
      this.#db.exec("UPDATE memories SET embedded = 0");
      this.#prepare("DELETE FROM settings WHERE key = 'vector_dimensions'").run();
      this.setSetting("embedder", embedderId);
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
    this.#vectorDimensions = null;
  }

  /** Up to `limit` memories that have no vector yet, oldest first. */
  unembedded(limit: number): Array<{ id: number; text: string }> {
    return this.#prepare(
      "SELECT id, text FROM memories WHERE embedded = 0 ORDER BY id LIMIT ?",
    ).all(limit) as unknown as Array<{ id: number; text: string }>;
  }

  /** Number of memories without a vector. */
  unembeddedCount(): number {
    return (this.#prepare("SELECT count(*) AS n FROM memories WHERE embedded = 0").get() as {
      n: number;
    }).n;
  }

  /**
   * Stores vectors (one per id) in one transaction; the first one fixes the dimensions.
   *
   * @throws Error when a vector's length differs from the stored dimensions.
   */
  putVectors(entries: ReadonlyArray<{ id: number; vector: Float32Array }>): void {
    this.#requireVectors();
    if (entries.length === 0) return;
    const dims = entries[0].vector.length;
    if (this.#vectorDimensions === null) {
      this.#db.exec(
        `CREATE VIRTUAL TABLE IF NOT EXISTS memory_vectors USING vec0(` +
          `embedding float[${dims}] distance_metric=cosine)`,
      );
      this.setSetting("vector_dimensions", String(dims));
      this.#vectorDimensions = dims;
    }
    const insert = this.#prepare(
      "INSERT OR REPLACE INTO memory_vectors (rowid, embedding) VALUES (?, ?)",
    );
    const mark = this.#prepare("UPDATE memories SET embedded = 1 WHERE id = ?");
    this.#db.exec("BEGIN");
    try {
      for (const { id, vector } of entries) {
        if (vector.length !== this.#vectorDimensions) {
          throw new Error(
            `The embedder returned ${vector.length} dimensions, the stored vectors have ` +
              `${this.#vectorDimensions}`,
          );
        }
        insert.run(BigInt(id), new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
        mark.run(id);
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Vector search (cosine distance): up to `limit` ids, nearest first; [] without vectors. */
  searchVector(vector: Float32Array, limit: number): RankedId[] {
    if (!this.#vectors || this.#vectorDimensions === null) return [];
    if (vector.length !== this.#vectorDimensions) return [];
    const rows = this.#prepare(
      "SELECT rowid AS id, distance AS score FROM memory_vectors " +
        "WHERE embedding MATCH ? AND k = ? ORDER BY distance",
    ).all(
      new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength),
      Math.min(4096, Math.max(1, limit)),
    ) as unknown as RankedId[];
    return rows.map((row) => ({ id: Number(row.id), score: row.score }));
  }

  #requireVectors(): void {
    if (!this.#vectors) throw new Error("The store was opened without vector support");
  }

  // ------------------------------------------------------------------ settings, traits

  /** A stored setting, `null` when unset. */
  getSetting(key: string): string | null {
    const row = this.#prepare("SELECT value FROM settings WHERE key = ?").get(key) as
      | { value: string }
      | undefined;
    return row?.value ?? null;
  }

  /** Stores a setting. */
  setSetting(key: string, value: string): void {
    this.#prepare("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)").run(key, value);
  }

  /** The trait values changed by character/update for `character`. */
  traitOverrides(character: string): Record<string, number> {
    const rows = this.#prepare(
      "SELECT trait, value FROM character_traits WHERE character = ?",
    ).all(character) as unknown as Array<{ trait: string; value: number }>;
    return Object.fromEntries(rows.map((row) => [row.trait, row.value]));
  }

  /** Persists one trait change. */
  setTraitOverride(character: string, trait: string, value: number): void {
    this.#prepare(
      "INSERT OR REPLACE INTO character_traits (character, trait, value) VALUES (?, ?, ?)",
    ).run(character, trait, value);
  }

  /** Forgets every trait change of `character`. */
  clearTraitOverrides(character: string): void {
    this.#prepare("DELETE FROM character_traits WHERE character = ?").run(character);
  }

  /** Closes the database (checkpointing the WAL). */
  close(): void {
    if (!this.#db.isOpen) return;
    this.#statements.clear();
    this.#db.close();
  }
}

function toMemory(row: Row): StoredMemory {
  let document: MemoryDocument;
  try {
    const parsed = JSON.parse(row.document);
    document = parsed && typeof parsed === "object" && !Array.isArray(parsed)
      ? parsed
      : { text: row.text };
  } catch {
    document = { text: row.text };
  }
  return {
    id: row.id,
    createdAt: row.created_at,
    kind: row.kind as MemoryKind,
    text: row.text,
    document,
  };
}
