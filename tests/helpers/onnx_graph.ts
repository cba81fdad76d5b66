/**
 * Small builders for the ONNX graphs tests make with onnx-proto (models that stand in for
 * real weights that cannot be downloaded here): initializer tensors, typed graph inputs and
 * outputs, and nodes.
 *
 * @module
 */
import onnxProto from "onnx-proto";

/** The onnx-proto namespace (`onnx.GraphProto`, `onnx.TensorProto.DataType`, ...). */
export const { onnx } = onnxProto;

/** An initializer: float32 or int64 data of the given shape. */
export function tensor(name: string, dims: number[], data: Float32Array | BigInt64Array) {
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: data instanceof Float32Array
      ? onnx.TensorProto.DataType.FLOAT
      : onnx.TensorProto.DataType.INT64,
    rawData: new Uint8Array(data.buffer.slice(0)),
  });
}

/** A graph input or output; a string dimension is symbolic (e.g. `"batch"`). */
export function valueInfo(name: string, elemType: number, dims: Array<number | string>) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => typeof d === "number" ? { dimValue: d } : { dimParam: d }),
        },
      },
    },
  });
}

/** A node named after its first output. */
export function node(opType: string, input: string[], output: string[], attribute: object[] = []) {
  return onnx.NodeProto.create({ opType, input, output, name: output[0], attribute });
}

/** A `Cast` node's `to` attribute. */
export function castTo(elemType: number): object {
  return { name: "to", type: onnx.AttributeProto.AttributeType.INT, i: elemType };
}
