/**
 * {@linkcode SherpaTranscriber}: a local Whisper or Moonshine model directory via
 * sherpa-onnx-node. Nothing is downloaded at run time; `sherpa_model_check.ts` checks the
 * files before sherpa sees them.
 *
 * @module
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pcm16ToFloat } from "../../../lib/audio/mod.ts";
import { SAMPLE_RATE } from "../pcm.ts";
import { checkSherpaModelFiles } from "./sherpa_model_check.ts";
import { mean, probabilityFromLogprob, type Transcriber, type Transcript } from "./transcriber.ts";

/** The model files a sherpa model directory holds. */
export type SherpaModelFiles =
  | { kind: "whisper"; encoder: string; decoder: string; tokens: string }
  | {
    kind: "moonshine";
    preprocessor: string;
    encoder: string;
    uncachedDecoder: string;
    cachedDecoder: string;
    tokens: string;
  };

/** What a sherpa model directory must contain, for error messages. */
export const SHERPA_MODEL_FILES_HELP =
  "a Whisper export (<name>-encoder[.int8].onnx, <name>-decoder[.int8].onnx, <name>-tokens.txt, " +
  "e.g. sherpa-onnx-whisper-tiny.en) or a Moonshine export (preprocess.onnx, encode[.int8].onnx, " +
  "uncached_decode[.int8].onnx, cached_decode[.int8].onnx, tokens.txt, e.g. " +
  "sherpa-onnx-moonshine-tiny-en-int8) from github.com/k2-fsa/sherpa-onnx/releases (asr-models)";

/**
 * Finds the model files in `dir` (int8 preferred).
 *
 * @throws Error naming the directory and the files needed.
 */
export function findSherpaModel(dir: string): SherpaModelFiles {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new Error(
      `SHERPA_MODEL_DIR ${dir} cannot be read (${(error as Error).message}); it must hold ` +
        SHERPA_MODEL_FILES_HELP,
    );
  }
  const pick = (pattern: RegExp) => {
    const matches = names.filter((n) => pattern.test(n)).sort();
    return matches.find((n) => n.includes("int8")) ?? matches[0];
  };
  const encoder = pick(/-encoder(\.int8)?\.onnx$/);
  const decoder = pick(/-decoder(\.int8)?\.onnx$/);
  const whisperTokens = pick(/-tokens\.txt$/) ??
    (names.includes("tokens.txt") ? "tokens.txt" : undefined);
  if (encoder && decoder && whisperTokens) {
    return {
      kind: "whisper",
      encoder: join(dir, encoder),
      decoder: join(dir, decoder),
      tokens: join(dir, whisperTokens),
    };
  }
  const preprocessor = pick(/^preprocess\.onnx$/);
  const encode = pick(/^encode(\.int8)?\.onnx$/);
  const uncached = pick(/^uncached_decode(\.int8)?\.onnx$/);
  const cached = pick(/^cached_decode(\.int8)?\.onnx$/);
  if (preprocessor && encode && uncached && cached && names.includes("tokens.txt")) {
    return {
      kind: "moonshine",
      preprocessor: join(dir, preprocessor),
      encoder: join(dir, encode),
      uncachedDecoder: join(dir, uncached),
      cachedDecoder: join(dir, cached),
      tokens: join(dir, "tokens.txt"),
    };
  }
  throw new Error(
    `SHERPA_MODEL_DIR ${dir} holds no usable model (found: ${names.join(", ") || "nothing"}); ` +
      `it must hold ${SHERPA_MODEL_FILES_HELP}`,
  );
}

interface SherpaResult {
  text: string;
  ys_log_probs?: number[];
  lang?: string;
}
interface SherpaStream {
  acceptWaveform(wave: { samples: Float32Array; sampleRate: number }): void;
}
interface SherpaRecognizer {
  createStream(): SherpaStream;
  decodeAsync(stream: SherpaStream): Promise<SherpaResult>;
}
interface SherpaModule {
  OfflineRecognizer: { createAsync(config: unknown): Promise<SherpaRecognizer> };
}

/** Options of {@linkcode SherpaTranscriber.load}. */
export interface SherpaTranscriberOptions {
  /** SHERPA_MODEL_DIR. */
  readonly modelDir: string;
  /** Language for Whisper (STT_LANGUAGE). */
  readonly language: string;
  /** Threads (SHERPA_THREADS). */
  readonly threads: number;
}

/** A local Whisper or Moonshine model through sherpa-onnx-node (native, offline). */
export class SherpaTranscriber implements Transcriber {
  /** Always "sherpa". */
  readonly name = "sherpa";
  readonly #recognizer: SherpaRecognizer;
  /** The model kind found. */
  readonly model: SherpaModelFiles;

  private constructor(recognizer: SherpaRecognizer, model: SherpaModelFiles) {
    this.#recognizer = recognizer;
    this.model = model;
  }

  /**
   * Finds the model files, checks them (sherpa-onnx's native code ends the process on a bad
   * tokens file or missing Whisper metadata instead of throwing, see
   * `sherpa_model_check.ts`) and creates the recogniser.
   *
   * @throws Error naming SHERPA_MODEL_DIR or the bad file, what is wrong and what to do.
   */
  static async load(options: SherpaTranscriberOptions): Promise<SherpaTranscriber> {
    if (!existsSync(options.modelDir)) {
      throw new Error(
        `SHERPA_MODEL_DIR ${options.modelDir} does not exist; download and unpack ` +
          SHERPA_MODEL_FILES_HELP,
      );
    }
    const model = findSherpaModel(options.modelDir);
    await checkSherpaModelFiles(model, options.language);
    const sherpa = (await import("sherpa-onnx-node")).default as unknown as SherpaModule;
    const modelConfig = model.kind === "whisper"
      ? {
        whisper: {
          encoder: model.encoder,
          decoder: model.decoder,
          language: options.language,
          task: "transcribe",
        },
      }
      : {
        moonshine: {
          preprocessor: model.preprocessor,
          encoder: model.encoder,
          uncachedDecoder: model.uncachedDecoder,
          cachedDecoder: model.cachedDecoder,
        },
      };
    try {
      const recognizer = await sherpa.OfflineRecognizer.createAsync({
        featConfig: { sampleRate: SAMPLE_RATE, featureDim: 80 },
        modelConfig: {
          ...modelConfig,
          tokens: model.tokens,
          numThreads: options.threads,
          provider: "cpu",
          debug: 0,
        },
        decodingMethod: "greedy_search",
      });
      return new SherpaTranscriber(recognizer, model);
    } catch (error) {
      throw new Error(
        `sherpa-onnx could not load the ${model.kind} model in ${options.modelDir}: ` +
          `${(error as Error).message}; it must hold ${SHERPA_MODEL_FILES_HELP}`,
      );
    }
  }

  /** Decodes the utterance on a native worker thread. */
  async transcribe(pcm: Uint8Array): Promise<Transcript> {
    const stream = this.#recognizer.createStream();
    stream.acceptWaveform({ samples: pcm16ToFloat(pcm), sampleRate: SAMPLE_RATE });
    const result = await this.#recognizer.decodeAsync(stream);
    const avgLogprob = mean(result.ys_log_probs ?? []);
    return {
      text: (result.text ?? "").trim(),
      confidence: avgLogprob === null ? null : probabilityFromLogprob(avgLogprob),
      avgLogprob,
      language: result.lang || null,
    };
  }

  /** The native handles are freed by the garbage collector. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
