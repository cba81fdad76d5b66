/**
 * {@linkcode OpenAiTranscriber}: any OpenAI-compatible `POST /audio/transcriptions`
 * (OpenAI, whisper.cpp server, faster-whisper servers), multipart WAV upload.
 *
 * @module
 */
import { encodeWav } from "../../../lib/audio/mod.ts";
import { SAMPLE_RATE } from "../pcm.ts";
import {
  mean,
  probabilityFromLogprob,
  type TranscribeOptions,
  type Transcriber,
  type Transcript,
} from "./transcriber.ts";

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
