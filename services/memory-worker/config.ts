/**
 * memory-worker configuration from the environment, with py-tars' names and defaults
 * (§4.6) where they exist, plus the embedder backends of TARS-Deno. Not py-tars' defaults:
 * `MEMORY_FILE` (another format), `CHARACTER_DIR` (bundled) and no embedding model
 * (`EMBED_BACKEND=none`); docs/migration.md says why.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { ConfigError, type ConfigIssue, envVar, readEnv } from "../../core/mod.ts";

/** The embedder backends (`EMBED_BACKEND`). */
export const EMBED_BACKENDS = ["none", "openai", "onnx"] as const;
/** One of {@linkcode EMBED_BACKENDS}. */
export type EmbedBackend = typeof EMBED_BACKENDS[number];

/** The character shipped in this folder (`characters/TARS/character.toml`). */
export const BUNDLED_CHARACTER_DIR: string = fileURLToPath(
  new URL("./characters", import.meta.url),
);

/** The variables, their defaults and ranges. */
export const MEMORY_ENV = {
  MEMORY_DIR: envVar.string("/data"),
  MEMORY_FILE: envVar.string("memory.sqlite"),
  RAG_STRATEGY: envVar.choice("hybrid", ["hybrid", "naive"]),
  MEMORY_REPLY_IDLE_MS: envVar.int(3000, { min: 50, max: 600_000 }),
  MEMORY_BUSY_TIMEOUT_MS: envVar.int(5000, { min: 0, max: 600_000 }),
  MEMORY_RETRY_MS: envVar.int(2000, { min: 10, max: 600_000 }),
  MEMORY_MAX_BACKLOG: envVar.int(10_000, { min: 1, max: 1_000_000 }),
  EMBED_BACKEND: envVar.choice("none", EMBED_BACKENDS),
  EMBED_MODEL: envVar.optionalString(),
  EMBED_BASE_URL: envVar.string("https://api.openai.com/v1"),
  EMBED_API_KEY: envVar.optionalString(),
  EMBED_DIMENSIONS: envVar.optionalString(),
  EMBED_MAX_LENGTH: envVar.int(256, { min: 8, max: 8192 }),
  EMBED_BATCH_SIZE: envVar.int(32, { min: 1, max: 2048 }),
  EMBED_THREADS: envVar.int(1, { min: 1, max: 16 }),
  EMBED_TIMEOUT_MS: envVar.int(15_000, { min: 100, max: 600_000 }),
  EMBED_QUERY_TIMEOUT_MS: envVar.int(2000, { min: 50, max: 600_000 }),
  CHARACTER_NAME: envVar.string("TARS"),
  CHARACTER_DIR: envVar.string(BUNDLED_CHARACTER_DIR),
};

/** Older or shared names read when a variable is unset. */
export const MEMORY_ENV_ALIASES = {
  EMBED_BASE_URL: ["OPENAI_BASE_URL"],
  EMBED_API_KEY: ["OPENAI_API_KEY"],
} as const;

/** The embedder settings. */
export type EmbedderConfig =
  | { readonly backend: "none" }
  | {
    readonly backend: "openai";
    readonly baseUrl: string;
    readonly model: string;
    readonly apiKey?: string;
    readonly dimensions?: number;
    readonly timeoutMs: number;
  }
  | {
    readonly backend: "onnx";
    readonly modelDir: string;
    readonly maxLength: number;
    readonly threads: number;
  };

/** The parsed configuration. */
export interface MemoryConfig {
  /** The database file (`MEMORY_DIR/MEMORY_FILE`), or `:memory:`. */
  readonly databasePath: string;
  /** The folder of the database (created when missing); null for `:memory:`. */
  readonly directory: string | null;
  /** `naive` ranks `hybrid` queries by vectors only (RAG_STRATEGY). */
  readonly fusion: "hybrid" | "naive";
  /** A reply is stored after this long without a new sentence, ms. */
  readonly replyIdleMs: number;
  /** How long a write waits for a locked database, ms. */
  readonly busyTimeoutMs: number;
  /** Retry delay of a failed write, ms. */
  readonly retryMs: number;
  /** Memories kept for retry while storage fails; older ones are dropped beyond this. */
  readonly maxBacklog: number;
  /** The embedder. */
  readonly embedder: EmbedderConfig;
  /** Memories per embedding call. */
  readonly embedBatchSize: number;
  /** How long a query waits for its own embedding before going lexical, ms. */
  readonly queryEmbedTimeoutMs: number;
  /** The character's file: CHARACTER_DIR/CHARACTER_NAME/character.toml. */
  readonly characterName: string;
  /** The characters folder. */
  readonly characterDir: string;
}

