/**
 * A local HTTP server speaking the OpenAI chat completions protocol, for tests of
 * llm-worker, the router and the whole brain loop. It runs on `Deno.serve` on a free port of
 * 127.0.0.1 and answers `POST /v1/chat/completions` (and `GET /v1/models`):
 *
 * - non-streaming: a `chat.completion` JSON object with `usage`;
 * - streaming (`"stream": true`): `text/event-stream` lines `data: {chat.completion.chunk}`
 *   then `data: [DONE]` (plus a usage chunk when `stream_options.include_usage`);
 * - tool calls in both modes; streamed tool calls send the name first and the arguments in
 *   fragments, as OpenAI does;
 * - a required API key (`apiKey` option): a wrong or missing bearer token gets 401 whose
 *   message echoes the token sent, as some providers do (the request is still recorded);
 * - HTTP errors with OpenAI's `{error: {message, type, code}}` body (401, 429 with
 *   `retry-after`, 500, ...);
 * - a slow first token and a delay between chunks;
 * - each request is recorded, including whether the client went away before the reply was
 *   finished (an aborted stream).
 *
 * Replies are scripted per test: {@linkcode FakeOpenAI.enqueue} queues replies consumed one
 * per request in order; when the queue is empty {@linkcode FakeOpenAI.fallback} answers (by
 * default an echo of the last user message). A reply may also be a function of the request.
 *
 * ```ts
 * import { OpenAIChatBackend } from "../../services/llm-worker/chat_backend.ts";
 * import { fake, startFakeOpenAI } from "./llm_fake_openai.ts";
 * await using llm = await startFakeOpenAI();
 * llm.enqueue(fake.text(["Hello", " there."], { firstTokenDelayMs: 200 }));
 * llm.enqueue(fake.error(429, { retryAfterSec: 0.1 }));
 * const backend = new OpenAIChatBackend({ baseUrl: llm.baseURL, timeoutMs: 5_000 });
 * ```
 *
 * @module
 */

/** A tool call the fake model makes. */
export interface FakeToolCall {
  /** Call id; default `call_<n>`. */
  readonly id?: string;
  /** Function name. */
  readonly name: string;
  /** Arguments: an object (JSON-encoded) or the exact text to send. */
  readonly arguments: Record<string, unknown> | string;
}

/** Timing of a reply. */
export interface FakeTiming {
  /** Delay before the first chunk (streaming) or the whole response (non-streaming), ms. */
  readonly firstTokenDelayMs?: number;
  /** Delay between chunks (streaming), ms. */
  readonly chunkDelayMs?: number;
}

/** A text reply: the chunks of a stream (joined for a non-streaming request). */
export interface FakeTextReply extends FakeTiming {
  /** Discriminator. */
  readonly kind: "text";
  /** The content chunks, in order. */
  readonly chunks: readonly string[];
  /** `finish_reason`; default `stop`. */
  readonly finishReason?: string;
}

/** A reply calling tools (with optional content before the calls). */
export interface FakeToolCallsReply extends FakeTiming {
  /** Discriminator. */
  readonly kind: "tool_calls";
  /** The calls. */
  readonly calls: readonly FakeToolCall[];
  /** Content chunks streamed before the calls (default none). */
  readonly content?: readonly string[];
  /** Fragments each call's arguments are split into when streaming; default 3. */
  readonly argumentFragments?: number;
}

/** An HTTP error reply. */
export interface FakeErrorReply extends FakeTiming {
  /** Discriminator. */
  readonly kind: "error";
  /** HTTP status (401, 429, 500, ...). */
  readonly status: number;
  /** `error.message`. */
  readonly message?: string;
  /** Seconds sent in `retry-after` (429/503). */
  readonly retryAfterSec?: number;
}

