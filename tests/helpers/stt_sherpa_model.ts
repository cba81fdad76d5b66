/**
 * A tiny model in the format of sherpa-onnx's Whisper export (scripts/whisper/export-onnx.py),
 * built with onnx-proto so the real sherpa-onnx-node recogniser can load and decode it here
 * (no real Whisper model can be downloaded on this machine):
 *
 * - `tiny-encoder.onnx`: `mel` float [1, n_mels, T] → `n_layer_cross_k`, `n_layer_cross_v`
 *   float [n_text_layer, 1, n_audio_ctx, n_text_state] (the mean of the mel, broadcast; any T,
 *   so sherpa's tail padding is accepted), with the metadata sherpa reads
 *   (n_mels, n_text_layer, n_text_ctx, n_text_state, n_vocab, sot, eot, blank_id, translate,
 *   transcribe, is_multilingual, no_timestamps, no_speech, sot_sequence);
 * - `tiny-decoder.onnx`: `tokens` int64 [1, L], `in_n_layer_self_k_cache`,
 *   `in_n_layer_self_v_cache` float [n_text_layer, 1, n_text_ctx, n_text_state],
 *   `n_layer_cross_k`, `n_layer_cross_v`, `offset` int64 [1] → `logits` float [1, L, n_vocab]
 *   (row p of a fixed table for the positions offset..offset+L-1), `out_n_layer_self_k_cache`,
 *   `out_n_layer_self_v_cache` (the caches, passed through);
 * - `tiny-tokens.txt`: base64 of each token's bytes and its id, as Whisper's tokens.txt.
 *
 * It is English-only (is_multilingual 0), so the start sequence is [sot, no_timestamps]
 * (positions 0 and 1); the table makes the greedy search emit " hello" at position 1,
 * " robot" at 2 and end-of-text at 3, so any audio long enough for three tokens decodes to
 * {@linkcode STANDIN_TEXT}.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { node, onnx, tensor, valueInfo } from "./onnx_graph.ts";

/** What the stand-in model transcribes every utterance as. */
export const STANDIN_TEXT = "hello robot";

/** The token ids of the stand-in vocabulary. */
export const STANDIN_TOKENS = {
  hello: 0,
  robot: 1,
  eot: 2,
  sot: 3,
  translate: 4,
  transcribe: 5,
  noSpeech: 6,
  noTimestamps: 7,
  blank: 8,
} as const;

/** Each id's token text (tokens.txt holds them base64-encoded). */
const TOKEN_TEXT = [
  " hello",
  " robot",
  "<|endoftext|>",
  "<|startoftranscript|>",
  "<|translate|>",
  "<|transcribe|>",
  "<|nospeech|>",
  "<|notimestamps|>",
  " ",
];

const N_MELS = 80;
const N_TEXT_LAYER = 1;
const N_TEXT_CTX = 16;
const N_TEXT_STATE = 8;
const N_AUDIO_CTX = 4;
const N_VOCAB = TOKEN_TEXT.length;
/** The logit of the token the table picks at a position (others are 0). */
const PICKED_LOGIT = 12;

/** The metadata sherpa-onnx reads from a Whisper encoder, for this model. */
export const STANDIN_ENCODER_METADATA: Readonly<Record<string, string>> = {
  model_type: "whisper-standin",
  version: "1",
  maintainer: "tars-deno tests",
  n_mels: String(N_MELS),
  n_audio_ctx: String(N_AUDIO_CTX),
  n_audio_state: String(N_TEXT_STATE),
  n_audio_head: "1",
  n_audio_layer: String(N_TEXT_LAYER),
  n_vocab: String(N_VOCAB),
  n_text_ctx: String(N_TEXT_CTX),
  n_text_state: String(N_TEXT_STATE),
  n_text_head: "1",
  n_text_layer: String(N_TEXT_LAYER),
  sot: String(STANDIN_TOKENS.sot),
  sot_index: "0",
  eot: String(STANDIN_TOKENS.eot),
  blank_id: String(STANDIN_TOKENS.blank),
  is_multilingual: "0",
  no_speech: String(STANDIN_TOKENS.noSpeech),
  non_speech_tokens: "",
  transcribe: String(STANDIN_TOKENS.transcribe),
  translate: String(STANDIN_TOKENS.translate),
  sot_prev: String(STANDIN_TOKENS.sot),
  sot_lm: String(STANDIN_TOKENS.sot),
  no_timestamps: String(STANDIN_TOKENS.noTimestamps),
  sot_sequence: String(STANDIN_TOKENS.sot),
};

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function model(
  graph: InstanceType<typeof onnx.GraphProto>,
  metadata: Readonly<Record<string, string>>,
): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    producerName: "tars-stt-test",
    opsetImport: [{ domain: "", version: 13 }],
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  })).finish();
}

