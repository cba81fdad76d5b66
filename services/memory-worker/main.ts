/**
 * memory-worker: the robot's long-term memory and its character. Stores transcripts,
 * spoken replies and facts in one SQLite file (FTS5 lexical search, sqlite-vec vectors when
 * an embedder is configured), answers memory/query with hybrid, similarity or recent
 * retrieval, and serves the character from its TOML profile.
 *
 * @module
 */
import { type PrepareContext, runService } from "../../core/mod.ts";
import { type CharacterProfile, loadConfiguredCharacter } from "./character.ts";
import { type MemoryConfig, readMemoryConfig } from "./config.ts";
import { createEmbedder, type Embedder } from "./embedders/mod.ts";
import { startMemoryWorker } from "./service.ts";

/** What memory-worker loads before it connects. */
export interface MemoryResources {
  /** The character of CHARACTER_DIR/CHARACTER_NAME (or its fallback). */
  readonly character: CharacterProfile;
  /** The embedder of EMBED_MODEL; `null` for lexical search only. */
  readonly embedder: Embedder | null;
}

/**
 * Loads what memory-worker's settings name before it connects: the character file (one that
 * exists but cannot be used is a `ConfigError` on CHARACTER_DIR; a missing one falls back,
 * with a warning) and the embedder (a bad EMBED_MODEL is a `ConfigError`).
 */
export async function prepareMemoryWorker(
  config: MemoryConfig,
  { logger }: Pick<PrepareContext, "logger">,
): Promise<MemoryResources> {
  const character = await loadConfiguredCharacter(
    config,
    (warning) => logger.warn("{warning}", { warning }),
  );
  return { character, embedder: await createEmbedder(config.embedder) };
}

if (import.meta.main) {
  await runService("memory-worker", {
    readConfig: readMemoryConfig,
    prepare: prepareMemoryWorker,
    release: ({ embedder }) => embedder?.close(),
    main: async ({ client, logger, config, prepared: { character, embedder } }) => {
      logger.info("Embedder: {embedder}", { embedder: embedder?.id ?? "none (lexical search)" });
      return await startMemoryWorker({ client, logger }, { config, embedder, character });
    },
  });
}
