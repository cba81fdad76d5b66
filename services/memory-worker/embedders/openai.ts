/**
 * Embeddings from any OpenAI-compatible `POST /embeddings` endpoint (OpenAI, llama.cpp
 * server, Ollama, vLLM, LocalAI, ...), requested as float arrays and normalized.
 *
 * @module
 */
import { BodyTooLargeError, readBodyLimited } from "../../../core/mod.ts";
import { type Embedder, normalize } from "./embedder.ts";

/**
 * Largest answer read per text embedded, bytes: a 3072-dimension vector as JSON floats is
 * about 70 KiB. A server that sends more is refused, not buffered.
 */
export const EMBEDDING_RESPONSE_BYTES_PER_TEXT = 256 * 1024;

/** Options of {@linkcode OpenAiEmbedder}. */
export interface OpenAiEmbedderOptions {
  /** Base URL including the version, e.g. `https://api.openai.com/v1`. */
  readonly baseUrl: string;
  /** Model name, e.g. `text-embedding-3-small`. */
  readonly model: string;
  /** API key (sent as a bearer token), if the endpoint needs one. */
  readonly apiKey?: string;
  /** Ask the endpoint for this many dimensions (text-embedding-3 models). */
  readonly dimensions?: number;
  /** Give up on one request after this many ms (default 15 000). */
  readonly timeoutMs?: number;
}

/** An {@linkcode Embedder} over HTTP. */
export class OpenAiEmbedder implements Embedder {
  readonly #options: OpenAiEmbedderOptions;
  readonly #url: string;

  /** Creates the embedder (no request is made until `embed`). */
  constructor(options: OpenAiEmbedderOptions) {
    this.#options = options;
    this.#url = `${options.baseUrl.replace(/\/+$/, "")}/embeddings`;
  }

  /** `openai:<model>[:<dimensions>]`. */
  get id(): string {
    const dims = this.#options.dimensions ? `:${this.#options.dimensions}` : "";
    return `openai:${this.#options.model}${dims}`;
  }

  /** Embeds `texts` in one request. */
  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const timeout = AbortSignal.timeout(this.#options.timeoutMs ?? 15_000);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.#options.apiKey) headers.authorization = `Bearer ${this.#options.apiKey}`;
    let response: Response;
    try {
      response = await fetch(this.#url, {
        method: "POST",
        headers,
        body: JSON.stringify({
          model: this.#options.model,
          input: texts,
          encoding_format: "float",
          ...(this.#options.dimensions ? { dimensions: this.#options.dimensions } : {}),
        }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      throw new Error(`Embedding request to ${this.#url} failed: ${(error as Error).message}`);
    }
    const limit = 64 * 1024 + texts.length * EMBEDDING_RESPONSE_BYTES_PER_TEXT;
    let text: string;
    try {
      text = new TextDecoder().decode(await readBodyLimited(response, limit));
    } catch (error) {
      if (!response.ok) text = "";
      else if (error instanceof BodyTooLargeError) {
        throw new Error(
          `Embedding endpoint ${this.#url} answered more than ${limit} bytes for ` +
            `${texts.length} texts; check EMBED_BASE_URL`,
        );
      } else {
        throw new Error(
          `Embedding request to ${this.#url} failed: ${(error as Error).message}`,
        );
      }
    }
    if (!response.ok) {
      const body = text.slice(0, 300);
      throw new Error(
        `Embedding request to ${this.#url} failed with HTTP ${response.status}: ${body}` +
          (response.status === 401 ? " (check EMBED_API_KEY / OPENAI_API_KEY)" : ""),
      );
    }
    let payload: { data?: Array<{ embedding?: unknown; index?: number }> };
    try {
      payload = JSON.parse(text);
    } catch {
      throw new Error(`Embedding endpoint ${this.#url} did not answer JSON: ${text.slice(0, 200)}`);
    }
    const data = Array.isArray(payload?.data) ? payload.data : [];
    if (data.length !== texts.length) {
      throw new Error(
        `Embedding endpoint ${this.#url} returned ${data.length} vectors for ${texts.length} texts`,
      );
    }
    const ordered = [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return ordered.map((item, i) => {
      const values = item.embedding;
      if (!Array.isArray(values) || values.length === 0 || !values.every(Number.isFinite)) {
        throw new Error(
          `Embedding endpoint ${this.#url} returned no float array for input ${i} ` +
            "(it must support encoding_format: float)",
        );
      }
      return normalize(Float32Array.from(values as number[]));
    });
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
