/**
 * The Piper engine: a Piper voice (`.onnx` + `.onnx.json`) run with onnxruntime-node.
 * Phonemes come from espeak-ng in IPA (the voice's `espeak.voice`), mapped through the
 * voice's `phoneme_id_map`; noise/length scales come from the voice's `inference` block and
 * the sample rate from its `audio.sample_rate`.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { normalizeToPcm16, type PcmAudio } from "../../../lib/audio/mod.ts";
import { type SpeechEngine, SynthesisAborted } from "./engine.ts";
import { espeakIpaSentences, type PhonemeIdMap, phonemesToIds } from "./phonemize.ts";

/** The fields of a Piper voice config this engine reads. */
export interface PiperVoiceConfig {
  /** Output sample rate, e.g. 16000 or 22050. */
  readonly sampleRate: number;
  /** espeak-ng voice for phonemes. */
  readonly espeakVoice: string;
  /** `inference.noise_scale`. */
  readonly noiseScale: number;
  /** `inference.length_scale`. */
  readonly lengthScale: number;
  /** `inference.noise_w`. */
  readonly noiseW: number;
  /** Number of speakers (> 1 = the model takes a `sid` input). */
  readonly numSpeakers: number;
  /** Phoneme → ids. */
  readonly phonemeIdMap: PhonemeIdMap;
}

/**
 * Parses a Piper `.onnx.json`.
 *
 * @throws an Error naming the missing or wrong field.
 */
export function parsePiperConfig(json: unknown, source = "voice config"): PiperVoiceConfig {
  const root = json as Record<string, Record<string, unknown> | undefined> | null;
  const fail = (what: string): never => {
    throw new Error(`${source}: ${what}`);
  };
  if (!root || typeof root !== "object") fail("not a JSON object");
  const sampleRate = Number(root!.audio?.sample_rate);
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) fail("audio.sample_rate missing");
  const map = root!.phoneme_id_map as Record<string, unknown> | undefined;
  if (!map || typeof map !== "object") fail("phoneme_id_map missing");
  for (const [key, value] of Object.entries(map!)) {
    if (!Array.isArray(value) || !value.every(Number.isInteger)) {
      fail(`phoneme_id_map[${JSON.stringify(key)}] is not a list of integers`);
    }
  }
  const inference = root!.inference ?? {};
  const num = (value: unknown, fallback: number) =>
    typeof value === "number" && Number.isFinite(value) ? value : fallback;
  return {
    sampleRate,
    espeakVoice: typeof root!.espeak?.voice === "string" ? root!.espeak.voice : "en-us",
    noiseScale: num(inference.noise_scale, 0.667),
    lengthScale: num(inference.length_scale, 1),
    noiseW: num(inference.noise_w, 0.8),
    numSpeakers: num((root as Record<string, unknown>).num_speakers, 1),
    phonemeIdMap: map as PhonemeIdMap,
  };
}

/** Options of {@linkcode PiperEngine.load}. */
export interface PiperEngineOptions {
  /** Path of the `.onnx` voice; its config is `<path>.json`. */
  readonly voicePath: string;
  /** Config path when it is not `<voicePath>.json`. */
  readonly configPath?: string;
  /** Speaker id of a multi-speaker voice; default 0. */
  readonly speaker?: number;
  /** The espeak-ng executable used for phonemes. */
  readonly espeakBin?: string;
  /** Called with phonemes the voice does not know (skipped). */
  readonly onMissingPhonemes?: (missing: ReadonlyMap<string, number>) => void;
}

/** A loaded Piper voice. */
export class PiperEngine implements SpeechEngine {
  readonly id: string;
  /** The parsed voice config. */
  readonly config: PiperVoiceConfig;
  readonly #session: ort.InferenceSession;
  readonly #options: PiperEngineOptions;
  #closed = false;

  private constructor(
    session: ort.InferenceSession,
    config: PiperVoiceConfig,
    options: PiperEngineOptions,
  ) {
    this.#session = session;
    this.config = config;
    this.#options = options;
    this.id = `piper:${options.voicePath}:${options.speaker ?? 0}`;
  }

