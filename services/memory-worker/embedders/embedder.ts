/**
 * The embedder interface: turns texts into unit-length float32 vectors for vector search.
 * Implementations: {@linkcode OpenAiEmbedder} (any OpenAI-compatible `/embeddings`
 * endpoint) and {@linkcode OnnxEmbedder} (a local sentence-transformer model directory).
 *
 * @module
 */

/** Turns texts into vectors. */
export interface Embedder {
  /**
   * Identifies the model (backend, model, dimensions where set): vectors of embedders with
   * different ids are not comparable, so a change re-embeds every memory.
   */
  readonly id: string;
  /** One unit-length vector per text, in order; all of the same length. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
  /** Releases the model or connection. */
  close(): Promise<void>;
}

/** Scales `vector` to unit length in place (a zero vector stays zero); returns it. */
export function normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i] * vector[i];
  const norm = Math.sqrt(sum);
  if (norm > 0) { for (let i = 0; i < vector.length; i++) vector[i] /= norm; }
  return vector;
}
