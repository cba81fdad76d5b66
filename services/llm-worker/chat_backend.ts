/**
 * The chat backend: one small interface ({@linkcode ChatBackend}) and its implementation on
 * npm:openai's chat completions API, which serves OpenAI, Ollama, llama.cpp server, vLLM and
 * every other OpenAI-compatible endpoint. Errors come out as {@linkcode LlmError}s that say
 * whether a retry may help; {@linkcode completeWithRetry} retries those with backoff within a
 * deadline, honouring `retry-after`.
 *
 * @module
 */
import OpenAI from "openai";
import { ExponentialBackoff, redactText } from "../../core/mod.ts";

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

/** Options of {@linkcode OpenAIChatBackend}. */
export interface OpenAIChatBackendOptions {
  /** API key; local servers accept any (a placeholder is sent when absent). */
  readonly apiKey?: string;
  /** Base URL of the API (`.../v1`); default OpenAI's. */
  readonly baseUrl?: string;
  /** Abort an attempt when no byte arrived for this long, ms (first token included). */
  readonly timeoutMs: number;
}

const OPENAI_BASE_URL = "https://api.openai.com/v1";

/** {@linkcode ChatBackend} on npm:openai's chat completions (streaming and not). */
export class OpenAIChatBackend implements ChatBackend {
  /** Provider name. */
  readonly provider = "openai";
  /** Where requests go. */
  readonly baseUrl: string;
  readonly #client: OpenAI;
  readonly #timeoutMs: number;

  /** Creates the backend (no network traffic yet). */
  constructor(options: OpenAIChatBackendOptions) {
    this.baseUrl = options.baseUrl ?? OPENAI_BASE_URL;
    this.#timeoutMs = options.timeoutMs;
    this.#client = new OpenAI({
      apiKey: options.apiKey ?? "not-needed",
      baseURL: this.baseUrl,
      maxRetries: 0, // completeWithRetry retries, within a deadline
      timeout: options.timeoutMs,
    });
  }

  /** Runs one completion; see {@linkcode ChatBackend.complete}. */
  async complete(turn: ChatTurn, options: CompleteOptions = {}): Promise<ChatTurnResult> {
    if (options.signal?.aborted) throw new LlmCancelled();
    // One controller for the caller's cancel and our inactivity watchdog.
    const controller = new AbortController();
    let timedOut = false;
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.#timeoutMs);
    };
    const onCancel = () => controller.abort();
    options.signal?.addEventListener("abort", onCancel, { once: true });
    arm();
    try {
      const body = {
        model: turn.model,
        messages: turn.messages.map(toSdkMessage),
        max_tokens: turn.maxTokens,
        temperature: turn.temperature,
        top_p: turn.topP,
        ...(turn.tools && turn.tools.length > 0
          ? {
            tools: turn.tools.map((tool) => ({
              type: "function" as const,
              function: {
                name: tool.name,
                ...(tool.description ? { description: tool.description } : {}),
                parameters: tool.parameters,
              },
            })),
          }
          : {}),
      };
      if (!turn.stream) {
        const completion = await this.#client.chat.completions.create(
          { ...body, stream: false },
          { signal: controller.signal },
        );
        const choice = completion.choices[0];
        const toolCalls: ChatToolCall[] = [];
        for (const call of choice?.message?.tool_calls ?? []) {
          if (call.type === "function") {
            toolCalls.push({
              id: call.id,
              name: call.function.name,
              arguments: call.function.arguments,
            });
          }
        }
        return {
          content: choice?.message?.content ?? "",
          toolCalls,
          finishReason: choice?.finish_reason ?? null,
          usage: usageOf(completion.usage),
          model: completion.model || turn.model,
        };
      }
      const stream = await this.#client.chat.completions.create(
        { ...body, stream: true },
        { signal: controller.signal },
      );
      arm();
      let content = "";
      let finishReason: string | null = null;
      let model = turn.model;
      let usage: Record<string, number> | undefined;
      const calls: Array<{ id: string; name: string; arguments: string }> = [];
      for await (const chunk of stream) {
        arm();
        if (chunk.model) model = chunk.model;
        if (chunk.usage) usage = usageOf(chunk.usage);
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        const delta = choice.delta;
        if (delta?.content) {
          content += delta.content;
          await options.onDelta?.(delta.content);
        }
        for (const fragment of delta?.tool_calls ?? []) {
          const slot = calls[fragment.index] ??= { id: "", name: "", arguments: "" };
          if (fragment.id) slot.id = fragment.id;
          if (fragment.function?.name) slot.name += fragment.function.name;
          if (fragment.function?.arguments) slot.arguments += fragment.function.arguments;
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
      // An aborted stream may end the loop quietly instead of throwing.
      if (controller.signal.aborted) throw abortError(timedOut, options.signal, this.#timeoutMs);
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
    } catch (error) {
      if (error instanceof LlmError || error instanceof LlmCancelled) throw error;
      if (controller.signal.aborted) throw abortError(timedOut, options.signal, this.#timeoutMs);
      throw toLlmError(error, this.baseUrl);
    } finally {
      clearTimeout(watchdog);
      options.signal?.removeEventListener("abort", onCancel);
    }
  }
}

function usageOf(
  usage: OpenAI.Completions.CompletionUsage | null | undefined,
): Record<string, number> | undefined {
  if (!usage) return undefined;
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.total_tokens,
  };
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

function toSdkMessage(message: ChatMessage): OpenAI.Chat.Completions.ChatCompletionMessageParam {
  switch (message.role) {
    case "system":
    case "user":
      return { role: message.role, content: message.content };
    case "assistant":
      return {
        role: "assistant",
        content: message.content,
        ...(message.toolCalls && message.toolCalls.length > 0
          ? {
            tool_calls: message.toolCalls.map((call) => ({
              id: call.id,
              type: "function" as const,
              function: { name: call.name, arguments: call.arguments },
            })),
          }
          : {}),
      };
    case "tool":
      return { role: "tool", tool_call_id: message.toolCallId, content: message.content };
  }
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
 * Turns an SDK or network error into an {@linkcode LlmError} with a helpful message that is
 * safe to publish: fixed text, the HTTP status and the base URL (credentials hidden), never
 * the provider's answer (kept in `detail` for the log).
 */
export function toLlmError(error: unknown, baseUrl: string): LlmError {
  const where = redactText(baseUrl);
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new LlmError(`LLM request to ${where} timed out (LLM_TIMEOUT_SEC)`, {
      retryable: true,
      cause: error,
    });
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new LlmError(
      `LLM endpoint unreachable at ${where}; check OPENAI_BASE_URL / LLM_BASE_URL ` +
        "and that the server is running",
      {
        retryable: true,
        cause: error,
        detail: error.cause instanceof Error ? error.cause.message : error.message,
      },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof OpenAI.APIError && typeof error.status === "number") {
    const status = error.status;
    const reason = (error.error as { message?: string } | undefined)?.message ?? message;
    return new LlmError(httpErrorMessage(status, where), {
      status,
      retryable: status === 408 || status === 409 || status === 429 || status >= 500,
      retryAfterMs: retryAfterMs(error.headers),
      cause: error,
      detail: reason,
    });
  }
  if (error instanceof OpenAI.APIError) {
    // An error event inside a stream: the provider's text again, so only in `detail`.
    return new LlmError(`LLM provider ${where} reported an error during the reply`, {
      retryable: false,
      cause: error,
      detail: message,
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
