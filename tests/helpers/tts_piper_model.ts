/**
 * A tiny ONNX model with the Piper voice signature, built with onnx-proto for the piper
 * engine tests (no real voice ships offline): inputs `input` int64 [1,N], `input_lengths`
 * int64 [1], `scales` float32 [3] → `output` float32 [1,1,1,T] with T = SAMPLES_PER_ID·N.
 * The output is sin(0.37·id) repeated, times `scales[1]` (length_scale), so it is never
 * silent and its length tells how many ids the engine fed.
 *
 * @module
 */
import { castTo, node, onnx, tensor, valueInfo } from "./onnx_graph.ts";

/** Output samples per input phoneme id. */
export const SAMPLES_PER_ID = 256;

/** The voice config copied from the real `en_US-amy-low.onnx.json` (16 kHz). */
export const AMY_CONFIG_URL = new URL("../fixtures/tts/en_US-amy-low.onnx.json", import.meta.url);

/** The model's bytes. */
export function buildPiperLikeModel(): Uint8Array {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const INT64 = onnx.TensorProto.DataType.INT64;
  const toFloat = castTo(FLOAT);
  const graph = onnx.GraphProto.create({
    name: "piper_like",
    input: [
      valueInfo("input", INT64, [1, "N"]),
      valueInfo("input_lengths", INT64, [1]),
      valueInfo("scales", FLOAT, [3]),
    ],
    output: [valueInfo("output", FLOAT, [1, 1, 1, "T"])],
    initializer: [
      tensor("shape4", [4], BigInt64Array.of(1n, 1n, 1n, -1n)),
      tensor("repeats", [4], BigInt64Array.of(1n, 1n, 1n, BigInt(SAMPLES_PER_ID))),
      tensor("freq", [], Float32Array.of(0.37)),
      tensor("one", [], BigInt64Array.of(1n)),
    ],
    node: [
      node("Cast", ["input"], ["ids_f"], [toFloat]),
      node("Reshape", ["ids_f", "shape4"], ["ids4"]),
      node("Tile", ["ids4", "repeats"], ["tiled"]),
      node("Mul", ["tiled", "freq"], ["phase"]),
      node("Sin", ["phase"], ["wave"]),
      node("Gather", ["scales", "one"], ["length_scale"]),
      node("Cast", ["input_lengths"], ["len_f"], [toFloat]),
      node("Div", ["len_f", "len_f"], ["unit"]),
      node("Mul", ["wave", "length_scale"], ["scaled"]),
      node("Mul", ["scaled", "unit"], ["output"]),
    ],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "tars-tts-test",
    opsetImport: [{ domain: "", version: 13 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Writes the model and the real amy-low config beside it (`voice.onnx`, `voice.onnx.json`)
 * into `dir`; returns the `.onnx` path.
 */
export async function writePiperLikeVoice(dir: string): Promise<string> {
  const path = `${dir}/voice.onnx`;
  await Deno.writeFile(path, buildPiperLikeModel());
  await Deno.copyFile(AMY_CONFIG_URL, `${path}.json`);
  return path;
}
