/**
 * The chat backend: one small interface ({@linkcode ChatBackend}) and its implementation on
 * the OpenAI chat completions HTTP protocol (over `fetch`, with its own SSE reader), which
 * OpenAI, Ollama, llama.cpp server, vLLM and every other OpenAI-compatible endpoint speak. Errors come out as {@linkcode LlmError}s that say
 * whether a retry may help; {@linkcode completeWithRetry} retries those with backoff within a
 * deadline, honouring `retry-after`.
 *
 * @module
 */
import { ExponentialBackoff, redactText } from "../../core/mod.ts";
import { SseDecoder, SseLimitError } from "./sse.ts";
import {
  asRecord,
  httpError,
  parseJson,
  ProviderConnectionError,
  providerErrorText,
  ProviderHttpError,
  ProviderReplyError,
  ProviderStreamError,
  readAll,
  ReplyLimitError,
  requestBody,
  resultOf,
  streamErrorText,
  usageOf,
} from "./openai_wire.ts";

export {
  ProviderConnectionError,
  ProviderHttpError,
  ProviderReplyError,
  ProviderStreamError,
  ReplyLimitError,
} from "./openai_wire.ts";

/** A tool call the model made. */
export interface ChatToolCall {
  /** The call id the tool result must name. */
  readonly id: string;
  /** Function name. */
  readonly name: string;
  /** Arguments as JSON text (possibly invalid: models make mistakes). */
  readonly arguments: string;
}

/** One message of a conversation. */
export type ChatMessage =
  | { readonly role: "system" | "user"; readonly content: string }
  | {
    readonly role: "assistant";
    readonly content: string | null;
    readonly toolCalls?: readonly ChatToolCall[];
  }
  | { readonly role: "tool"; readonly toolCallId: string; readonly content: string };

/** A function the model may call. */
export interface ToolDefinition {
  /** Name (letters, digits, `_`, `-`; at most 64). */
  readonly name: string;
  /** What it does, for the model. */
  readonly description?: string;
  /** JSON schema of the arguments. */
  readonly parameters: Record<string, unknown>;
}

/** One completion call. */
export interface ChatTurn {
  /** Model name. */
  readonly model: string;
  /** The conversation so far. */
  readonly messages: readonly ChatMessage[];
  /** Completion token limit. */
  readonly maxTokens: number;
  /** Sampling temperature. */
  readonly temperature: number;
  /** Nucleus sampling. */
  readonly topP: number;
  /** Tools offered (none when empty or absent). */
  readonly tools?: readonly ToolDefinition[];
  /** Stream the reply (deltas go to `onDelta`). */
  readonly stream: boolean;
}

/** Options of {@linkcode ChatBackend.complete}. */
export interface CompleteOptions {
  /** Aborts the HTTP request or stream at once (llm/cancel). */
  readonly signal?: AbortSignal;
  /** Called with each content delta of a streamed reply, in order (awaited). */
  readonly onDelta?: (text: string) => void | Promise<void>;
}

/** The outcome of one completion call. */
export interface ChatTurnResult {
  /** The whole content (joined deltas when streaming). */
  readonly content: string;
  /** Tool calls (streamed fragments joined). */
  readonly toolCalls: readonly ChatToolCall[];
  /** `finish_reason`, when the server sent one. */
  readonly finishReason: string | null;
  /** Token usage, when the server sent it. */
  readonly usage?: Readonly<Record<string, number>>;
  /** The model that answered. */
  readonly model: string;
}

/** A chat completion backend. */
export interface ChatBackend {
  /** Provider name for llm/response (`openai`). */
  readonly provider: string;
  /** Runs one completion. Rejects with {@linkcode LlmError} (or {@linkcode LlmCancelled}). */
  complete(turn: ChatTurn, options?: CompleteOptions): Promise<ChatTurnResult>;
}

/**
 * A failed completion, with a message fit for the user and whether a retry may help. The
 * message is built from fixed text, the HTTP status and the configured base URL only: it
 * never contains what the provider answered (an error body may echo the API key). That text
 * is in `detail`, for the log only (the log pipeline redacts it).
 */
