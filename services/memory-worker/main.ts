/**
 * memory-worker: the robot's long-term memory and its character. Stores transcripts,
 * spoken replies and facts in one SQLite file (FTS5 lexical search, sqlite-vec vectors when
 * an embedder is configured), answers memory/query with hybrid, similarity or recent
 * retrieval, and serves the character from its TOML profile.
 *
 * @module
 */
import { ConfigError, runService } from "../../core/mod.ts";
import type { EmbedderConfig } from "./config.ts";
import { readMemoryConfig } from "./config.ts";
import type { Embedder } from "./embedders/embedder.ts";
import { OnnxEmbedder } from "./embedders/onnx.ts";
import { OpenAiEmbedder } from "./embedders/openai.ts";
import { startMemoryWorker } from "./service.ts";

/**
 * Creates the embedder `config` names (`null` for `none`).
 *
 * @throws ConfigError when an onnx model directory cannot be loaded (exit 78).
 */
export async function createEmbedder(config: EmbedderConfig): Promise<Embedder | null> {
  switch (config.backend) {
    case "none":
      return null;
    case "openai":
      return new OpenAiEmbedder(config);
    case "onnx":
      try {
        return await OnnxEmbedder.load(config);
      } catch (error) {
        throw new ConfigError([{
          variable: "EMBED_MODEL",
          value: config.modelDir,
          expected: `a loadable sentence-transformer ONNX model directory (${
            (error as Error).message
          })`,
        }], "memory-worker configuration");
      }
  }
}

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
