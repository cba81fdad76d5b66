/**
 * OpenAIChatBackend on the wire: a local `Deno.serve` server sends exactly the bytes a test
 * scripts (cut into chunks anywhere, delayed, stalled), so the backend's own SSE reading, its
 * size limits, its watchdog and its cancel are tested against the real HTTP protocol.
 */
import assert from "node:assert/strict";
import {
  type ChatTurn,
  type ChatTurnResult,
  LlmCancelled,
  LlmError,
  OpenAIChatBackend,
  type OpenAIChatBackendOptions,
  ProviderConnectionError,
  ProviderHttpError,
  ProviderReplyError,
  ProviderStreamError,
  ReplyLimitError,
  toLlmError,
} from "../../services/llm-worker/chat_backend.ts";
import { SseLimitError } from "../../services/llm-worker/sse.ts";

/** One step of a scripted body: bytes to send, or a pause. */
type Step = string | { readonly pauseMs: number };

/** What the server answers to one request. */
interface Script {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** The body, sent step by step (each string as one write). */
  readonly steps: readonly Step[];
  /** Keep the response open after the last step (a stalled server). */
  readonly stall?: boolean;
  /** Break the connection after the last step (the body never ends properly). */
  readonly breakAfter?: boolean;
}

interface ScriptedServer extends AsyncDisposable {
  readonly baseUrl: string;
  /** Bodies and headers of the requests, in order. */
  readonly requests: Array<{ headers: Record<string, string>; body: Record<string, unknown> }>;
  /** Resolves when the client closed the connection before the body was complete. */
  readonly clientGone: Promise<void>;
}

const encoder = new TextEncoder();

async function scriptedServer(script: Script): Promise<ScriptedServer> {
  const requests: ScriptedServer["requests"] = [];
  const gone = Promise.withResolvers<void>();
  const stop = new AbortController();
  const ready = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (addr) => ready.resolve(addr as Deno.NetAddr),
  }, async (req, info) => {
    requests.push({ headers: Object.fromEntries(req.headers), body: await req.json() });
    info.completed.catch(() => gone.resolve());
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        stop.signal.addEventListener("abort", () => {
          try {
            controller.close();
          } catch {
            // already closed
          }
        }, { once: true });
        try {
          for (const step of script.steps) {
            if (typeof step === "string") controller.enqueue(encoder.encode(step));
            else if (!(await pause(step.pauseMs, stop.signal))) return;
          }
          if (script.breakAfter) {
            // An errored stream drops what it still holds: let the server take every chunk and
            // write it out first.
            for (let i = 0; i < 100 && (controller.desiredSize ?? 1) < 1; i++) {
              await pause(5, stop.signal);
            }
            await pause(50, stop.signal);
            controller.error(new Error("scripted: connection broken"));
          } else if (!script.stall) controller.close();
        } catch {
          // The client went away.
        }
      },
      cancel() {
        gone.resolve();
      },
    });
    return new Response(body, {
      status: script.status ?? 200,
      headers: script.headers ?? { "content-type": "text/event-stream" },
    });
  });
  const addr = await ready.promise;
  return {
    baseUrl: `http://127.0.0.1:${addr.port}/v1`,
    requests,
    clientGone: gone.promise,
    async [Symbol.asyncDispose]() {
      stop.abort();
      await server.shutdown();
    },
  };
}

function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Fails instead of hanging when `promise` does not settle in `ms`. */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A `chat.completion.chunk` event line pair. */
function chunk(delta: Record<string, unknown>, finishReason: string | null = null): string {
  return `data: ${
    JSON.stringify({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      model: "wire-model",
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    })
  }\n\n`;
}

/** Splits text into one step per byte, with a pause between (separate TCP writes). */
function byteByByte(text: string): Step[] {
  const steps: Step[] = [];
  for (const ch of text) steps.push(ch, { pauseMs: 1 });
  return steps;
}

const turn = (stream: boolean, extra: Partial<ChatTurn> = {}): ChatTurn => ({
  model: "wire-model",
  messages: [{ role: "user", content: "hello" }],
  maxTokens: 32,
  temperature: 0.5,
  topP: 1,
  stream,
  ...extra,
});