  /**
   * Loads the voice and checks that the model has Piper's inputs.
   *
   * @throws an Error saying which file is missing or broken.
   */
  static async load(options: PiperEngineOptions): Promise<PiperEngine> {
    const configPath = options.configPath ?? `${options.voicePath}.json`;
    let configText: string;
    try {
      configText = await Deno.readTextFile(configPath);
    } catch (error) {
      throw new Error(
        `cannot read the Piper voice config ${configPath} (${(error as Error).message}); ` +
          "put the voice's .onnx.json beside PIPER_VOICE",
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(configText);
    } catch (error) {
      throw new Error(`${configPath} is not valid JSON: ${(error as Error).message}`);
    }
    const config = parsePiperConfig(json, configPath);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(options.voicePath, {
        intraOpNumThreads: 1,
        graphOptimizationLevel: "all",
      });
    } catch (error) {
      throw new Error(
        `cannot load the Piper voice ${options.voicePath}: ${(error as Error).message}`,
      );
    }
    const inputs = new Set(session.inputNames);
    for (const name of ["input", "input_lengths", "scales"]) {
      if (!inputs.has(name)) {
        await session.release();
        throw new Error(
          `${options.voicePath} is not a Piper voice: it has no input "${name}" ` +
            `(inputs: ${session.inputNames.join(", ")})`,
        );
      }
    }
    return new PiperEngine(session, config, options);
  }

  /** Phoneme ids of each sentence of `text`, as they are fed to the model. */
  async phonemeIds(text: string, signal?: AbortSignal): Promise<number[][]> {
    const sentences = await espeakIpaSentences(text, {
      voice: this.config.espeakVoice,
      bin: this.#options.espeakBin,
      signal,
    });
    return sentences.map((sentence) => {
      const { ids, missing } = phonemesToIds(sentence, this.config.phonemeIdMap);
      if (missing.size > 0) this.#options.onMissingPhonemes?.(missing);
      return ids;
    });
  }

  /**
   * Synthesizes `text` sentence by sentence and concatenates the audio.
   *
   * @throws {@linkcode SynthesisAborted} when `signal` aborts; an Error when the model fails.
   */
  async synthesize(text: string, signal?: AbortSignal): Promise<PcmAudio> {
    if (this.#closed) throw new Error("the Piper engine is closed");
    let sentences: number[][];
    try {
      sentences = await this.phonemeIds(text, signal);
    } catch (error) {
      if (signal?.aborted) throw new SynthesisAborted();
      throw error;
    }
    const parts: Int16Array[] = [];
    for (const ids of sentences) {
      if (signal?.aborted) throw new SynthesisAborted();
      parts.push(await this.#run(ids));
    }
    if (signal?.aborted) throw new SynthesisAborted();
    const total = parts.reduce((n, p) => n + p.length, 0);
    const samples = new Int16Array(total);
    let offset = 0;
    for (const part of parts) {
      samples.set(part, offset);
      offset += part.length;
    }
    return { sampleRate: this.config.sampleRate, samples };
  }

  async #run(ids: number[]): Promise<Int16Array> {
    const c = this.config;
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
      input_lengths: new ort.Tensor("int64", BigInt64Array.of(BigInt(ids.length)), [1]),
      scales: new ort.Tensor("float32", Float32Array.of(c.noiseScale, c.lengthScale, c.noiseW), [
        3,
      ]),
    };
    if (this.#session.inputNames.includes("sid")) {
      feeds.sid = new ort.Tensor("int64", BigInt64Array.of(BigInt(this.#options.speaker ?? 0)), [
        1,
      ]);
    }
    const results = await this.#session.run(feeds);
    const output = results[this.#session.outputNames[0]];
    try {
      if (output.type !== "float32") {
        throw new Error(`Piper output is ${output.type}, expected float32`);
      }
      return normalizeToPcm16(output.data as Float32Array);
    } finally {
      for (const tensor of Object.values(results)) tensor.dispose();
    }
  }

  /** Releases the ONNX session. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#session.release();
  }
}
