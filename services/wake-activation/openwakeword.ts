/**
 * The openWakeWord pipeline on onnxruntime-node, framed exactly like openWakeWord's
 * `AudioFeatures._streaming_features`:
 *
 * 1. audio arrives in 1280-sample (80 ms) frames of int16 values (fed to the model as float32,
 *    not rescaled);
 * 2. the melspectrogram model runs on the new frame plus the 480 samples before it (8 new mel
 *    frames of 32 bins per 80 ms), transformed `x / 10 + 2`;
 * 3. the embedding model runs on the last 76 mel frames (a window that steps by 8 frames, one
 *    96-d embedding per 80 ms);
 * 4. the keyword model runs on the last N embeddings (N from its input shape, 16 for
 *    hey_jarvis), giving the score.
 *
 * As in openWakeWord the mel buffer starts as 76 frames of ones and the embedding history
 * starts with the embeddings of 4 s of low-level noise (deterministic here), and the first 5
 * scores after a reset are 0.
 *
 * Quiet skip (`quietEnergy`): once every frame the keyword model can see (its N embeddings
 * reach back {@linkcode OpenWakeWordScorer.quietFramesToSkip} frames) was quieter than
 * `quietEnergy`, a frame costs only the melspectrogram and scores 0; its mel window is kept,
 * and the first louder frame embeds the kept windows in one batch before scoring. Scores after
 * a quiet stretch are therefore exactly those of the full pipeline; only the scores of audio
 * that was quiet for the whole keyword window are replaced by 0.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { basename } from "node:path";
import { bundledEmbeddingModel, bundledMelspectrogramModel } from "./models.ts";
import type { WakeScorer } from "./scorer.ts";

/** Samples per frame: 80 ms at 16 kHz. */
export const FRAME_SAMPLES = 1280;
/** Samples of context before each frame given to the melspectrogram model (3 hops of 160). */
export const MEL_CONTEXT_SAMPLES = 480;
/** Mel bins per frame of the melspectrogram model. */
export const MEL_BINS = 32;
/** Mel frames per embedding window. */
export const MEL_WINDOW = 76;
/** Mel frames between embedding windows (80 ms). */
export const MEL_STEP = 8;
/** Size of one speech embedding. */
export const EMBEDDING_DIM = 96;
/** Scores forced to 0 after a reset while the buffers fill (openWakeWord does the same). */
export const WARMUP_SCORES = 5;

/** Options of {@linkcode OpenWakeWordScorer.load}. */
export interface OpenWakeWordOptions {
  /** The keyword model (any openWakeWord `.onnx` keyword model). */
  readonly modelPath: string;
  /** The melspectrogram model (default: the bundled one). */
  readonly melspectrogramPath?: string;
  /** The speech embedding model (default: the bundled one). */
  readonly embeddingPath?: string;
  /** Intra-op threads per model (default 1: the robot has other work to do). */
  readonly threads?: number;
  /**
   * Frame RMS (samples scaled to [-1, 1]) below which long quiet stretches skip the embedding
   * and keyword models (see the module description); 0 or undefined = never skip.
   */
  readonly quietEnergy?: number;
}

/** RMS of int16 samples scaled to [-1, 1]. */
function frameEnergy(frame: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i] * frame[i];
  return Math.sqrt(sum / frame.length) / 32768;
}

async function openSession(
  path: string,
  threads: number,
  what: string,
  fixedBatch?: Record<string, number>,
) {
  try {
    await Deno.stat(path);
  } catch {
    throw new Error(
      `The openWakeWord ${what} model ${path} does not exist; set WAKE_MODEL_PATH (keyword) or ` +
        "WAKE_MELSPEC_MODEL_PATH / WAKE_EMBEDDING_MODEL_PATH (features) to an existing .onnx file",
    );
  }
  try {
    return await ort.InferenceSession.create(path, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      // A fixed batch of 1 lets onnxruntime plan the convolutions once (~15 % faster).
      ...(fixedBatch ? { freeDimensionOverrides: fixedBatch } : {}),
    });
  } catch (error) {
    throw new Error(
      `onnxruntime could not load the openWakeWord ${what} model ${path}: ` +
        `${(error as Error).message}`,
    );
  }
}

/** The window size N of a keyword model: dimension 1 of its `[1, N, 96]` input. */
function keywordWindow(session: ort.InferenceSession, path: string): number {
  const input = session.inputMetadata[0];
  const shape = input && input.isTensor ? input.shape : [];
  const window = shape[1];
  if (shape.length !== 3 || typeof window !== "number" || shape[2] !== EMBEDDING_DIM) {
    throw new Error(
      `${path} is not an openWakeWord keyword model: its input shape is ` +
        `[${shape.join(", ")}], expected [1, N, ${EMBEDDING_DIM}]`,
    );
  }
  return window;
}

/** `{<batch dimension name>: 1}` for a model whose first input has a named batch dimension. */
function batchOverride(session: ort.InferenceSession): Record<string, number> | undefined {
  const input = session.inputMetadata[0];
  const first = input && input.isTensor ? input.shape[0] : undefined;
  return typeof first === "string" ? { [first]: 1 } : undefined;
}