function backendFor(
  server: ScriptedServer,
  options: Partial<OpenAIChatBackendOptions> = {},
): OpenAIChatBackend {
  return new OpenAIChatBackend({ baseUrl: server.baseUrl, timeoutMs: 5_000, ...options });
}

async function run(
  backend: OpenAIChatBackend,
  chatTurn: ChatTurn,
  signal?: AbortSignal,
): Promise<{ deltas: string[]; result?: ChatTurnResult; error?: unknown }> {
  const deltas: string[] = [];
  try {
    const result = await within(
      10_000,
      backend.complete(chatTurn, { signal, onDelta: (text) => void deltas.push(text) }),
      "the completion",
    );
    return { deltas, result };
  } catch (error) {
    return { deltas, error };
  }
}

Deno.test("wire: request = POST /chat/completions, bearer key, OpenAI's JSON body", async () => {
  await using server = await scriptedServer({
    headers: { "content-type": "application/json" },
    steps: [JSON.stringify({
      model: "wire-model",
      choices: [{ message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
    })],
  });
  const backend = backendFor(server, { apiKey: "sk-wire" });
  const { result } = await run(
    backend,
    turn(false, {
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "wave" },
        {
          role: "assistant",
          content: null,
          toolCalls: [{ id: "call_1", name: "move", arguments: '{"command":"wave"}' }],
        },
        { role: "tool", toolCallId: "call_1", content: '{"ok":true}' },
      ],
      tools: [{ name: "move", description: "Moves.", parameters: { type: "object" } }],
    }),
  );
  assert.equal(result?.content, "ok");
  const seen = server.requests[0];
  assert.equal(seen.headers.authorization, "Bearer sk-wire");
  assert.match(seen.headers["content-type"], /^application\/json/);
  assert.deepEqual(seen.body, {
    model: "wire-model",
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "wave" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_1",
          type: "function",
          function: { name: "move", arguments: '{"command":"wave"}' },
        }],
      },
      { role: "tool", tool_call_id: "call_1", content: '{"ok":true}' },
    ],
    max_tokens: 32,
    temperature: 0.5,
    top_p: 1,
    tools: [{
      type: "function",
      function: { name: "move", description: "Moves.", parameters: { type: "object" } },
    }],
    stream: false,
  });
});

Deno.test("wire: SSE arriving one byte at a time (multi-line data, tool fragments) decodes whole", async () => {
  const body = chunk({ role: "assistant", content: "" }) +
    chunk({ content: "Héllo" }) +
    // One event whose JSON is split over two data lines (joined with LF: still JSON).
    'data: {"choices":[{"index":0,\ndata: "delta":{"content":" wörld"}}]}\n\n' +
    chunk({
      tool_calls: [{ index: 0, id: "call_x", function: { name: "move", arguments: '{"co' } }],
    }) +
    chunk({ tool_calls: [{ index: 0, function: { arguments: 'mmand":"wave"}' } }] }) +
    chunk({}, "tool_calls") +
    "data: [DONE]\n\n";
  await using server = await scriptedServer({ steps: byteByByte(body) });
  const { deltas, result, error } = await run(backendFor(server), turn(true));
  assert.equal(error, undefined, String(error));
  assert.deepEqual(deltas, ["Héllo", " wörld"]);
  assert.equal(result?.content, "Héllo wörld");
  assert.deepEqual(result?.toolCalls, [
    { id: "call_x", name: "move", arguments: '{"command":"wave"}' },
  ]);
  assert.equal(result?.finishReason, "tool_calls");
  assert.equal(result?.model, "wire-model");
});

Deno.test("wire: CRLF and bare CR line ends, split between writes, end lines and events", async () => {
  const event = (json: string, eol: string) =>
    // The JSON split over two data lines: a decoder taking CR and LF of one CRLF as two line
    // ends would dispatch the first half alone.
    `data: ${json.slice(0, 10)}${eol}data: ${json.slice(10)}${eol}${eol}`;
  const text = (content: string) => JSON.stringify({ choices: [{ delta: { content } }] });
  const body = event(text("one"), "\r\n") + event(text(" two"), "\r") +
    event(JSON.stringify({ choices: [{ delta: {}, finish_reason: "stop" }] }), "\r\n") +
    "data: [DONE]\r\n\r\n";
  await using server = await scriptedServer({ steps: byteByByte(body) });
  const { deltas, result, error } = await run(backendFor(server), turn(true));
  assert.equal(error, undefined, String(error));
  assert.deepEqual(deltas, ["one", " two"]);
  assert.equal(result?.finishReason, "stop");
});

