/**
 * Stand-ins for memory-worker's embedders, speaking the real formats: a tiny
 * sentence-transformer model directory (an ONNX graph built with onnx-proto plus a
 * `vocab.txt` or Hugging Face `tokenizer.json`) for the onnx backend, and a local HTTP
 * server speaking OpenAI's `POST /v1/embeddings` for the openai backend. Both embed a text
 * as the mean of fixed per-word vectors, so texts sharing words are near each other.
 *
 * @module
 */
import { castTo, node, onnx, tensor, valueInfo } from "./onnx_graph.ts";

/** The words the tiny vocabulary knows (after the four special tokens). */
export const TINY_WORDS = [
  "the",
  "my",
  "dog",
  "dogs",
  "cat",
  "name",
  "is",
  "rex",
  "likes",
  "pizza",
  "with",
  "pineapple",
  "robot",
  "battery",
  "low",
  "weather",
  "rain",
  "sunny",
  "today",
  "tomorrow",
  "birthday",
  "march",
  "coffee",
  "tea",
  "morning",
  "sister",
  "anna",
  "lives",
  "in",
  "berlin",
  "paris",
  "favourite",
  "colour",
  "blue",
  "green",
  "what",
  "who",
  "where",
  "?",
  ".",
  ",",
  "run",
  "##ning",
  "##s",
  "un",
  "##known",
];

/** Vocabulary: `[PAD] [UNK] [CLS] [SEP]` then {@linkcode TINY_WORDS}. */
export const TINY_VOCAB: readonly string[] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", ...TINY_WORDS];

/** A deterministic pseudo-random vector per token id (zero for the special tokens). */
export function tokenVector(id: number, dims: number): Float32Array {
  const vector = new Float32Array(dims);
  if (id < 4) return vector;
  let state = (id * 2654435761) >>> 0;
  for (let d = 0; d < dims; d++) {
    state = (state * 1664525 + 1013904223) >>> 0;
    vector[d] = state / 0xffffffff - 0.5;
  }
  return vector;
}

/**
 * A model with the sentence-transformer signature: `input_ids`, `attention_mask` (and
 * `token_type_ids` when `withTokenTypes`) int64 [B,S] → `last_hidden_state` float32
 * [B,S,dims], each token's row of a fixed table times its mask.
 */
