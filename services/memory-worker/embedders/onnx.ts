/**
 * Embeddings from a local sentence-transformer model directory (e.g. all-MiniLM-L6-v2
 * exported to ONNX) on onnxruntime-node: WordPiece tokens in, token embeddings out, mean
 * pooled over the attention mask and normalized (what sentence-transformers does). A model
 * with a `sentence_embedding` output is used as is. Nothing is downloaded.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { type Embedder, normalize } from "./embedder.ts";
import { WordPieceTokenizer } from "./wordpiece.ts";

/** Options of {@linkcode OnnxEmbedder.load}. */
export interface OnnxEmbedderOptions {
  /** The model directory: `model.onnx` (or `onnx/model.onnx`) and `tokenizer.json`/`vocab.txt`. */
  readonly modelDir: string;
  /** Longest token sequence, including `[CLS]` and `[SEP]` (default 256). */
  readonly maxLength?: number;
  /** onnxruntime intra-op threads (default 1). */
  readonly threads?: number;
}

/** An {@linkcode Embedder} running a local ONNX model. */
export class OnnxEmbedder implements Embedder {
  readonly #session: ort.InferenceSession;
  readonly #tokenizer: WordPieceTokenizer;
  readonly #maxLength: number;
  readonly #output: string;
  readonly #modelPath: string;

  private constructor(
    session: ort.InferenceSession,
    tokenizer: WordPieceTokenizer,
    maxLength: number,
    modelPath: string,
  ) {
    this.#session = session;
    this.#tokenizer = tokenizer;
    this.#maxLength = maxLength;
    this.#modelPath = modelPath;
    const outputs = session.outputNames;
    this.#output = ["sentence_embedding", "last_hidden_state", "token_embeddings"]
      .find((name) => outputs.includes(name)) ?? outputs[0];
  }

  /**
   * Loads the model and tokenizer of `options.modelDir`.
   *
   * @throws Error naming the missing file or the model's unsupported inputs.
   */
  static async load(options: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
    const dir = options.modelDir.replace(/\/+$/, "");
    const modelPath = [`${dir}/model.onnx`, `${dir}/onnx/model.onnx`].find(isFile);
    if (!modelPath) {
      throw new Error(`No ONNX model in ${dir}: expected model.onnx or onnx/model.onnx`);
    }
    const tokenizer = await WordPieceTokenizer.fromDirectory(dir);
    const session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    });
    if (!session.inputNames.includes("input_ids")) {
      await session.release();
      throw new Error(
        `${modelPath} has inputs ${session.inputNames.join(", ")}; a sentence-transformer ` +
          "model takes input_ids (and attention_mask, token_type_ids)",
      );
    }
    return new OnnxEmbedder(session, tokenizer, options.maxLength ?? 256, modelPath);
  }

  /** `onnx:<model path>:<max length>`. */
  get id(): string {
    return `onnx:${this.#modelPath}:${this.#maxLength}`;
  }

  /** Embeds `texts` as one padded batch. */
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const encodings = texts.map((text) => this.#tokenizer.encode(text, this.#maxLength).ids);
    const width = Math.max(...encodings.map((ids) => ids.length));
    const size = texts.length * width;
    const ids = new BigInt64Array(size).fill(BigInt(this.#tokenizer.padId));
    const mask = new BigInt64Array(size);
    encodings.forEach((tokens, row) => {
      tokens.forEach((id, col) => {
        ids[row * width + col] = BigInt(id);
        mask[row * width + col] = 1n;
      });
    });
    const dims = [texts.length, width];
    const feeds: Record<string, ort.Tensor> = {};
    const inputs = this.#session.inputNames;
    feeds.input_ids = new ort.Tensor("int64", ids, dims);
    if (inputs.includes("attention_mask")) {
      feeds.attention_mask = new ort.Tensor("int64", mask, dims);
    }
    if (inputs.includes("token_type_ids")) {
      feeds.token_type_ids = new ort.Tensor("int64", new BigInt64Array(size), dims);
    }
    const outputs = await this.#session.run(feeds, [this.#output]);
    const out = outputs[this.#output];
    try {
      const data = out.data as Float32Array;
      if (out.dims.length === 2) {
        const dim = Number(out.dims[1]);
        return texts.map((_, row) => normalize(data.slice(row * dim, (row + 1) * dim)));
      }
      if (out.dims.length !== 3) {
        throw new Error(`${this.#modelPath}: output ${this.#output} has shape [${out.dims}]`);
      }
      const steps = Number(out.dims[1]);
      const dim = Number(out.dims[2]);
      return encodings.map((tokens, row) => {
        const pooled = new Float32Array(dim);
        const count = Math.min(tokens.length, steps);
        for (let t = 0; t < count; t++) {
          const base = (row * steps + t) * dim;
          for (let d = 0; d < dim; d++) pooled[d] += data[base + d];
        }
        for (let d = 0; d < dim; d++) pooled[d] /= Math.max(1, count);
        return normalize(pooled);
      });
    } finally {
      out.dispose();
    }
  }

  /** Releases the session. */
  async close(): Promise<void> {
    await this.#session.release();
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