export class LlmError extends Error {
  /** HTTP status, when there was a response. */
  readonly status?: number;
  /** Whether retrying may help (429, 5xx, connection errors, timeouts). */
  readonly retryable: boolean;
  /** The server's `retry-after`, ms. */
  readonly retryAfterMs?: number;
  /** The provider's own error text: for the log only, never published. */
  readonly detail?: string;

  /** Creates the error. */
  constructor(
    message: string,
    options: {
      status?: number;
      retryable: boolean;
      retryAfterMs?: number;
      cause?: unknown;
      detail?: string;
    },
  ) {
    super(message, { cause: options.cause });
    this.name = "LlmError";
    this.status = options.status;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.detail = options.detail;
  }
}

/** The request was cancelled (llm/cancel or shutdown); nothing more should be published. */
export class LlmCancelled extends Error {
  /** Creates the error. */
  constructor() {
    super("LLM request cancelled");
    this.name = "LlmCancelled";
  }
}

/** Size limits of a reply: a broken or hostile server must not make the worker buffer without bound. */
export interface ReplyLimits {
  /** Longest line or event of a streamed reply, bytes; default 1 MiB. */
  readonly maxEventBytes?: number;
  /**
   * Largest reply, bytes: a non-streamed response body, or all the bytes of a streamed one
   * (every event, [DONE] and what follows it); default 8 MiB. Error bodies are read up to
   * 64 KiB (the rest is dropped).
   */
  readonly maxReplyBytes?: number;
}

/** Options of {@linkcode OpenAIChatBackend}. */
export interface OpenAIChatBackendOptions {
  /** API key; local servers accept any (a placeholder is sent when absent). */
  readonly apiKey?: string;
  /** Base URL of the API (`.../v1`); default OpenAI's. */
  readonly baseUrl?: string;
  /**
   * Abort an attempt when nothing arrived for this long, ms: no answer, no event of a streamed
   * reply (the first token included), or, not streamed, not the whole reply.
   */
  readonly timeoutMs: number;
  /** Size limits of a reply (defaults fit any chat reply). */
  readonly limits?: ReplyLimits;
}

const OPENAI_BASE_URL = "https://api.openai.com/v1";
const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;
const DEFAULT_MAX_REPLY_BYTES = 8 * 1024 * 1024;
/** Tool-call slots a streamed reply may fill (`index` 0..MAX-1). */
const MAX_TOOL_CALLS = 128;
/** After `[DONE]`, how long the end of the HTTP body is awaited (so the connection is reused). */
const DONE_GRACE_MS = 1_000;

/**
 * {@linkcode ChatBackend} speaking the OpenAI chat completions protocol over `fetch`:
 * `POST <baseUrl>/chat/completions` with a bearer token, the reply as JSON or, streamed, as
 * server-sent events (`data: {chunk}` ... `data: [DONE]`), read incrementally within
 * {@linkcode ReplyLimits}. An attempt is aborted when no event arrived for `timeoutMs`.
 */
export class OpenAIChatBackend implements ChatBackend {
  /** Provider name. */
  readonly provider = "openai";
  /** Where requests go. */
  readonly baseUrl: string;
  readonly #url: string;
  readonly #authorization: string;
  readonly #timeoutMs: number;
  readonly #maxEventBytes: number;
  readonly #maxReplyBytes: number;

