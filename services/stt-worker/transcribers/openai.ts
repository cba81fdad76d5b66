/**
 * {@linkcode OpenAiTranscriber}: any OpenAI-compatible `POST /audio/transcriptions`
 * (OpenAI, whisper.cpp server, faster-whisper servers), multipart WAV upload.
 *
 * @module
 */
import { BodyTooLargeError, readBodyLimited } from "../../../core/mod.ts";
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

/**
 * Largest transcription answer read, bytes: a `verbose_json` answer for a 30 s utterance is
 * a few KiB; a server that sends more is refused, not buffered.
 */
export const TRANSCRIPTION_RESPONSE_LIMIT = 1024 * 1024;

const encoder = new TextEncoder();

/** A name as a quoted-string of a part header, escaped as `FormData` does (WHATWG). */
function headerName(name: string): string {
  return name.replaceAll("\n", "%0A").replaceAll("\r", "%0D").replaceAll('"', "%22");
}

/**
 * A `multipart/form-data` body with text fields and one file, built as bytes (cheaper than
 * `FormData`, which goes through a `Blob` stream per request). The boundary is random, so no
 * value can end a part early; names are escaped as `FormData` escapes them, so none can add a
 * header.
 */
export function multipartBody(
  fields: Readonly<Record<string, string>>,
  file: {
    readonly field: string;
    readonly name: string;
    readonly type: string;
    readonly data: Uint8Array;
  },
): { body: Uint8Array<ArrayBuffer>; contentType: string } {
  if (/[\r\n]/.test(file.type)) {
    throw new Error(
      `Cannot build the upload: its type ${JSON.stringify(file.type)} has a line break`,
    );
  }
  const boundary = `----tars-${crypto.randomUUID()}`;
  let head = "";
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${headerName(name)}"` +
      `\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="${headerName(file.field)}"; ` +
    `filename="${headerName(file.name)}"\r\nContent-Type: ${file.type}\r\n\r\n`;
  const start = encoder.encode(head);
  const end = encoder.encode(`\r\n--${boundary}--\r\n`);
  const body = new Uint8Array(start.length + file.data.length + end.length);
  body.set(start);
  body.set(file.data, start.length);
  body.set(end, start.length + file.data.length);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
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
    const fields: Record<string, string> = {
      model: this.#o.model,
      response_format: this.#o.responseFormat,
      temperature: "0",
    };
    if (this.#o.language) fields.language = this.#o.language;
    const { body: upload, contentType } = multipartBody(fields, {
      field: "file",
      name: "utterance.wav",
      type: "audio/wav",
      data: encodeWav(pcm, SAMPLE_RATE),
    });
    const headers: Record<string, string> = { "content-type": contentType };
    if (this.#o.apiKey) headers.authorization = `Bearer ${this.#o.apiKey}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        body: upload,
        headers,
        signal: timeoutSignal(this.#o.timeoutMs, options.signal),
      });
    } catch (error) {
      const reason = (error as Error).name === "TimeoutError"
        ? `no answer within ${this.#o.timeoutMs} ms (OPENAI_TIMEOUT_S)`
        : (error as Error).message;
      throw new Error(`openai transcription at ${url} failed: ${reason}; check OPENAI_BASE_URL`);
    }
    let body: string;
    try {
      body = new TextDecoder().decode(
        await readBodyLimited(response, TRANSCRIPTION_RESPONSE_LIMIT),
      );
    } catch (error) {
      const reason = error instanceof BodyTooLargeError
        ? `answered more than ${TRANSCRIPTION_RESPONSE_LIMIT} bytes`
        : (error as Error).name === "TimeoutError"
        ? `sent no whole answer within ${this.#o.timeoutMs} ms (OPENAI_TIMEOUT_S)`
        : `broke off its answer (${(error as Error).message})`;
      throw new Error(`openai transcription at ${url} ${reason}; check OPENAI_BASE_URL`);
    }
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