Deno.test("wire: comments (keep-alives), id/retry and unknown fields are skipped", async () => {
  await using server = await scriptedServer({
    steps: [
      ": OPENROUTER PROCESSING\n\n",
      "retry: 3000\n",
      ":keep-alive\n",
      "id: 7\n",
      "x-vendor: whatever\n",
      chunk({ content: "Hi" }),
      ": ping\n\n",
      "event: message\n" + chunk({ content: "!" }),
      chunk({}, "stop"),
      "data: [DONE]\n\n",
    ],
  });
  const { deltas, result, error } = await run(backendFor(server), turn(true));
  assert.equal(error, undefined, String(error));
  assert.deepEqual(deltas, ["Hi", "!"]);
  assert.equal(result?.content, "Hi!");
});

Deno.test("wire: a stream that ends without [DONE] returns what arrived", async () => {
  await using server = await scriptedServer({
    steps: [chunk({ content: "All" }), chunk({ content: " here" }), chunk({}, "stop")],
  });
  const { result, error } = await run(backendFor(server), turn(true));
  assert.equal(error, undefined, String(error));
  assert.equal(result?.content, "All here");
  assert.equal(result?.finishReason, "stop");
});

Deno.test("wire: after [DONE] the reply is returned even if the server keeps the body open", async () => {
  await using server = await scriptedServer({
    steps: [chunk({ content: "Done." }), chunk({}, "stop"), "data: [DONE]\n\n"],
    stall: true,
  });
  const started = Date.now();
  const { result, error } = await run(backendFor(server, { timeoutMs: 30_000 }), turn(true));
  assert.equal(error, undefined, String(error));
  assert.equal(result?.content, "Done.");
  assert.ok(Date.now() - started < 5_000, "not held for the 30 s watchdog");
});

Deno.test("wire: a connection broken after [DONE] loses nothing: the reply was complete", async () => {
  await using server = await scriptedServer({
    steps: [chunk({ content: "Done." }), chunk({}, "stop"), "data: [DONE]\n\n"],
    breakAfter: true,
  });
  const { deltas, result, error } = await run(backendFor(server), turn(true));
  assert.equal(error, undefined, String(error));
  assert.equal(result?.content, "Done.");
  assert.deepEqual(deltas, ["Done."]);
});

Deno.test("wire: a connection broken before [DONE] is a retryable read failure", async () => {
  await using server = await scriptedServer({
    steps: [chunk({ content: "Hal" })],
    breakAfter: true,
  });
  const { deltas, error } = await run(backendFor(server), turn(true));
  assert.ok(error instanceof LlmError, String(error));
  assert.match(error.message, /broke the connection during the reply/);
  assert.equal(error.retryable, true);
  assert.deepEqual(deltas, ["Hal"]);
});

Deno.test("wire: an over-long SSE line is rejected at the limit and the connection closed", async () => {
  // A line that never ends: without a limit the reader would buffer until the watchdog.
  await using server = await scriptedServer({
    steps: [chunk({ content: "a" }), "data: " + "x".repeat(64 * 1024), { pauseMs: 10 }],
    stall: true,
  });
  const backend = backendFor(server, { timeoutMs: 20_000, limits: { maxEventBytes: 4096 } });
  const { deltas, error } = await run(backend, turn(true));
  assert.ok(error instanceof LlmError, String(error));
  assert.match(error.message, /server-sent event over 4096 bytes/);
  assert.ok(error.message.includes(server.baseUrl));
  assert.equal(error.retryable, false);
  assert.deepEqual(deltas, ["a"]);
  await within(3_000, server.clientGone, "the server seeing the connection closed");
});

