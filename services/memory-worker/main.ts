/**
 * memory-worker: the robot's long-term memory and its character. Stores transcripts,
 * spoken replies and facts in one SQLite file (FTS5 lexical search, sqlite-vec vectors when
 * an embedder is configured), answers memory/query with hybrid, similarity or recent
 * retrieval, and serves the character from its TOML profile.
 *
 * @module
 */
import { runService } from "../../core/mod.ts";
import { loadConfiguredCharacter } from "./character.ts";
import { type MemoryConfig, readMemoryConfig } from "./config.ts";
import { createEmbedder, type Embedder } from "./embedders/mod.ts";
import { startMemoryWorker } from "./service.ts";

/**
 * Checks what memory-worker's settings name before it connects: the character file (one that
 * exists but cannot be used is a `ConfigError` on CHARACTER_DIR; a missing one falls back as
 * the service does) and the embedder (a bad EMBED_MODEL is a `ConfigError`). Returns the
 * loaded embedder (`null` for lexical search only).
 */
export async function prepareMemoryWorker(config: MemoryConfig): Promise<Embedder | null> {
  // The service reads it again (and warns about a missing one) when it starts.
  await loadConfiguredCharacter(config, () => {});
  return await createEmbedder(config.embedder);
}

if (import.meta.main) {
  await runService("memory-worker", {
    readConfig: readMemoryConfig,
    prepare: prepareMemoryWorker,
    release: (embedder) => embedder?.close(),
    main: async ({ client, logger, config, prepared: embedder }) => {
      logger.info("Embedder: {embedder}", { embedder: embedder?.id ?? "none (lexical search)" });
      return await startMemoryWorker({ client, logger }, { config, embedder });
    },
  });
}