/** 4 s of deterministic noise in ±1000 (openWakeWord seeds its history with random noise). */
function seedNoise(): Float32Array {
  const noise = new Float32Array(16_000 * 4);
  let state = 0x2545f491;
  for (let i = 0; i < noise.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    noise[i] = Math.floor((state / 0x1_0000_0000) * 2000) - 1000;
  }
  return noise;
}

/** An openWakeWord keyword detector: melspectrogram → embedding → keyword model. */
export class OpenWakeWordScorer implements WakeScorer {
  /** The keyword model's file name without `.onnx`. */
  readonly name: string;
  /** Always {@linkcode FRAME_SAMPLES}. */
  readonly frameSamples = FRAME_SAMPLES;
  /** Embeddings the keyword model looks at (16 for hey_jarvis). */
  readonly windowSize: number;
  /**
   * Quiet frames in a row after which frames skip the embedding and keyword models: the
   * keyword window plus one mel window plus one frame of mel context.
   */
  readonly quietFramesToSkip: number;
  #skippedFrames = 0;

  readonly #mel: ort.InferenceSession;
  readonly #embedding: ort.InferenceSession;
  readonly #streamingEmbedding: ort.InferenceSession;
  readonly #keyword: ort.InferenceSession;
  readonly #context = new Float32Array(MEL_CONTEXT_SAMPLES + FRAME_SAMPLES);
  #contextSamples = 0;
  readonly #melBuffer = new Float32Array(MEL_WINDOW * MEL_BINS);
  readonly #features: Float32Array;
  #seedFeatures: Float32Array | null = null;
  readonly #quietEnergy: number;
  #quietRun = 0;
  /** Mel windows of skipped frames not embedded yet (at most windowSize, oldest first). */
  #pendingWindows: Float32Array[] = [];
  #scores = 0;
  #closed = false;

  private constructor(
    name: string,
    mel: ort.InferenceSession,
    embedding: ort.InferenceSession,
    streamingEmbedding: ort.InferenceSession,
    keyword: ort.InferenceSession,
    windowSize: number,
    quietEnergy: number,
  ) {
    this.name = name;
    this.#quietEnergy = quietEnergy;
    this.quietFramesToSkip = windowSize + Math.ceil(MEL_WINDOW / MEL_STEP) + 1;
    this.#mel = mel;
    this.#embedding = embedding;
    this.#streamingEmbedding = streamingEmbedding;
    this.#keyword = keyword;
    this.windowSize = windowSize;
    this.#features = new Float32Array(windowSize * EMBEDDING_DIM);
  }

  /**
   * Loads the three models and primes the buffers.
   *
   * @throws Error naming the file and the variable to fix when a model is missing or invalid.
   */
  static async load(options: OpenWakeWordOptions): Promise<OpenWakeWordScorer> {
    const threads = options.threads ?? 1;
    const melPath = options.melspectrogramPath ?? bundledMelspectrogramModel();
    const embeddingPath = options.embeddingPath ?? bundledEmbeddingModel();
    const sessions: ort.InferenceSession[] = [];
    try {
      const mel = await openSession(melPath, threads, "melspectrogram");
      sessions.push(mel);
      const embedding = await openSession(embeddingPath, threads, "embedding");
      sessions.push(embedding);
      const streamingEmbedding = await openSession(
        embeddingPath,
        threads,
        "embedding",
        batchOverride(embedding),
      );
      sessions.push(streamingEmbedding);
      const keyword = await openSession(options.modelPath, threads, "keyword");
      sessions.push(keyword);
      const window = keywordWindow(keyword, options.modelPath);
      const name = basename(options.modelPath).replace(/\.onnx$/i, "");
      const scorer = new OpenWakeWordScorer(
        name,
        mel,
        embedding,
        streamingEmbedding,
        keyword,
        window,
        options.quietEnergy ?? 0,
      );
      await scorer.reset();
      return scorer;
    } catch (error) {
      await Promise.allSettled(sessions.map((session) => session.release()));
      throw error;
    }
  }

  /** Frames that skipped the embedding and keyword models (quiet skip), since load. */
  get skippedFrames(): number {
    return this.#skippedFrames;
  }

  /** Resets the buffers to openWakeWord's start state. */
  async reset(): Promise<void> {
    this.#contextSamples = 0;
    this.#melBuffer.fill(1);
    this.#scores = 0;
    this.#quietRun = 0;
    this.#pendingWindows = [];
    this.#seedFeatures ??= await this.#embedClip(seedNoise());
    this.#features.set(this.#seedFeatures);
  }