/** The encoder's bytes; `metadata` defaults to {@linkcode STANDIN_ENCODER_METADATA}. */
export function buildStandinEncoder(
  metadata: Readonly<Record<string, string>> = STANDIN_ENCODER_METADATA,
): Uint8Array {
  const kvShape = [N_TEXT_LAYER, 1, N_AUDIO_CTX, N_TEXT_STATE];
  const graph = onnx.GraphProto.create({
    name: "whisper_standin_encoder",
    input: [valueInfo("mel", FLOAT, [1, N_MELS, "T"])],
    output: [
      valueInfo("n_layer_cross_k", FLOAT, kvShape),
      valueInfo("n_layer_cross_v", FLOAT, kvShape),
    ],
    initializer: [
      tensor("one_shape", [4], BigInt64Array.of(1n, 1n, 1n, 1n)),
      tensor("kv_shape", [4], BigInt64Array.from(kvShape, BigInt)),
    ],
    node: [
      node("ReduceMean", ["mel"], ["mel_mean"], [{
        name: "keepdims",
        type: onnx.AttributeProto.AttributeType.INT,
        i: 0,
      }]),
      node("Reshape", ["mel_mean", "one_shape"], ["mel_mean4"]),
      node("Expand", ["mel_mean4", "kv_shape"], ["n_layer_cross_k"]),
      node("Neg", ["n_layer_cross_k"], ["n_layer_cross_v"]),
    ],
  });
  return model(graph, metadata);
}

/** The decoder's bytes. */
export function buildStandinDecoder(): Uint8Array {
  const table = new Float32Array(N_TEXT_CTX * N_VOCAB);
  for (let position = 0; position < N_TEXT_CTX; position++) {
    const picked = position === 1
      ? STANDIN_TOKENS.hello
      : position === 2
      ? STANDIN_TOKENS.robot
      : STANDIN_TOKENS.eot;
    table[position * N_VOCAB + picked] = PICKED_LOGIT;
  }
  const selfShape = [N_TEXT_LAYER, 1, N_TEXT_CTX, N_TEXT_STATE];
  const crossShape = [N_TEXT_LAYER, 1, "n_audio_ctx", N_TEXT_STATE];
  const graph = onnx.GraphProto.create({
    name: "whisper_standin_decoder",
    input: [
      valueInfo("tokens", INT64, [1, "n_tokens"]),
      valueInfo("in_n_layer_self_k_cache", FLOAT, selfShape),
      valueInfo("in_n_layer_self_v_cache", FLOAT, selfShape),
      valueInfo("n_layer_cross_k", FLOAT, crossShape),
      valueInfo("n_layer_cross_v", FLOAT, crossShape),
      valueInfo("offset", INT64, [1]),
    ],
    output: [
      valueInfo("logits", FLOAT, [1, "n_tokens", N_VOCAB]),
      valueInfo("out_n_layer_self_k_cache", FLOAT, selfShape),
      valueInfo("out_n_layer_self_v_cache", FLOAT, selfShape),
    ],
    initializer: [
      tensor("table", [N_TEXT_CTX, N_VOCAB], table),
      tensor("zero", [], BigInt64Array.of(0n)),
      tensor("one", [], BigInt64Array.of(1n)),
      tensor("axis0", [1], BigInt64Array.of(0n)),
    ],
    node: [
      // positions = offset + [0, 1, ..., n_tokens - 1], as [1, n_tokens]
      node("Shape", ["tokens"], ["tokens_shape"]),
      node("Gather", ["tokens_shape", "one"], ["n_tokens"], [{
        name: "axis",
        type: onnx.AttributeProto.AttributeType.INT,
        i: 0,
      }]),
      node("Range", ["zero", "n_tokens", "one"], ["steps"]),
      node("Add", ["steps", "offset"], ["positions"]),
      node("Unsqueeze", ["positions", "axis0"], ["positions2"]),
      node("Gather", ["table", "positions2"], ["logits"]),
      node("Identity", ["in_n_layer_self_k_cache"], ["out_n_layer_self_k_cache"]),
      node("Identity", ["in_n_layer_self_v_cache"], ["out_n_layer_self_v_cache"]),
    ],
  });
  return model(graph, {
    model_type: "whisper-standin",
    version: "1",
  });
}

/** tokens.txt in Whisper's format: base64 of the token's UTF-8 bytes, a space, the id. */
export function buildStandinTokens(): string {
  return TOKEN_TEXT.map((text, id) => `${Buffer.from(text, "utf8").toString("base64")} ${id}\n`)
    .join("");
}

/** The paths {@linkcode writeSherpaStandinModel} wrote. */
export interface SherpaStandinModel {
  /** The directory (SHERPA_MODEL_DIR). */
  readonly dir: string;
  /** `tiny-encoder.onnx`. */
  readonly encoder: string;
  /** `tiny-decoder.onnx`. */
  readonly decoder: string;
  /** `tiny-tokens.txt`. */
  readonly tokens: string;
}

/**
 * Writes the stand-in export (`tiny-encoder.onnx`, `tiny-decoder.onnx`, `tiny-tokens.txt`,
 * the file names of a sherpa-onnx Whisper release) into `dir`.
 */
export async function writeSherpaStandinModel(dir: string): Promise<SherpaStandinModel> {
  const paths = {
    dir,
    encoder: `${dir}/tiny-encoder.onnx`,
    decoder: `${dir}/tiny-decoder.onnx`,
    tokens: `${dir}/tiny-tokens.txt`,
  };
  await Deno.writeFile(paths.encoder, buildStandinEncoder());
  await Deno.writeFile(paths.decoder, buildStandinDecoder());
  await Deno.writeTextFile(paths.tokens, buildStandinTokens());
  return paths;
}