/**
 * Reads the configuration from `env`.
 *
 * @throws ConfigError naming every bad variable, its value and what is allowed.
 */
export function readMemoryConfig(env: Readonly<Record<string, string | undefined>>): MemoryConfig {
  const { values, issues } = readEnv(MEMORY_ENV, env, {
    context: "memory-worker configuration",
    aliases: MEMORY_ENV_ALIASES,
    redact: (variable, value) =>
      variable === "EMBED_API_KEY" || variable === "OPENAI_API_KEY" ? "***" : value,
  });
  const problems: ConfigIssue[] = [...issues];
  const file = values.MEMORY_FILE;
  if (file !== ":memory:" && (file.includes("/") || file === "." || file === "..")) {
    problems.push({
      variable: "MEMORY_FILE",
      value: file,
      expected: "a file name inside MEMORY_DIR (no /), or :memory: for a database in RAM",
    });
  }
  let dimensions: number | undefined;
  if (values.EMBED_DIMENSIONS !== undefined) {
    dimensions = Number(values.EMBED_DIMENSIONS);
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 16_384) {
      problems.push({
        variable: "EMBED_DIMENSIONS",
        value: values.EMBED_DIMENSIONS,
        expected: "an integer 1..16384 (or unset for the model's own size)",
      });
    }
  }
  let embedder: EmbedderConfig = { backend: "none" };
  if (values.EMBED_BACKEND === "openai") {
    embedder = {
      backend: "openai",
      baseUrl: values.EMBED_BASE_URL.replace(/\/+$/, ""),
      model: values.EMBED_MODEL ?? "text-embedding-3-small",
      apiKey: values.EMBED_API_KEY,
      dimensions,
      timeoutMs: values.EMBED_TIMEOUT_MS,
    };
    if (!/^https?:\/\//.test(values.EMBED_BASE_URL)) {
      problems.push({
        variable: "EMBED_BASE_URL",
        value: values.EMBED_BASE_URL,
        expected: "an http(s) URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1",
      });
    }
  } else if (values.EMBED_BACKEND === "onnx") {
    if (!values.EMBED_MODEL) {
      problems.push({
        variable: "EMBED_MODEL",
        value: "",
        expected: "with EMBED_BACKEND=onnx, the directory of a sentence-transformer ONNX model " +
          "(model.onnx + tokenizer.json or vocab.txt), e.g. /models/all-MiniLM-L6-v2",
      });
    }
    embedder = {
      backend: "onnx",
      modelDir: values.EMBED_MODEL ?? "",
      maxLength: values.EMBED_MAX_LENGTH,
      threads: values.EMBED_THREADS,
    };
  }
  if (!/^[\w.-]+$/.test(values.CHARACTER_NAME)) {
    problems.push({
      variable: "CHARACTER_NAME",
      value: values.CHARACTER_NAME,
      expected: "a folder name under CHARACTER_DIR (letters, digits, . _ -)",
    });
  }
  if (problems.length > 0) throw new ConfigError(problems, "memory-worker configuration");
  const inMemory = file === ":memory:";
  return {
    databasePath: inMemory ? ":memory:" : `${values.MEMORY_DIR.replace(/\/+$/, "")}/${file}`,
    directory: inMemory ? null : values.MEMORY_DIR,
    fusion: values.RAG_STRATEGY,
    replyIdleMs: values.MEMORY_REPLY_IDLE_MS,
    busyTimeoutMs: values.MEMORY_BUSY_TIMEOUT_MS,
    retryMs: values.MEMORY_RETRY_MS,
    maxBacklog: values.MEMORY_MAX_BACKLOG,
    embedder,
    embedBatchSize: values.EMBED_BATCH_SIZE,
    queryEmbedTimeoutMs: values.EMBED_QUERY_TIMEOUT_MS,
    characterName: values.CHARACTER_NAME,
    characterDir: values.CHARACTER_DIR,
  };
}
