/**
 * OpenAIChatBackend against the local fake OpenAI server: streaming and not,
 * tool calls in both modes, HTTP errors, retries within a deadline, cancel and timeouts.
 */
import assert from "node:assert/strict";
import {
  type ChatTurn,
  completeWithRetry,
  LlmCancelled,
  LlmError,
  OpenAIChatBackend,
  retryAfterMs,
} from "../../services/llm-worker/chat_backend.ts";
import { fake, startFakeOpenAI } from "../helpers/llm_fake_openai.ts";
import { freePort } from "../helpers/broker.ts";

const turn = (stream: boolean, extra: Partial<ChatTurn> = {}): ChatTurn => ({
  model: "fake-model",
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hello" }],
  maxTokens: 64,
  temperature: 0.5,
  topP: 0.9,
  stream,
  ...extra,
});

Deno.test("chat backend: streaming deltas arrive in order and join to the content", async () => {
  await using llm = await startFakeOpenAI({ apiKey: "sk-test" });
  llm.enqueue(fake.text(["Hello", " there", "."], { chunkDelayMs: 20 }));
  const backend = new OpenAIChatBackend({
    apiKey: "sk-test",
    baseUrl: llm.baseURL,
    timeoutMs: 5_000,
  });
  const deltas: string[] = [];
  const result = await backend.complete(turn(true), { onDelta: (text) => void deltas.push(text) });
  assert.deepEqual(deltas, ["Hello", " there", "."]);
  assert.equal(result.content, "Hello there.");
  assert.equal(result.finishReason, "stop");
  const seen = llm.requests[0];
  assert.equal(seen.stream, true);
  assert.equal(seen.headers.authorization, "Bearer sk-test");
  assert.equal(seen.body.max_tokens, 64);
  assert.equal(seen.body.temperature, 0.5);
  assert.equal(seen.body.top_p, 0.9);
  assert.equal(seen.body.messages[0].role, "system");
});

Deno.test("chat backend: non-streaming reply with usage", async () => {
  await using llm = await startFakeOpenAI();
  llm.enqueue(fake.text("It is noon."));
  const backend = new OpenAIChatBackend({ baseUrl: llm.baseURL, timeoutMs: 5_000 });
  const result = await backend.complete(turn(false));
  assert.equal(result.content, "It is noon.");
  assert.equal(result.model, "fake-model");
  assert.ok((result.usage?.total_tokens ?? 0) > 0);
  assert.equal(llm.requests[0].stream, false);
});

for (const stream of [true, false]) {
  Deno.test(`chat backend: tool calls (${stream ? "streamed fragments" : "JSON"})`, async () => {
    await using llm = await startFakeOpenAI();
    llm.enqueue(fake.toolCalls([
      { id: "call_a", name: "move", arguments: { command: "wave", speed: 0.7 } },
      { id: "call_b", name: "stop_movement", arguments: {} },
    ], { content: stream ? ["Sure."] : undefined, argumentFragments: 4 }));
    const backend = new OpenAIChatBackend({ baseUrl: llm.baseURL, timeoutMs: 5_000 });
    const result = await backend.complete(
      turn(stream, { tools: [{ name: "move", parameters: { type: "object" } }] }),
    );
    assert.equal(result.finishReason, "tool_calls");
    assert.deepEqual(result.toolCalls, [
      { id: "call_a", name: "move", arguments: '{"command":"wave","speed":0.7}' },
      { id: "call_b", name: "stop_movement", arguments: "{}" },
    ]);
    assert.equal(llm.requests[0].body.tools?.[0].function.name, "move");
  });
}

Deno.test("chat backend: 401 is an LlmError naming OPENAI_API_KEY, not retryable", async () => {
  await using llm = await startFakeOpenAI({ apiKey: "sk-right" });
  const backend = new OpenAIChatBackend({
    apiKey: "sk-wrong",
    baseUrl: llm.baseURL,
    timeoutMs: 5_000,
  });
  const error = await backend.complete(turn(true)).catch((e) => e);
  assert.ok(error instanceof LlmError);
  assert.equal(error.status, 401);
  assert.equal(error.retryable, false);
  assert.match(error.message, /HTTP 401.*OPENAI_API_KEY/);
  // The body echoed the key: it stays in `detail` (log only), never in the message.
  assert.match(error.detail ?? "", /sk-wrong/);
  assert.ok(!error.message.includes("sk-wrong"), error.message);
});

Deno.test("chat backend: no provider text in any error message, only status and fixed text", async () => {
  await using llm = await startFakeOpenAI();
  const backend = new OpenAIChatBackend({ baseUrl: llm.baseURL, timeoutMs: 5_000 });
  for (const status of [400, 403, 404, 429, 500]) {
    llm.enqueue(fake.error(status, { message: `provider says: key=hunter2-${status}` }));
    const error = await backend.complete(turn(false)).catch((e) => e);
    assert.ok(error instanceof LlmError);
    assert.equal(error.status, status);
    assert.ok(!error.message.includes("hunter2"), error.message);
    assert.match(error.message, new RegExp(`HTTP ${status}`));
    assert.match(error.detail ?? "", /hunter2/);
  }
});

