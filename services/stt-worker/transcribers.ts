/**
 * Transcribers (STT_BACKEND), one {@linkcode Transcriber} interface:
 * - {@linkcode OpenAiTranscriber}: any OpenAI-compatible `POST /audio/transcriptions`
 *   (OpenAI, whisper.cpp server, faster-whisper servers), multipart WAV upload;
 * - {@linkcode WsTranscriber}: py-tars' stt-ws protocol (init, one binary PCM frame, end →
 *   final);
 * - {@linkcode SherpaTranscriber}: a local Whisper or Moonshine model directory via
 *   sherpa-onnx-node. Nothing is downloaded at run time.
 *
 * Confidence comes from the recogniser (mean token probability), never from Whisper's
 * language probability as in py-tars.
 *
 * @module
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { encodeWav, pcm16ToFloat } from "../../lib/audio/mod.ts";
import { SAMPLE_RATE } from "./pcm.ts";
import { checkSherpaModelFiles } from "./sherpa_model_check.ts";

/** A transcription. */
export interface Transcript {
  /** The text, trimmed. */
  readonly text: string;
  /** Confidence 0..1 from the recogniser, null when it gives none. */
  readonly confidence: number | null;
  /** Whisper's mean no-speech probability, when known. */
  readonly noSpeechProb?: number | null;
  /** Whisper's mean log probability, when known. */
  readonly avgLogprob?: number | null;
  /** Language the recogniser reports, when known. */
  readonly language?: string | null;
}

/** Options of one transcription. */
export interface TranscribeOptions {
  /** Cancels the request. */
  readonly signal?: AbortSignal;
  /** A partial (the utterance is still in progress). */
  readonly partial?: boolean;
}

/** Speech to text for one utterance of PCM16LE mono 16 kHz. */
export interface Transcriber {
  /** "openai", "ws" or "sherpa". */
  readonly name: string;
  /** Transcribes `pcm`. Rejects with an error naming the backend and what to check. */
  transcribe(pcm: Uint8Array, options?: TranscribeOptions): Promise<Transcript>;
  /** Frees resources. */
  close(): Promise<void>;
}

/** A probability from a mean log probability, clamped to 0..1. */
export function probabilityFromLogprob(logprob: number): number {
  return Math.min(1, Math.max(0, Math.exp(logprob)));
}