export function buildTinySentenceModel(dims = 16, withTokenTypes = true): Uint8Array {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const INT64 = onnx.TensorProto.DataType.INT64;
  const table = new Float32Array(TINY_VOCAB.length * dims);
  TINY_VOCAB.forEach((_, id) => table.set(tokenVector(id, dims), id * dims));
  const inputs = [
    valueInfo("input_ids", INT64, ["batch", "seq"]),
    valueInfo("attention_mask", INT64, ["batch", "seq"]),
  ];
  const nodes = [
    node("Gather", ["table", "input_ids"], ["gathered"]),
    node("Cast", ["attention_mask"], ["mask_f"], [castTo(FLOAT)]),
  ];
  if (withTokenTypes) {
    inputs.push(valueInfo("token_type_ids", INT64, ["batch", "seq"]));
    // Types are all zero: adding 0·type keeps the input used without changing the result.
    nodes.push(
      node("Cast", ["token_type_ids"], ["types_f"], [castTo(FLOAT)]),
      node("Mul", ["types_f", "zero"], ["types_zero"]),
      node("Add", ["mask_f", "types_zero"], ["mask_sum"]),
      node("Unsqueeze", ["mask_sum", "last_axis"], ["mask3b"]),
      node("Mul", ["gathered", "mask3b"], ["last_hidden_state"]),
    );
  } else {
    nodes.push(
      node("Unsqueeze", ["mask_f", "last_axis"], ["mask3"]),
      node("Mul", ["gathered", "mask3"], ["last_hidden_state"]),
    );
  }
  const graph = onnx.GraphProto.create({
    name: "tiny_sentence_transformer",
    input: inputs,
    output: [valueInfo("last_hidden_state", FLOAT, ["batch", "seq", dims])],
    initializer: [
      tensor("table", [TINY_VOCAB.length, dims], table),
      tensor("last_axis", [1], BigInt64Array.of(-1n)),
      ...(withTokenTypes ? [tensor("zero", [], Float32Array.of(0))] : []),
    ],
    node: nodes,
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "tars-memory-test",
    opsetImport: [{ domain: "", version: 13 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Options of {@linkcode writeTinySentenceModel}. */
export interface TinyModelOptions {
  /** Vector size (default 16). */
  readonly dims?: number;
  /** Tokenizer file: `vocab` (vocab.txt) or `json` (tokenizer.json). Default `vocab`. */
  readonly tokenizer?: "vocab" | "json";
  /** Put the model at `onnx/model.onnx` (the Hugging Face layout). */
  readonly nested?: boolean;
}

/** Writes a tiny model directory into `dir`; returns `dir`. */
export async function writeTinySentenceModel(
  dir: string,
  options: TinyModelOptions = {},
): Promise<string> {
  const modelPath = options.nested ? `${dir}/onnx/model.onnx` : `${dir}/model.onnx`;
  if (options.nested) await Deno.mkdir(`${dir}/onnx`, { recursive: true });
  await Deno.writeFile(modelPath, buildTinySentenceModel(options.dims ?? 16));
  if (options.tokenizer === "json") {
    await Deno.writeTextFile(
      `${dir}/tokenizer.json`,
      JSON.stringify({
        normalizer: { type: "BertNormalizer", lowercase: true },
        pre_tokenizer: { type: "BertPreTokenizer" },
        model: {
          type: "WordPiece",
          unk_token: "[UNK]",
          continuing_subword_prefix: "##",
          max_input_chars_per_word: 100,
          vocab: Object.fromEntries(TINY_VOCAB.map((token, id) => [token, id])),
        },
      }),
    );
  } else {
    await Deno.writeTextFile(`${dir}/vocab.txt`, TINY_VOCAB.join("\n") + "\n");
  }
  return dir;
}

/** A running fake embeddings server. */
export interface EmbeddingServer extends AsyncDisposable {
  /** Base URL to use as EMBED_BASE_URL (`http://127.0.0.1:<port>/v1`). */
  readonly baseUrl: string;
  /** Bodies of the requests received. */
  readonly requests: Array<{ model: string; input: string[]; authorization: string | null }>;
  /** Makes the next `n` requests fail with HTTP 503. */
  failNext(n: number): void;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Starts a server speaking OpenAI's embeddings API: `POST /v1/embeddings` with
 * `{model, input}` answers `{object:"list", data:[{object:"embedding", index, embedding}],
 * model, usage}`. Each text is the mean of per-word hashed vectors (`dims` floats).
 */
export function startEmbeddingServer(dims = 24): EmbeddingServer {
  const requests: EmbeddingServer["requests"] = [];
  let failures = 0;
  const embed = (text: string): number[] => {
    const sum = new Float32Array(dims);
    const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    for (const word of words) {
      let hash = 2166136261;
      for (const char of word) hash = Math.imul(hash ^ char.codePointAt(0)!, 16777619) >>> 0;
      tokenVector(4 + (hash % 100_000), dims).forEach((v, d) => sum[d] += v);
    }
    return [...sum];
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== "/v1/embeddings") {
      return Response.json({ error: { message: "not found" } }, { status: 404 });
    }
    const body = await req.json() as { model?: string; input?: string | string[] };
    const input = typeof body.input === "string" ? [body.input] : body.input ?? [];
    requests.push({
      model: body.model ?? "",
      input,
      authorization: req.headers.get("authorization"),
    });
    if (failures > 0) {
      failures--;
      return Response.json({ error: { message: "overloaded" } }, { status: 503 });
    }
    return Response.json({
      object: "list",
      data: input.map((text, index) => ({ object: "embedding", index, embedding: embed(text) })),
      model: body.model,
      usage: { prompt_tokens: 0, total_tokens: 0 },
    });
  });
  const close = () => server.shutdown();
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    requests,
    failNext: (n) => failures = n,
    close,
    [Symbol.asyncDispose]: close,
  };
}