Deno.test("wire: an event of many short data lines is limited too", async () => {
  await using server = await scriptedServer({
    steps: [Array.from({ length: 200 }, () => `data: ${"y".repeat(100)}\n`).join("")],
    stall: true,
  });
  const backend = backendFor(server, { timeoutMs: 20_000, limits: { maxEventBytes: 4096 } });
  const { error } = await run(backend, turn(true));
  assert.ok(error instanceof LlmError, String(error));
  assert.match(error.message, /server-sent event over 4096 bytes/);
});

for (const framing of ["content-length", "chunked"] as const) {
  Deno.test(`wire: an over-large non-streamed body is rejected (${framing})`, async () => {
    const json = JSON.stringify({
      model: "wire-model",
      choices: [{ message: { content: "z".repeat(200_000) }, finish_reason: "stop" }],
    });
    const steps: Step[] = framing === "chunked"
      ? Array.from({ length: 20 }, (_, i) => json.slice(i * 10_010, (i + 1) * 10_010))
      : [json];
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (framing === "content-length") headers["content-length"] = String(json.length);
    await using server = await scriptedServer({ headers, steps });
    const backend = backendFor(server, { limits: { maxReplyBytes: 64 * 1024 } });
    const { error } = await run(backend, turn(false));
    assert.ok(error instanceof LlmError, String(error));
    assert.match(error.message, /a reply over 65536 bytes/);
    assert.equal(error.retryable, false);
    // The same body within the limit is read.
    await using roomy = await scriptedServer({ headers, steps });
    const { result } = await run(backendFor(roomy), turn(false));
    assert.equal(result?.content.length, 200_000);
  });
}

Deno.test("wire: a streamed reply growing past maxReplyBytes is rejected", async () => {
  await using server = await scriptedServer({
    steps: Array.from({ length: 100 }, () => chunk({ content: "w".repeat(1000) })),
    stall: true,
  });
  const backend = backendFor(server, { limits: { maxReplyBytes: 20_000 } });
  const { deltas, error } = await run(backend, turn(true));
  assert.ok(error instanceof LlmError, String(error));
  assert.match(error.message, /a reply over 20000 bytes/);
  assert.ok(deltas.length <= 20, `${deltas.length} deltas`);
});

Deno.test("wire: maxReplyBytes counts every byte of a stream, not only its text", async () => {
  // Events without text (role-only deltas, padding fields) must not stream without bound.
  const padded = `data: ${JSON.stringify({ choices: [{ delta: {} }], pad: "p".repeat(900) })}\n\n`;
  await using server = await scriptedServer({
    steps: Array.from({ length: 100 }, () => padded),
    stall: true,
  });
  const backend = backendFor(server, { limits: { maxReplyBytes: 20_000 } });
  const started = Date.now();
  const { deltas, error } = await run(backend, turn(true));
  assert.ok(error instanceof LlmError, String(error));
  assert.match(error.message, /a reply over 20000 bytes/);
  assert.deepEqual(deltas, []);
  assert.ok(Date.now() - started < 4_000, "rejected at the limit, not by the 5 s watchdog");
});

for (
  const [name, errorEvent] of [
    [
      "data.error",
      'data: {"error":{"message":"overloaded, key=hunter2","type":"server_error"}}\n\n',
    ],
    ["event: error", 'event: error\ndata: {"message":"overloaded, key=hunter2"}\n\n'],
    ["event: error, plain text", "event: error\ndata: overloaded, key=hunter2\n\n"],
  ] as const
) {
  Deno.test(`wire: an error event mid-stream (${name}) is the provider's error, text in detail only`, async () => {
    await using server = await scriptedServer({
      steps: [chunk({ content: "Half" }), errorEvent, chunk({ content: " more" })],
      stall: true,
    });
    const { deltas, error } = await run(backendFor(server), turn(true));
    assert.ok(error instanceof LlmError, String(error));
    assert.equal(
      error.message,
      `LLM provider ${server.baseUrl} reported an error during the reply`,
    );
    assert.equal(error.retryable, false);
    assert.match(error.detail ?? "", /overloaded, key=hunter2/);
    assert.deepEqual(deltas, ["Half"]);
    await within(3_000, server.clientGone, "the server seeing the connection closed");
  });
}