/** A stream that sends some chunks and then breaks the connection (a mid-stream failure). */
export interface FakeBrokenStreamReply extends FakeTiming {
  /** Discriminator. */
  readonly kind: "broken";
  /** Chunks sent before the connection breaks. */
  readonly chunks: readonly string[];
}

/** One scripted reply. */
export type FakeReply = FakeTextReply | FakeToolCallsReply | FakeErrorReply | FakeBrokenStreamReply;

/** A reply or a function choosing one from the request. */
export type FakeResponder = FakeReply | ((request: RecordedRequest) => FakeReply);

/** What the server saw of one request. */
export interface RecordedRequest {
  /** 1-based number of the request. */
  readonly index: number;
  /** Request path, e.g. `/v1/chat/completions`. */
  readonly path: string;
  /** The parsed JSON body. */
  readonly body: ChatRequestBody;
  /** Request headers (lower-case names). */
  readonly headers: Readonly<Record<string, string>>;
  /** Whether the client asked for a stream. */
  readonly stream: boolean;
  /** When it arrived (`Date.now()`). */
  readonly receivedAt: number;
  /** Set once the reply was sent completely. */
  completed: boolean;
  /** Set when the client disconnected before the reply was complete. */
  aborted: boolean;
  /** Content chunks sent so far (streaming). */
  chunksSent: number;
  /**
   * Streaming: ms from the request's arrival to the first content chunk being sent (the
   * scripted `firstTokenDelayMs` plus the stand-in's own lateness); `null` until then.
   */
  firstChunkMs: number | null;
}

/** The parts of a chat completions request body the fake reads. */
export interface ChatRequestBody {
  /** Model name. */
  readonly model: string;
  /** The conversation. */
  readonly messages: ReadonlyArray<{
    role: string;
    content?: unknown;
    tool_calls?: unknown;
    tool_call_id?: string;
    name?: string;
  }>;
  /** Streaming? */
  readonly stream?: boolean;
  /** Tools offered. */
  readonly tools?: ReadonlyArray<{ type: string; function: { name: string } }>;
  /** Anything else (max_tokens, temperature, ...). */
  readonly [key: string]: unknown;
}

/** Builders of {@linkcode FakeReply} values. */
export const fake = {
  /** A text reply; a string is sent as one chunk per word (keeping the spaces). */
  text(content: string | readonly string[], timing: FakeTiming = {}): FakeTextReply {
    const chunks = typeof content === "string" ? content.match(/\s*\S+/g) ?? [""] : content;
    return { kind: "text", chunks, ...timing };
  },
  /** A reply calling tools. */
  toolCalls(
    calls: readonly FakeToolCall[],
    options: FakeTiming & { content?: readonly string[]; argumentFragments?: number } = {},
  ): FakeToolCallsReply {
    return { kind: "tool_calls", calls, ...options };
  },
  /** An HTTP error. */
  error(
    status: number,
    options: FakeTiming & { message?: string; retryAfterSec?: number } = {},
  ): FakeErrorReply {
    return { kind: "error", status, ...options };
  },
  /** A stream that breaks after `chunks`. */
  broken(chunks: readonly string[], timing: FakeTiming = {}): FakeBrokenStreamReply {
    return { kind: "broken", chunks, ...timing };
  },
} as const;

/** Options of {@linkcode startFakeOpenAI}. */
export interface FakeOpenAIOptions {
  /** Bearer token the server requires; a wrong or missing one gets 401. Default: any. */
  readonly apiKey?: string;
  /** Port; default a free one. */
  readonly port?: number;
}

/** A running fake server. Dispose it (`await using`) or call `close()`. */
export interface FakeOpenAI extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `http://127.0.0.1:<port>/v1`, the base URL of the API (OPENAI_BASE_URL). */
  readonly baseURL: string;
  /** Every request so far, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Queues replies, consumed one per chat completions request. */
  enqueue(...replies: FakeResponder[]): void;
  /** Answers when the queue is empty; default an echo of the last user message. */
  fallback: FakeResponder;
  /** Resolves with request number `index` (1-based) once it arrived. */
  waitForRequest(index: number, timeoutMs?: number): Promise<RecordedRequest>;
  /** Resolves once request `index` ended: `"completed"` or `"aborted"` by the client. */
  waitForEnd(index: number, timeoutMs?: number): Promise<"completed" | "aborted">;
  /** Stops the server, cutting open streams. Idempotent. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/** The text of the last user message of a request (the default echo). */