function mean(values: readonly number[]): number | null {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

function timeoutSignal(timeoutMs: number, outer?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return outer ? AbortSignal.any([outer, timeout]) : timeout;
}

/** Options of {@linkcode OpenAiTranscriber}. */
export interface OpenAiTranscriberOptions {
  /** Base URL up to `/v1` (OPENAI_BASE_URL). */
  readonly baseUrl: string;
  /** Bearer key (OPENAI_API_KEY); "" sends none (local servers). */
  readonly apiKey: string;
  /** Model name (OPENAI_STT_MODEL). */
  readonly model: string;
  /** Language hint (STT_LANGUAGE). */
  readonly language: string;
  /** `verbose_json` (segments with log probabilities) or `json`. */
  readonly responseFormat: "json" | "verbose_json";
  /** Per request, ms. */
  readonly timeoutMs: number;
}

/** Any OpenAI-compatible `/audio/transcriptions` endpoint. */
export class OpenAiTranscriber implements Transcriber {
  /** Always "openai". */
  readonly name = "openai";
  readonly #o: OpenAiTranscriberOptions;

  /** @param options endpoint and model. */
  constructor(options: OpenAiTranscriberOptions) {
    this.#o = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, "") };
  }

  /** Uploads the utterance as a WAV file. */
  async transcribe(pcm: Uint8Array, options: TranscribeOptions = {}): Promise<Transcript> {
    const url = `${this.#o.baseUrl}/audio/transcriptions`;
    const form = new FormData();
    form.append(
      "file",
      new Blob([encodeWav(pcm, SAMPLE_RATE) as Uint8Array<ArrayBuffer>], { type: "audio/wav" }),
      "utterance.wav",
    );
    form.append("model", this.#o.model);
    form.append("response_format", this.#o.responseFormat);
    form.append("temperature", "0");
    if (this.#o.language) form.append("language", this.#o.language);
    const headers: Record<string, string> = {};
    if (this.#o.apiKey) headers.authorization = `Bearer ${this.#o.apiKey}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        body: form,
        headers,
        signal: timeoutSignal(this.#o.timeoutMs, options.signal),
      });
    } catch (error) {
      const reason = (error as Error).name === "TimeoutError"
        ? `no answer within ${this.#o.timeoutMs} ms (OPENAI_TIMEOUT_S)`
        : (error as Error).message;
      throw new Error(`openai transcription at ${url} failed: ${reason}; check OPENAI_BASE_URL`);
    }
    const body = await response.text();
    if (!response.ok) {
      const hint = response.status === 401 || response.status === 403
        ? "check OPENAI_API_KEY"
        : response.status === 404
        ? "check OPENAI_BASE_URL (it should end in /v1) and OPENAI_STT_MODEL"
        : "the server refused the request";
      throw new Error(
        `openai transcription at ${url} answered HTTP ${response.status}: ` +
          `${body.slice(0, 200)}; ${hint}`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new Error(`openai transcription at ${url} did not answer JSON: ${body.slice(0, 200)}`);
    }
    return parseOpenAiTranscription(json);
  }

  /** Nothing to free. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Reads an OpenAI transcription response: `json` (`{text}`, optionally `logprobs`) or
 * `verbose_json` (`segments` with `avg_logprob` and `no_speech_prob`).
 *
 * @throws Error when there is no `text` string.
 */
export function parseOpenAiTranscription(json: unknown): Transcript {
  const record = (json ?? {}) as Record<string, unknown>;
  if (typeof record.text !== "string") {
    throw new Error(
      `openai transcription response has no text: ${JSON.stringify(json).slice(0, 200)}`,
    );
  }
  let avgLogprob: number | null = null;
  let noSpeechProb: number | null = null;
  if (Array.isArray(record.segments)) {
    const segments = record.segments as Record<string, unknown>[];
    avgLogprob = mean(segments.map((s) => s.avg_logprob).filter((v) => typeof v === "number"));
    noSpeechProb = mean(
      segments.map((s) => s.no_speech_prob).filter((v) => typeof v === "number"),
    );
  } else if (Array.isArray(record.logprobs)) {
    avgLogprob = mean(
      (record.logprobs as Record<string, unknown>[]).map((t) => t.logprob).filter((v) =>
        typeof v === "number"
      ),
    );
  }
  return {
    text: record.text.trim(),
    confidence: avgLogprob === null ? null : probabilityFromLogprob(avgLogprob),
    avgLogprob,
    noSpeechProb,
    language: typeof record.language === "string" ? record.language : null,
  };
}

/** Options of {@linkcode WsTranscriber}. */
export interface WsTranscriberOptions {
  /** The stt-ws endpoint (WS_URL), e.g. ws://host:9000/stt. */
  readonly url: string;
  /** Language (STT_LANGUAGE). */
  readonly language: string;
  /** Per utterance, ms. */
  readonly timeoutMs: number;
}

/** py-tars' stt-ws protocol, one WebSocket per utterance. */
export class WsTranscriber implements Transcriber {
  /** Always "ws". */
  readonly name = "ws";
  readonly #o: WsTranscriberOptions;

  /** @param options endpoint. */
  constructor(options: WsTranscriberOptions) {
    this.#o = options;
  }

  /** init → PCM → end → final. */
  transcribe(pcm: Uint8Array, options: TranscribeOptions = {}): Promise<Transcript> {
    const { url, language, timeoutMs } = this.#o;
    return new Promise<Transcript>((resolve, reject) => {
      let settled = false;
      let socket: WebSocket;
      try {
        socket = new WebSocket(url);
      } catch (error) {
        reject(new Error(`ws transcription: bad WS_URL ${url}: ${(error as Error).message}`));
        return;
      }
      socket.binaryType = "arraybuffer";
      const finish = (error: Error | null, result?: Transcript) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        try {
          socket.close();
        } catch { /* closing anyway */ }
        if (error) reject(error);
        else resolve(result!);
      };
      const timer = setTimeout(
        () => finish(new Error(`ws transcription at ${url}: no final within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onAbort = () => finish(new Error("ws transcription aborted"));
      options.signal?.addEventListener("abort", onAbort, { once: true });
      socket.onopen = () => {
        socket.send(JSON.stringify({
          type: "init",
          sample_rate: SAMPLE_RATE,
          lang: language,
          enable_partials: false,
        }));
        socket.send(pcm);
        socket.send(JSON.stringify({ type: "end" }));
      };
      socket.onmessage = (event) => {
        if (typeof event.data !== "string") return;
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(event.data);
        } catch {
          return; // not ours; keep waiting
        }
        if (message.type === "final") {
          const confidence = typeof message.confidence === "number" &&
              message.confidence >= 0 && message.confidence <= 1
            ? message.confidence
            : null;
          finish(null, {
            text: String(message.text ?? "").trim(),
            confidence,
            language: typeof message.lang === "string" ? message.lang : null,
          });
        } else if (message.type === "error") {
          finish(
            new Error(
              `ws transcription at ${url}: server error ${
                String(message.error ?? message.message ?? "")
              }`,
            ),
          );
        }
      };
      socket.onerror = (event) => {
        const detail = (event as ErrorEvent).message ?? "connection error";
        finish(new Error(`ws transcription at ${url} failed: ${detail}; check WS_URL`));
      };
      socket.onclose = (event) => {
        finish(
          new Error(
            `ws transcription at ${url}: closed (${event.code}) before a final; check WS_URL`,
          ),
        );
      };
    });
  }

  /** Nothing to free. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

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