Deno.test("wire: 429 with retry-after is retryable with the delay; the body's text is detail", async () => {
  await using server = await scriptedServer({
    status: 429,
    headers: { "content-type": "application/json", "retry-after": "1.5" },
    steps: [JSON.stringify({ error: { message: "Slow down, key=hunter2", type: "requests" } })],
  });
  const { error } = await run(backendFor(server), turn(true));
  assert.ok(error instanceof LlmError, String(error));
  assert.equal(error.status, 429);
  assert.equal(error.retryable, true);
  assert.equal(error.retryAfterMs, 1_500);
  assert.match(error.message, /rate-limiting requests \(HTTP 429\)/);
  assert.equal(error.detail, "Slow down, key=hunter2");
  assert.ok(!error.message.includes("hunter2"));
});

Deno.test("wire: an error status whose body stalls is still that error, not a timeout", async () => {
  await using server = await scriptedServer({
    status: 429,
    headers: { "content-type": "application/json", "retry-after": "2" },
    steps: ['{"error":{"message":"Slow'],
    stall: true,
  });
  const { error } = await run(backendFor(server, { timeoutMs: 300 }), turn(true));
  assert.ok(error instanceof LlmError, String(error));
  assert.equal(error.status, 429);
  assert.equal(error.retryable, true);
  assert.equal(error.retryAfterMs, 2_000);
  assert.match(error.message, /HTTP 429/);
});

Deno.test("wire: HTTP errors: retryable statuses, Ollama's string error, a non-JSON body", async () => {
  const cases = [
    { status: 408, body: "{}", retryable: true },
    { status: 409, body: "{}", retryable: true },
    { status: 503, body: "<html>Bad gateway</html>", retryable: true, detail: /Bad gateway/ },
    {
      status: 404,
      body: '{"error":"model \\"x\\" not found"}',
      retryable: false,
      detail: /^model "x" not found$/,
    },
    { status: 400, body: '{"error":{"message":"bad"}}', retryable: false, detail: /^bad$/ },
  ];
  for (const c of cases) {
    await using server = await scriptedServer({
      status: c.status,
      headers: { "content-type": "application/json", "retry-after-ms": "250" },
      steps: [c.body],
    });
    const { error } = await run(backendFor(server), turn(false));
    assert.ok(error instanceof LlmError, String(error));
    assert.equal(error.status, c.status);
    assert.equal(error.retryable, c.retryable, `HTTP ${c.status}`);
    assert.equal(error.retryAfterMs, 250);
    if (c.detail) assert.match(error.detail ?? "", c.detail);
  }
});

Deno.test("wire: the watchdog is re-armed per event and fires on a server that stalls", async () => {
  // Events every 150 ms for 900 ms with a 400 ms timeout, then silence (headers were sent).
  const steps: Step[] = [];
  for (let i = 0; i < 6; i++) steps.push({ pauseMs: 150 }, chunk({ content: `t${i} ` }));
  await using server = await scriptedServer({ steps, stall: true });
  const started = Date.now();
  const { deltas, error } = await run(backendFor(server, { timeoutMs: 400 }), turn(true));
  assert.equal(deltas.length, 6, "slow but steady events are not a timeout");
  assert.ok(error instanceof LlmError, String(error));
  assert.match(error.message, /timed out: no data from the endpoint for 0.4 s/);
  assert.equal(error.retryable, true);
  assert.ok(Date.now() - started < 3_000);
  await within(3_000, server.clientGone, "the server seeing the connection closed");
});

Deno.test("wire: keep-alive comments alone do not hold off the watchdog", async () => {
  const steps: Step[] = [];
  for (let i = 0; i < 20; i++) steps.push({ pauseMs: 100 }, ": keep-alive\n\n");
  await using server = await scriptedServer({ steps, stall: true });
  const started = Date.now();
  const { error } = await run(backendFor(server, { timeoutMs: 400 }), turn(true));
  assert.ok(error instanceof LlmError, String(error));
  assert.match(error.message, /timed out/);
  // 400 ms after the headers, not after the last of the 2 s of keep-alives.
  assert.ok(Date.now() - started < 1_500, `${Date.now() - started} ms`);
});