  /** Scores one 1280-sample frame (see the module description). */
  async score(frame: Int16Array): Promise<number> {
    if (this.#closed) throw new Error(`The wake scorer ${this.name} is closed`);
    if (frame.length !== FRAME_SAMPLES) {
      throw new RangeError(`A frame has ${FRAME_SAMPLES} samples, got ${frame.length}`);
    }
    // Raw audio: keep the last 480 samples of the previous frame before the new one.
    const context = this.#context;
    const keep = Math.min(this.#contextSamples, MEL_CONTEXT_SAMPLES);
    context.copyWithin(0, this.#contextSamples - keep, this.#contextSamples);
    for (let i = 0; i < FRAME_SAMPLES; i++) context[keep + i] = frame[i];
    this.#contextSamples = keep + FRAME_SAMPLES;

    const mel = await this.#melspectrogram(context.subarray(0, this.#contextSamples));
    const frames = mel.length / MEL_BINS;
    const buffer = this.#melBuffer;
    if (frames >= MEL_WINDOW) {
      buffer.set(mel.subarray(mel.length - buffer.length));
    } else {
      buffer.copyWithin(0, frames * MEL_BINS);
      buffer.set(mel, buffer.length - mel.length);
    }

    const quiet = this.#quietEnergy > 0 && frameEnergy(frame) < this.#quietEnergy;
    this.#quietRun = quiet ? this.#quietRun + 1 : 0;
    if (this.#quietRun > this.quietFramesToSkip) {
      // Everything the keyword model would see is quiet: keep the window, embed it later.
      this.#pendingWindows.push(buffer.slice());
      if (this.#pendingWindows.length > this.windowSize) this.#pendingWindows.shift();
      this.#skippedFrames++;
      this.#scores++;
      return 0;
    }
    const features = this.#features;
    if (this.#pendingWindows.length > 0) await this.#embedPending();
    const embedding = await this.#embed(buffer, 1, this.#streamingEmbedding);
    features.copyWithin(0, EMBEDDING_DIM);
    features.set(embedding, features.length - EMBEDDING_DIM);

    const score = await this.#keywordScore(features);
    this.#scores++;
    return this.#scores <= WARMUP_SCORES ? 0 : score;
  }

  /** Releases the three sessions. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(
      [this.#mel, this.#embedding, this.#streamingEmbedding, this.#keyword].map((session) =>
        session.release()
      ),
    );
  }

  /** Embeds the kept windows of skipped frames in one batch and appends them to the history. */
  async #embedPending(): Promise<void> {
    const pending = this.#pendingWindows;
    this.#pendingWindows = [];
    const windows = new Float32Array(pending.length * MEL_WINDOW * MEL_BINS);
    pending.forEach((window, i) => windows.set(window, i * MEL_WINDOW * MEL_BINS));
    const embeddings = await this.#embed(windows, pending.length);
    const features = this.#features;
    features.copyWithin(0, embeddings.length);
    features.set(embeddings, features.length - embeddings.length);
  }

  /** Mel frames (`frames × 32`, transformed `x/10+2`) of int16-valued samples. */
  async #melspectrogram(samples: Float32Array): Promise<Float32Array> {
    const input = new ort.Tensor("float32", Float32Array.from(samples), [1, samples.length]);
    const output = await this.#mel.run({ [this.#mel.inputNames[0]]: input });
    const data = Float32Array.from(output[this.#mel.outputNames[0]].data as Float32Array);
    for (let i = 0; i < data.length; i++) data[i] = data[i] / 10 + 2;
    return data;
  }

  /** Embeddings (`batch × 96`) of `batch` consecutive 76-frame mel windows. */
  async #embed(
    windows: Float32Array,
    batch: number,
    session: ort.InferenceSession = this.#embedding,
  ): Promise<Float32Array> {
    const input = new ort.Tensor("float32", Float32Array.from(windows), [
      batch,
      MEL_WINDOW,
      MEL_BINS,
      1,
    ]);
    const output = await session.run({ [session.inputNames[0]]: input });
    return Float32Array.from(output[session.outputNames[0]].data as Float32Array);
  }

  /** The last `windowSize` embeddings of a whole clip (openWakeWord's `_get_embeddings`). */
  async #embedClip(samples: Float32Array): Promise<Float32Array> {
    const mel = await this.#melspectrogram(samples);
    const frames = mel.length / MEL_BINS;
    const starts: number[] = [];
    for (let start = 0; start + MEL_WINDOW <= frames; start += MEL_STEP) starts.push(start);
    const chosen = starts.slice(-this.windowSize);
    const windows = new Float32Array(chosen.length * MEL_WINDOW * MEL_BINS);
    chosen.forEach((start, i) => {
      windows.set(
        mel.subarray(start * MEL_BINS, (start + MEL_WINDOW) * MEL_BINS),
        i * MEL_WINDOW * MEL_BINS,
      );
    });
    const embeddings = await this.#embed(windows, chosen.length);
    const features = new Float32Array(this.windowSize * EMBEDDING_DIM);
    features.set(embeddings, features.length - embeddings.length);
    return features;
  }

  /** The keyword model's score: its single output, or the best non-background class. */
  async #keywordScore(features: Float32Array): Promise<number> {
    const input = new ort.Tensor("float32", Float32Array.from(features), [
      1,
      this.windowSize,
      EMBEDDING_DIM,
    ]);
    const output = await this.#keyword.run({ [this.#keyword.inputNames[0]]: input });
    const data = output[this.#keyword.outputNames[0]].data as Float32Array;
    if (data.length === 1) return data[0];
    let best = 0;
    for (let i = 1; i < data.length; i++) best = Math.max(best, data[i]);
    return best;
  }
}
