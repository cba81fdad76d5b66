/**
 * memory-worker: the robot's long-term memory and its character. Stores transcripts,
 * spoken replies and facts in one SQLite file (FTS5 lexical search, sqlite-vec vectors when
 * an embedder is configured), answers memory/query with hybrid, similarity or recent
 * retrieval, and serves the character from its TOML profile.
 *
 * @module
 */
import { runService } from "../../core/mod.ts";
import { readMemoryConfig } from "./config.ts";
import { createEmbedder } from "./embedders/mod.ts";
import { startMemoryWorker } from "./service.ts";

if (import.meta.main) {
  await runService("memory-worker", {
    readConfig: readMemoryConfig,
    main: async ({ client, logger, config }) => {
      const embedder = await createEmbedder(config.embedder);
      logger.info("Embedder: {embedder}", { embedder: embedder?.id ?? "none (lexical search)" });
      return await startMemoryWorker({ client, logger }, { config, embedder });
    },
  });
}
