/**
 * Embedders (EMBED_BACKEND), one {@linkcode Embedder} interface:
 * - {@linkcode OpenAiEmbedder}: any OpenAI-compatible `/embeddings` endpoint;
 * - {@linkcode OnnxEmbedder}: a local sentence-transformer model directory (EMBED_MODEL).
 *
 * {@linkcode createEmbedder} builds the one the configuration names.
 *
 * @module
 */
import { ConfigError } from "../../../core/mod.ts";
import type { EmbedderConfig } from "../config.ts";
import type { Embedder } from "./embedder.ts";
import { OnnxEmbedder } from "./onnx.ts";
import { OpenAiEmbedder } from "./openai.ts";

export { type Embedder, normalize } from "./embedder.ts";
export { OnnxEmbedder, type OnnxEmbedderOptions } from "./onnx.ts";
export { OpenAiEmbedder, type OpenAiEmbedderOptions } from "./openai.ts";

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