  /** Creates the backend (no network traffic yet). */
  constructor(options: OpenAIChatBackendOptions) {
    this.baseUrl = options.baseUrl ?? OPENAI_BASE_URL;
    this.#url = `${this.baseUrl.replace(/\/+$/, "")}/chat/completions`;
    this.#authorization = `Bearer ${options.apiKey ?? "not-needed"}`;
    this.#timeoutMs = options.timeoutMs;
    this.#maxEventBytes = options.limits?.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.#maxReplyBytes = options.limits?.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  }

  /** Runs one completion; see {@linkcode ChatBackend.complete}. */
  async complete(turn: ChatTurn, options: CompleteOptions = {}): Promise<ChatTurnResult> {
    if (options.signal?.aborted) throw new LlmCancelled();
    // One controller for the caller's cancel and our inactivity watchdog.
    const controller = new AbortController();
    const watchdog = new Watchdog(this.#timeoutMs, () => controller.abort());
    const onCancel = () => controller.abort();
    options.signal?.addEventListener("abort", onCancel, { once: true });
    const abort = () => abortError(watchdog.fired, options.signal, this.#timeoutMs);
    let finished = false;
    watchdog.arm();
    try {
      let response: Response;
      try {
        response = await fetch(this.#url, {
          method: "POST",
          headers: {
            "authorization": this.#authorization,
            "content-type": "application/json",
            "accept": turn.stream ? "text/event-stream" : "application/json",
          },
          body: JSON.stringify(requestBody(turn)),
          signal: controller.signal,
        });
      } catch (error) {
        if (controller.signal.aborted) throw abort();
        throw new ProviderConnectionError("connect", error);
      }
      if (!response.ok) throw await httpError(response);
      if (!response.body) throw new ProviderReplyError("", undefined);
      const contentType = response.headers.get("content-type") ?? "";
      let result: ChatTurnResult;
      if (turn.stream && !/^application\/json\b/i.test(contentType)) {
        watchdog.arm();
        const reader = response.body.getReader();
        result = await this.#readStream(reader, turn, options, watchdog, controller.signal);
        if (options.signal?.aborted) throw abort();
      } else {
        const completion = resultOf(
          parseJson(await readAll(response, this.#maxReplyBytes)),
          turn.model,
        );
        // A server that ignored `stream: true` answered in one piece: one delta.
        if (turn.stream && completion.content) await options.onDelta?.(completion.content);
        if (controller.signal.aborted) throw abort();
        result = completion;
      }
      finished = true;
      return result;
    } catch (error) {
      if (error instanceof LlmError || error instanceof LlmCancelled) throw error;
      // An error status is the answer, even when its body did not come in time; anything else
      // after an abort is the abort (the caller's cancel or the watchdog).
      const answered = error instanceof ProviderHttpError && !options.signal?.aborted;
      if (controller.signal.aborted && !answered) throw abort();
      throw toLlmError(error, this.baseUrl);
    } finally {
      watchdog.clear();
      options.signal?.removeEventListener("abort", onCancel);
      // Whatever is left of the body is not wanted: close the connection.
      if (!finished) controller.abort();
    }
  }

  /** Reads a streamed reply: SSE events of `chat.completion.chunk`s until `[DONE]` or the end. */
  async #readStream(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    turn: ChatTurn,
    options: CompleteOptions,
    watchdog: Watchdog,
    signal: AbortSignal,
  ): Promise<ChatTurnResult> {
    const decoder = new SseDecoder({ maxEventBytes: this.#maxEventBytes });
    let content = "";
    let size = 0;
    let finishReason: string | null = null;
    let model = turn.model;
    let usage: Record<string, number> | undefined;
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    let sawDone = false;
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (error) {
        // The reply was complete at [DONE]: whatever broke after it (the grace time ran out,
        // the connection was reset) loses nothing.
        if (sawDone) break;
        if (signal.aborted) throw error;
        throw new ProviderConnectionError("read", error);
      }
      if (next.done) break;
      size += next.value.length;
      if (size > this.#maxReplyBytes) throw new ReplyLimitError(this.#maxReplyBytes);
      for (const event of decoder.push(next.value)) {
        if (sawDone) continue; // the SDKs ignore anything after [DONE] too
        if (event.data === "[DONE]") {
          sawDone = true;
          watchdog.arm(Math.min(DONE_GRACE_MS, this.#timeoutMs));
          continue;
        }
        watchdog.arm();
        if (event.event === "error") throw new ProviderStreamError(streamErrorText(event.data));
        const chunk = asRecord(parseJson(event.data));
        if (chunk.error) throw new ProviderStreamError(providerErrorText(chunk.error));
        if (typeof chunk.model === "string" && chunk.model) model = chunk.model;
        if (chunk.usage) usage = usageOf(chunk.usage);
        const choice = Array.isArray(chunk.choices) ? asRecord(chunk.choices[0]) : {};
        const delta = asRecord(choice.delta);
        if (Array.isArray(delta.tool_calls)) {
          for (const item of delta.tool_calls) {
            const fragment = asRecord(item);
            const fn = asRecord(fragment.function);
            const index = Number.isInteger(fragment.index)
              ? fragment.index as number
              // No index (some servers): an id starts a new call, else the last one goes on.
              : fragment.id
              ? calls.length
              : Math.max(0, calls.length - 1);
            if (index < 0 || index >= MAX_TOOL_CALLS) continue;
            const slot = calls[index] ??= { id: "", name: "", arguments: "" };
            if (typeof fragment.id === "string" && fragment.id) slot.id = fragment.id;
            if (typeof fn.name === "string") slot.name += fn.name;
            if (typeof fn.arguments === "string") slot.arguments += fn.arguments;
          }
        }
        const text = typeof delta.content === "string" ? delta.content : "";
        if (text) {
          content += text;
          await options.onDelta?.(text);
          if (signal.aborted) throw signal.reason;
        }
        if (typeof choice.finish_reason === "string" && choice.finish_reason) {
          finishReason = choice.finish_reason;
        }
      }
    }
    // An aborted stream may end quietly instead of throwing.
    if (signal.aborted && !sawDone) throw signal.reason;
    return {
      content,
      toolCalls: calls.filter(Boolean).map((call, i) => ({
        id: call.id || `call_${i + 1}`,
        name: call.name,
        arguments: call.arguments,
      })),
      finishReason,
      usage,
      model,
    };
  }
}

/** The inactivity timer of one attempt: fires once unless re-armed in time. */
class Watchdog {
  /** Whether it fired. */
  fired = false;
  readonly #timeoutMs: number;
  readonly #onFire: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(timeoutMs: number, onFire: () => void) {
    this.#timeoutMs = timeoutMs;
    this.#onFire = onFire;
  }

  /** (Re)starts the timer: `ms` (default the timeout) from now. */
  arm(ms = this.#timeoutMs): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.fired = true;
      this.#onFire();
    }, ms);
  }

  /** Stops it. */
  clear(): void {
    clearTimeout(this.#timer);
  }
}

function abortError(
  timedOut: boolean,
  callerSignal: AbortSignal | undefined,
  timeoutMs: number,
): Error {
  if (callerSignal?.aborted || !timedOut) return new LlmCancelled();
  return new LlmError(
    `LLM request timed out: no data from the endpoint for ${timeoutMs / 1000} s (LLM_TIMEOUT_SEC)`,
    { retryable: true },
  );
}

/** Reads `retry-after-ms` / `retry-after` (seconds or an HTTP date), ms. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get("retry-after-ms"));
  if (headers.get("retry-after-ms") && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/**
 * Turns a failure of a request into an {@linkcode LlmError} with a helpful message that is
 * safe to publish: fixed text, the HTTP status and the base URL (credentials hidden), never
 * the provider's answer (kept in `detail` for the log). Knows the `Provider*Error`s above,
 * {@linkcode ReplyLimitError} and {@linkcode SseLimitError}; anything else is "failed (name)".
 */
export function toLlmError(error: unknown, baseUrl: string): LlmError {
  const where = redactText(baseUrl);
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ProviderHttpError) {
    const status = error.status;
    return new LlmError(httpErrorMessage(status, where), {
      status,
      retryable: status === 408 || status === 409 || status === 429 || status >= 500,
      retryAfterMs: retryAfterMs(error.headers),
      cause: error,
      detail: error.providerMessage,
    });
  }
  if (error instanceof ProviderStreamError) {
    // An error event inside a stream: the provider's text again, so only in `detail`.
    return new LlmError(`LLM provider ${where} reported an error during the reply`, {
      retryable: false,
      cause: error,
      detail: message,
    });
  }
  if (error instanceof ProviderConnectionError) {
    const detail = error.message;
    if (error.phase === "read") {
      return new LlmError(`LLM endpoint ${where} broke the connection during the reply`, {
        retryable: true,
        cause: error,
        detail,
      });
    }
    return new LlmError(
      `LLM endpoint unreachable at ${where}; check OPENAI_BASE_URL / LLM_BASE_URL ` +
        "and that the server is running",
      { retryable: true, cause: error, detail },
    );
  }
  if (error instanceof ReplyLimitError || error instanceof SseLimitError) {
    const what = error instanceof ReplyLimitError ? "a reply" : "a server-sent event";
    return new LlmError(
      `Cannot read the reply of LLM provider ${where}: it sent ${what} over ` +
        `${error.limitBytes} bytes; check that OPENAI_BASE_URL is an OpenAI-compatible API`,
      { retryable: false, cause: error },
    );
  }
  if (error instanceof ProviderReplyError) {
    return new LlmError(
      `Cannot read the reply of LLM provider ${where}: it is not JSON; check that ` +
        "OPENAI_BASE_URL is an OpenAI-compatible API",
      { retryable: false, cause: error, detail: message },
    );
  }
  if (error instanceof Error && error.name === "TimeoutError") {
    return new LlmError(`LLM request to ${where} timed out (LLM_TIMEOUT_SEC)`, {
      retryable: true,
      cause: error,
    });
  }
  const name = error instanceof Error ? error.name : typeof error;
  return new LlmError(`LLM request to ${where} failed (${name})`, {
    retryable: false,
    cause: error,
    detail: message,
  });
}

/** The user-safe text of an HTTP error of the provider: status and what to check. */
export function httpErrorMessage(status: number, where: string): string {
  if (status === 401 || status === 403) {
    return `LLM provider ${where} rejected the request (HTTP ${status}): check OPENAI_API_KEY`;
  }
  if (status === 404) {
    return `LLM provider ${where} answered HTTP 404: check LLM_MODEL and OPENAI_BASE_URL`;
  }
  if (status === 429) {
    return `LLM provider ${where} is rate-limiting requests (HTTP 429); try again later`;
  }
  if (status >= 500) return `LLM provider ${where} failed (HTTP ${status}); try again later`;
  return `LLM provider ${where} rejected the request (HTTP ${status})`;
}

/** Options of {@linkcode completeWithRetry}. */
export interface RetryOptions extends CompleteOptions {
  /** Stop retrying once this much time passed since the first attempt, ms (0 = no retry). */
  readonly deadlineMs: number;
  /** First backoff delay, ms. */
  readonly minDelayMs: number;
  /** Largest backoff delay, ms. */
  readonly maxDelayMs: number;
  /** Called before each retry (logging). */
  readonly onRetry?: (error: LlmError, delayMs: number, attempt: number) => void;
  /** Clock (tests). */
  readonly now?: () => number;
}

/**
 * Runs `backend.complete`, retrying retryable errors with exponential backoff (or the
 * server's `retry-after` when longer) while the next attempt would still start before the
 * deadline. A streamed attempt that already delivered deltas is never retried (the text is
 * out); its error is rethrown.
 */
export async function completeWithRetry(
  backend: ChatBackend,
  turn: ChatTurn,
  options: RetryOptions,
): Promise<ChatTurnResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const backoff = new ExponentialBackoff({
    minMs: options.minDelayMs,
    maxMs: options.maxDelayMs,
  });
  for (let attempt = 1;; attempt++) {
    let delivered = false;
    try {
      return await backend.complete(turn, {
        signal: options.signal,
        onDelta: (text) => {
          delivered = true;
          return options.onDelta?.(text);
        },
      });
    } catch (error) {
      if (!(error instanceof LlmError) || !error.retryable || delivered) throw error;
      const delay = Math.max(backoff.next(), error.retryAfterMs ?? 0);
      if (now() + delay - started > options.deadlineMs) throw error;
      options.onRetry?.(error, delay, attempt);
      await abortableSleep(delay, options.signal);
    }
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new LlmCancelled());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new LlmCancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