Deno.test("wire: cancel mid-stream rejects LlmCancelled and closes the connection", async () => {
  const steps: Step[] = [];
  for (let i = 0; i < 200; i++) steps.push(chunk({ content: `w${i} ` }), { pauseMs: 20 });
  await using server = await scriptedServer({ steps });
  const cancel = new AbortController();
  const backend = backendFor(server);
  const deltas: string[] = [];
  const error = await within(
    5_000,
    backend.complete(turn(true), {
      signal: cancel.signal,
      onDelta: (text) => {
        deltas.push(text);
        if (deltas.length === 3) cancel.abort();
      },
    }).catch((e) => e),
    "the cancel",
  );
  assert.ok(error instanceof LlmCancelled, String(error));
  assert.equal(deltas.length, 3);
  await within(3_000, server.clientGone, "the server seeing the connection closed");
});

Deno.test("wire: a server that ignores stream:true and answers JSON gives one delta", async () => {
  await using server = await scriptedServer({
    headers: { "content-type": "application/json; charset=utf-8" },
    steps: [JSON.stringify({
      model: "wire-model",
      choices: [{ message: { content: "Whole reply." }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    })],
  });
  const { deltas, result, error } = await run(backendFor(server), turn(true));
  assert.equal(error, undefined, String(error));
  assert.deepEqual(deltas, ["Whole reply."]);
  assert.deepEqual(result?.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
});

Deno.test("wire: an event that is not JSON is an error saying so", async () => {
  await using server = await scriptedServer({ steps: ["data: <html>oops\n\n"], stall: true });
  const { error } = await run(backendFor(server), turn(true));
  assert.ok(error instanceof LlmError, String(error));
  assert.match(error.message, /not JSON; check that OPENAI_BASE_URL/);
  assert.match(error.detail ?? "", /oops/);
});

Deno.test("toLlmError: every failure kind, a safe message (URL credentials hidden), detail aside", () => {
  const base = "http://user:hunter2@127.0.0.1:8080/v1";
  const where = "http://user:***@127.0.0.1:8080/v1";
  const cases: Array<[unknown, string, boolean, string | undefined]> = [
    [
      new ProviderConnectionError("connect", new TypeError("Connection refused")),
      `LLM endpoint unreachable at ${where}; check OPENAI_BASE_URL / LLM_BASE_URL and that the server is running`,
      true,
      "Connection refused",
    ],
    [
      new ProviderConnectionError("read", new TypeError("connection reset")),
      `LLM endpoint ${where} broke the connection during the reply`,
      true,
      "connection reset",
    ],
    [
      new ProviderHttpError(503, new Headers(), "key=sk-x overloaded"),
      `LLM provider ${where} failed (HTTP 503); try again later`,
      true,
      "key=sk-x overloaded",
    ],
    [
      new ProviderStreamError("key=sk-x broke"),
      `LLM provider ${where} reported an error during the reply`,
      false,
      "key=sk-x broke",
    ],
    [
      new ProviderReplyError("<html>", new SyntaxError("bad")),
      `Cannot read the reply of LLM provider ${where}: it is not JSON; check that OPENAI_BASE_URL is an OpenAI-compatible API`,
      false,
      "not JSON: <html>",
    ],
    [
      new ReplyLimitError(10),
      `Cannot read the reply of LLM provider ${where}: it sent a reply over 10 bytes; check that OPENAI_BASE_URL is an OpenAI-compatible API`,
      false,
      undefined,
    ],
    [
      new SseLimitError(20),
      `Cannot read the reply of LLM provider ${where}: it sent a server-sent event over 20 bytes; check that OPENAI_BASE_URL is an OpenAI-compatible API`,
      false,
      undefined,
    ],
    [new RangeError("odd"), `LLM request to ${where} failed (RangeError)`, false, "odd"],
  ];
  for (const [error, message, retryable, detail] of cases) {
    const llmError = toLlmError(error, base);
    assert.equal(llmError.message, message);
    assert.equal(llmError.retryable, retryable, message);
    assert.equal(llmError.detail, detail, message);
    assert.equal(llmError.cause, error);
  }
});