export function lastUserText(request: RecordedRequest): string {
  for (let i = request.body.messages.length - 1; i >= 0; i--) {
    const message = request.body.messages[i];
    if (message.role === "user") {
      return typeof message.content === "string"
        ? message.content
        : JSON.stringify(message.content);
    }
  }
  return "";
}

/** Starts the fake server on 127.0.0.1. */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = [];
  const queue: FakeResponder[] = [];
  const arrived: Array<() => void> = [];
  const ended = new Map<number, PromiseWithResolvers<"completed" | "aborted">>();
  const shutdown = new AbortController();
  let created = 0;

  const endOf = (index: number) => {
    let entry = ended.get(index);
    if (!entry) {
      entry = Promise.withResolvers();
      ended.set(index, entry);
    }
    return entry;
  };

  const state = {
    fallback:
      ((request: RecordedRequest) =>
        fake.text(`You said: ${lastUserText(request)}`)) as FakeResponder,
  };

  const handler = async (req: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    const url = new URL(req.url);
    if (req.method === "GET" && url.pathname === "/v1/models") {
      return Response.json({ object: "list", data: [{ id: "fake-model", object: "model" }] });
    }
    if (req.method !== "POST" || url.pathname !== "/v1/chat/completions") {
      return errorResponse(404, `Unknown path ${req.method} ${url.pathname}`, "invalid_request");
    }
    let body: ChatRequestBody;
    try {
      body = await req.json();
    } catch {
      return errorResponse(400, "We could not parse the JSON body of your request.", null);
    }
    if (typeof body?.model !== "string" || !Array.isArray(body.messages)) {
      return errorResponse(400, "'model' and 'messages' are required properties.", null);
    }
    const record: RecordedRequest = {
      index: requests.length + 1,
      path: url.pathname,
      body,
      headers: Object.fromEntries(req.headers),
      stream: body.stream === true,
      receivedAt: Date.now(),
      completed: false,
      aborted: false,
      chunksSent: 0,
      firstChunkMs: null,
    };
    const arrivedAt = performance.now();
    requests.push(record);
    for (const wake of arrived.splice(0)) wake();
    const finish = (how: "completed" | "aborted") => {
      if (record.completed || record.aborted) return;
      if (how === "completed") record.completed = true;
      else record.aborted = true;
      endOf(record.index).resolve(how);
    };
    // The client went away (or the server is closing): stop writing.
    const clientGone = new AbortController();
    info.completed.then(() => finish("completed"), () => clientGone.abort());
    const gone = AbortSignal.any([clientGone.signal, shutdown.signal]);
    gone.addEventListener("abort", () => finish("aborted"), { once: true });

    if (options.apiKey !== undefined) {
      const auth = req.headers.get("authorization");
      if (auth !== `Bearer ${options.apiKey}`) {
        finish("completed");
        // Like some providers, echo the key that was sent (a leak the worker must not pass on).
        const sent = auth?.replace(/^Bearer /, "") ?? "";
        return errorResponse(401, `Incorrect API key provided: ${sent}.`, "invalid_api_key");
      }
    }
    const responder = queue.shift() ?? state.fallback;
    const reply = typeof responder === "function" ? responder(record) : responder;
    const model = body.model;
    const id = `chatcmpl-fake${++created}`;

    if (reply.kind === "error") {
      if (!(await pause(reply.firstTokenDelayMs, gone))) return new Response(null, { status: 499 });
      const headers: Record<string, string> = {};
      if (reply.retryAfterSec !== undefined) headers["retry-after"] = String(reply.retryAfterSec);
      finish("completed");
      return errorResponse(
        reply.status,
        reply.message ?? defaultErrorMessage(reply.status),
        errorCode(reply.status),
        headers,
      );
    }

    if (!record.stream) {
      if (!(await pause(reply.firstTokenDelayMs, gone))) return new Response(null, { status: 499 });
      if (reply.kind === "broken") {
        finish("completed");
        return errorResponse(502, "upstream connection broke", null);
      }
      const content = reply.kind === "text"
        ? reply.chunks.join("")
        : (reply.content?.join("") || null);
      const toolCalls = reply.kind === "tool_calls"
        ? reply.calls.map((call, i) => ({
          id: call.id ?? `call_${i + 1}`,
          type: "function",
          function: { name: call.name, arguments: argumentText(call) },
        }))
        : undefined;
      finish("completed");
      return Response.json({
        id,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            content,
            refusal: null,
            ...(toolCalls ? { tool_calls: toolCalls } : {}),
          },
          logprobs: null,
          finish_reason: reply.kind === "tool_calls"
            ? "tool_calls"
            : (reply.finishReason ?? "stop"),
        }],
        usage: usage(body, content ?? ""),
        system_fingerprint: "fp_fake",
      });
    }

    // Streaming: headers at once, chunks as the script says.
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
      `data: ${
        JSON.stringify({
          id,
          object: "chat.completion.chunk",
          created: Math.floor(Date.now() / 1000),
          model,
          system_fingerprint: "fp_fake",
          choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
        })
      }\n\n`;
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)
      ?.include_usage === true;
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        // Client gone or server closing: end the response so nothing hangs.
        gone.addEventListener("abort", () => {
          try {
            controller.error(new Error("fake: stream ended early"));
          } catch {
            // already closed
          }
        }, { once: true });
        const send = (text: string) => {
          if (gone.aborted) return false;
          try {
            controller.enqueue(encoder.encode(text));
            return true;
          } catch {
            return false;
          }
        };
        try {
          if (!(await pause(reply.firstTokenDelayMs, gone))) return;
          if (!send(chunk({ role: "assistant", content: "", refusal: null }))) return;
          const texts = reply.kind === "tool_calls" ? reply.content ?? [] : reply.chunks;
          let first = true;
          let sentText = "";
          for (const text of texts) {
            if (!first && !(await pause(reply.chunkDelayMs, gone))) return;
            first = false;
            if (!send(chunk({ content: text }))) return;
            record.firstChunkMs ??= performance.now() - arrivedAt;
            record.chunksSent++;
            sentText += text;
          }
          if (reply.kind === "broken") {
            // Let the sent chunks reach the socket before breaking the connection.
            for (let i = 0; i < 100 && (controller.desiredSize ?? 1) < 1; i++) {
              await pause(5, gone);
            }
            await pause(50, gone);
            finish("completed");
            controller.error(new Error("fake: connection broken mid-stream"));
            return;
          }
          if (reply.kind === "tool_calls") {
            let i = 0;
            for (const call of reply.calls) {
              const args = argumentText(call);
              if (!first && !(await pause(reply.chunkDelayMs, gone))) return;
              first = false;
              const head = {
                index: i,
                id: call.id ?? `call_${i + 1}`,
                type: "function",
                function: { name: call.name, arguments: "" },
              };
              if (!send(chunk({ tool_calls: [head] }))) return;
              for (const fragment of fragments(args, reply.argumentFragments ?? 3)) {
                if (!(await pause(reply.chunkDelayMs, gone))) return;
                if (
                  !send(chunk({ tool_calls: [{ index: i, function: { arguments: fragment } }] }))
                ) {
                  return;
                }
              }
              i++;
            }
          }
          const finishReason = reply.kind === "tool_calls"
            ? "tool_calls"
            : (reply.finishReason ?? "stop");
          if (!send(chunk({}, finishReason))) return;
          if (includeUsage) {
            const usageChunk = {
              id,
              object: "chat.completion.chunk",
              created: Math.floor(Date.now() / 1000),
              model,
              choices: [],
              usage: usage(body, sentText),
            };
            if (!send(`data: ${JSON.stringify(usageChunk)}\n\n`)) return;
          }
          if (!send("data: [DONE]\n\n")) return;
          finish("completed");
          controller.close();
        } catch {
          // The stream was cancelled underneath us.
        }
      },
      cancel() {
        finish("aborted");
      },
    });
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-request-id": `req_fake${record.index}`,
      },
    });
  };

  const ready = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    signal: shutdown.signal,
    onListen: (addr) => ready.resolve(addr as Deno.NetAddr),
    onError: (error) => {
      return errorResponse(500, `fake server error: ${error}`, null);
    },
  }, handler);
  const addr = await ready.promise;
  const url = `http://127.0.0.1:${addr.port}`;
  let closed = false;

  const fakeServer: FakeOpenAI = {
    url,
    baseURL: `${url}/v1`,
    requests,
    get fallback() {
      return state.fallback;
    },
    set fallback(responder: FakeResponder) {
      state.fallback = responder;
    },
    enqueue(...replies) {
      queue.push(...replies);
    },
    async waitForRequest(index, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < index) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          throw new Error(`fake OpenAI: request ${index} did not arrive within ${timeoutMs} ms`);
        }
        const wake = Promise.withResolvers<void>();
        arrived.push(wake.resolve);
        const timer = setTimeout(wake.resolve, Math.min(remaining, 50));
        await wake.promise;
        clearTimeout(timer);
      }
      return requests[index - 1];
    },
    async waitForEnd(index, timeoutMs = 10_000) {
      await fakeServer.waitForRequest(index, timeoutMs);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`fake OpenAI: request ${index} did not end in ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([endOf(index).promise, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      shutdown.abort();
      await server.finished;
    },
    [Symbol.asyncDispose]() {
      return fakeServer.close();
    },
  };
  return fakeServer;
}

function argumentText(call: FakeToolCall): string {
  return typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments);
}

function fragments(text: string, parts: number): string[] {
  const n = Math.max(1, Math.min(parts, text.length || 1));
  const size = Math.ceil(text.length / n) || 1;
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [""];
}

function estimateTokens(text: string): number {
  return Math.ceil((text.match(/\S+/g)?.length ?? 0) * 1.3);
}

function usage(body: ChatRequestBody, completion: string) {
  const prompt = body.messages.map((m) => typeof m.content === "string" ? m.content : "").join(
    " ",
  );
  const prompt_tokens = estimateTokens(prompt);
  const completion_tokens = estimateTokens(completion);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

function defaultErrorMessage(status: number): string {
  switch (status) {
    case 401:
      return "Incorrect API key provided.";
    case 429:
      return "Rate limit reached for requests.";
    case 500:
      return "The server had an error while processing your request.";
    case 503:
      return "The engine is currently overloaded, please try again later.";
    default:
      return `HTTP ${status}`;
  }
}

function errorCode(status: number): string | null {
  switch (status) {
    case 401:
      return "invalid_api_key";
    case 429:
      return "rate_limit_exceeded";
    default:
      return null;
  }
}

function errorResponse(
  status: number,
  message: string,
  code: string | null,
  headers: Record<string, string> = {},
): Response {
  const type = status === 429
    ? "requests"
    : status >= 500
    ? "server_error"
    : "invalid_request_error";
  return Response.json({ error: { message, type, param: null, code } }, { status, headers });
}

/** Sleeps `ms` (nothing when 0/undefined); resolves `false` when `signal` aborts first. */
function pause(ms: number | undefined, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (!ms) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
