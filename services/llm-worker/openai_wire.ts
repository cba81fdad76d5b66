/**
 * The OpenAI chat completions protocol on the wire, for `OpenAIChatBackend`: the
 * request body, the reply objects read defensively (a server's JSON is untrusted), bodies read
 * within a size limit, and the errors a request can end with before they become
 * `LlmError`s (`toLlmError`).
 *
 * @module
 */
import { BodyTooLargeError, readBodyLimited } from "../../core/mod.ts";
import type { ChatMessage, ChatToolCall, ChatTurn, ChatTurnResult } from "./chat_backend.ts";

const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** The JSON body of a chat completions request, in OpenAI's wire form. */
export function requestBody(turn: ChatTurn): Record<string, unknown> {
  return {
    model: turn.model,
    messages: turn.messages.map(toWireMessage),
    max_tokens: turn.maxTokens,
    temperature: turn.temperature,
    top_p: turn.topP,
    ...(turn.tools && turn.tools.length > 0
      ? {
        tools: turn.tools.map((tool) => ({
          type: "function",
          function: {
            name: tool.name,
            ...(tool.description ? { description: tool.description } : {}),
            parameters: tool.parameters,
          },
        })),
      }
      : {}),
    stream: turn.stream,
  };
}

/** One message in OpenAI's wire form (`tool_calls`, `tool_call_id`). */
function toWireMessage(message: ChatMessage): Record<string, unknown> {
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
              type: "function",
              function: { name: call.name, arguments: call.arguments },
            })),
          }
          : {}),
      };
    case "tool":
      return { role: "tool", tool_call_id: message.toolCallId, content: message.content };
  }
}

/** The result of a non-streamed `chat.completion` object. */
export function resultOf(value: unknown, requestedModel: string): ChatTurnResult {
  const completion = asRecord(value);
  const choice = Array.isArray(completion.choices) ? asRecord(completion.choices[0]) : {};
  const message = asRecord(choice.message);
  const toolCalls: ChatToolCall[] = [];
  for (const item of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    const call = asRecord(item);
    const fn = asRecord(call.function);
    if (call.type !== "function" || typeof fn.name !== "string") continue;
    toolCalls.push({
      id: typeof call.id === "string" ? call.id : `call_${toolCalls.length + 1}`,
      name: fn.name,
      arguments: typeof fn.arguments === "string"
        ? fn.arguments
        : JSON.stringify(fn.arguments ?? {}),
    });
  }
  return {
    content: typeof message.content === "string" ? message.content : "",
    toolCalls,
    finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : null,
    usage: usageOf(completion.usage),
    model: typeof completion.model === "string" && completion.model
      ? completion.model
      : requestedModel,
  };
}

/** The token counts of a `usage` object (numbers only); `undefined` without one. */
export function usageOf(value: unknown): Record<string, number> | undefined {
  if (!value || typeof value !== "object") return undefined;
  const usage = value as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const key of ["prompt_tokens", "completion_tokens", "total_tokens"]) {
    if (typeof usage[key] === "number") out[key] = usage[key];
  }
  return out;
}

/** `value` when it is a JSON object, else `{}` (fields of untrusted JSON read safely). */
export function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

/** `JSON.parse`, failing with {@linkcode ProviderReplyError}. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ProviderReplyError(text, error);
  }
}

/** The provider's text of an error object (`{message}` or anything else as JSON). */
export function providerErrorText(error: unknown): string {
  if (typeof error === "string") return error;
  const message = asRecord(error).message;
  if (typeof message === "string") return message;
  return message !== undefined ? JSON.stringify(message) : JSON.stringify(error);
}

/**
 * The text of an SSE `event: error`: the provider's error object when its data is JSON, else
 * the data itself (some servers send plain text there).
 */
export function streamErrorText(data: string): string {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return data.trim() || "(no text)";
  }
  return providerErrorText(asRecord(value).error ?? value);
}

/**
 * Reads a whole reply as text, at most `limit` bytes (core's `readBodyLimited`: a
 * `content-length` over it is refused before reading, a longer chunked body is cancelled).
 * Throws {@linkcode ReplyLimitError} or, when the connection breaks,
 * {@linkcode ProviderConnectionError}.
 */
export async function readAll(response: Response, limit: number): Promise<string> {
  try {
    return new TextDecoder().decode(await readBodyLimited(response, limit));
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new ReplyLimitError(limit);
    throw new ProviderConnectionError("read", error);
  }
}

/** The {@linkcode ProviderHttpError} of a non-2xx answer (its body read up to 64 KiB). */
export async function httpError(response: Response): Promise<ProviderHttpError> {
  let text = "";
  if (response.body) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let size = 0;
    try {
      while (size < MAX_ERROR_BODY_BYTES) {
        const next = await reader.read();
        if (next.done) break;
        text += decoder.decode(next.value, { stream: true });
        size += next.value.length;
      }
    } catch {
      // What arrived is enough to say what went wrong.
    }
    // The rest of the body is not read: the caller closes the connection.
    text = (text + decoder.decode()).slice(0, MAX_ERROR_BODY_BYTES);
  }
  let message = text.trim() || `HTTP ${response.status} (no body)`;
  try {
    const body = JSON.parse(text);
    const error = asRecord(body).error;
    message = error !== undefined ? providerErrorText(error) : JSON.stringify(body);
  } catch {
    // Not JSON: the text itself.
  }
  return new ProviderHttpError(response.status, response.headers, message);
}

/** The provider answered with an HTTP error status. Its text is in `providerMessage`. */
export class ProviderHttpError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** Response headers (`retry-after`). */
  readonly headers: Headers;
  /** What the provider said (`error.message` of its JSON body, or the body's text). */
  readonly providerMessage: string;

  /** Creates the error. */
  constructor(status: number, headers: Headers, providerMessage: string) {
    super(`HTTP ${status}: ${providerMessage}`);
    this.name = "ProviderHttpError";
    this.status = status;
    this.headers = headers;
    this.providerMessage = providerMessage;
  }
}

/** The provider sent an error event (`event: error` or `{"error": ...}`) inside a stream. */
export class ProviderStreamError extends Error {
  /** Creates the error from the provider's text. */
  constructor(providerMessage: string) {
    super(providerMessage);
    this.name = "ProviderStreamError";
  }
}

/** The connection failed: before an answer came (`connect`) or while reading it (`read`). */
export class ProviderConnectionError extends Error {
  /** When it failed. */
  readonly phase: "connect" | "read";

  /** Creates the error; `cause` is what `fetch` or the body reader threw. */
  constructor(phase: "connect" | "read", cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "ProviderConnectionError";
    this.phase = phase;
  }
}

/** The provider's reply (or one event of it) is not JSON. */
export class ProviderReplyError extends Error {
  /** Creates the error from the text that did not parse (kept, shortened, as the message). */
  constructor(text: string, cause: unknown) {
    super(`not JSON: ${text.slice(0, 200)}`, { cause });
    this.name = "ProviderReplyError";
  }
}

/** A reply passed `maxReplyBytes` of `ReplyLimits` (events: `SseLimitError`). */
export class ReplyLimitError extends Error {
  /** The limit, bytes. */
  readonly limitBytes: number;

  /** Creates the error. */
  constructor(limitBytes: number) {
    super(`the reply is over ${limitBytes} bytes`);
    this.name = "ReplyLimitError";
    this.limitBytes = limitBytes;
  }
}