Deno.test("chat backend: 429 with retry-after then success is retried within the deadline", async () => {
  await using llm = await startFakeOpenAI();
  llm.enqueue(fake.error(429, { retryAfterSec: 0.2 }), fake.error(500), fake.text("Finally."));
  const backend = new OpenAIChatBackend({ baseUrl: llm.baseURL, timeoutMs: 5_000 });
  const retries: Array<[number | undefined, number]> = [];
  const result = await completeWithRetry(backend, turn(true), {
    deadlineMs: 10_000,
    minDelayMs: 20,
    maxDelayMs: 100,
    onRetry: (error, delay) => retries.push([error.status, delay]),
  });
  assert.equal(result.content, "Finally.");
  assert.equal(llm.requests.length, 3);
  assert.equal(retries[0][0], 429);
  assert.ok(retries[0][1] >= 200, "retry-after honoured");
  assert.equal(retries[1][0], 500);
  assert.ok(llm.requests[1].receivedAt - llm.requests[0].receivedAt >= 190);
});

Deno.test("chat backend: retries stop at the deadline with the last error", async () => {
  await using llm = await startFakeOpenAI();
  llm.fallback = fake.error(503);
  const backend = new OpenAIChatBackend({ baseUrl: llm.baseURL, timeoutMs: 5_000 });
  const started = Date.now();
  const error = await completeWithRetry(backend, turn(false), {
    deadlineMs: 300,
    minDelayMs: 50,
    maxDelayMs: 100,
  }).catch((e) => e);
  assert.ok(error instanceof LlmError);
  assert.equal(error.status, 503);
  assert.ok(llm.requests.length >= 2, "retried at least once");
  assert.ok(Date.now() - started < 3_000);
  // 400-class errors are not retried at all.
  llm.fallback = fake.error(400, { message: "bad request" });
  const before = llm.requests.length;
  await assert.rejects(
    completeWithRetry(backend, turn(false), { deadlineMs: 5_000, minDelayMs: 10, maxDelayMs: 10 }),
    LlmError,
  );
  assert.equal(llm.requests.length, before + 1);
});

Deno.test("chat backend: unreachable endpoint is a retryable LlmError naming the URL", async () => {
  const baseUrl = `http://127.0.0.1:${freePort()}/v1`;
  const backend = new OpenAIChatBackend({ baseUrl, timeoutMs: 5_000 });
  const error = await backend.complete(turn(true)).catch((e) => e);
  assert.ok(error instanceof LlmError);
  assert.equal(error.retryable, true);
  assert.ok(error.message.includes(baseUrl), error.message);
  assert.match(error.message, /OPENAI_BASE_URL/);
});

Deno.test("chat backend: abort mid-stream ends the HTTP stream and rejects LlmCancelled", async () => {
  await using llm = await startFakeOpenAI();
  llm.enqueue(fake.text(Array.from({ length: 50 }, (_, i) => `w${i} `), { chunkDelayMs: 30 }));
  const backend = new OpenAIChatBackend({ baseUrl: llm.baseURL, timeoutMs: 5_000 });
  const cancel = new AbortController();
  const deltas: string[] = [];
  const error = await backend.complete(turn(true), {
    signal: cancel.signal,
    onDelta: (text) => {
      deltas.push(text);
      if (deltas.length === 3) cancel.abort();
    },
  }).catch((e) => e);
  assert.ok(error instanceof LlmCancelled, String(error));
  assert.equal(await llm.waitForEnd(1), "aborted");
  assert.ok(llm.requests[0].chunksSent < 50);
});

Deno.test("chat backend: a slow first token past LLM_TIMEOUT_SEC is a timeout error", async () => {
  await using llm = await startFakeOpenAI();
  llm.enqueue(fake.text("late", { firstTokenDelayMs: 3_000 }));
  const backend = new OpenAIChatBackend({ baseUrl: llm.baseURL, timeoutMs: 300 });
  const error = await backend.complete(turn(true)).catch((e) => e);
  assert.ok(error instanceof LlmError, String(error));
  assert.match(error.message, /timed out/);
  assert.equal(await llm.waitForEnd(1), "aborted");
});

Deno.test("chat backend: a stream broken mid-way is an error after the delivered deltas", async () => {
  await using llm = await startFakeOpenAI();
  llm.enqueue(fake.broken(["Half", " a"]));
  const backend = new OpenAIChatBackend({ baseUrl: llm.baseURL, timeoutMs: 5_000 });
  const deltas: string[] = [];
  const error = await completeWithRetry(backend, turn(true), {
    deadlineMs: 5_000,
    minDelayMs: 10,
    maxDelayMs: 10,
    onDelta: (text) => void deltas.push(text),
  }).catch((e) => e);
  assert.ok(error instanceof LlmError, String(error));
  assert.deepEqual(deltas, ["Half", " a"]);
  assert.equal(llm.requests.length, 1, "text already out: not retried");
});

Deno.test("retryAfterMs reads seconds, ms and HTTP dates", () => {
  assert.equal(retryAfterMs(new Headers({ "retry-after": "2" })), 2_000);
  assert.equal(retryAfterMs(new Headers({ "retry-after-ms": "150", "retry-after": "9" })), 150);
  const now = Date.parse("2025-01-01T00:00:00Z");
  assert.equal(
    retryAfterMs(new Headers({ "retry-after": "Wed, 01 Jan 2025 00:00:03 GMT" }), now),
    3_000,
  );
  assert.equal(retryAfterMs(new Headers()), undefined);
});
