/**
 * llm-worker over a real broker against the local fake OpenAI server: streaming and
 * non-streaming replies, cancel, errors and retries, concurrency, persona, RAG with a
 * memory-worker stand-in (while other requests are in flight) and tool calls in both modes.
 */
import assert from "node:assert/strict";
import {
  getLogger,
  type LLMResponse,
  type LLMStreamDelta,
  type MqttClient,
  type TestMovementRequest,
  TEXT_LIMITS,
  topics,
} from "../../core/mod.ts";
import { type LlmConfig, readLlmConfig } from "../../services/llm-worker/config.ts";
import { type LlmWorker, startLlmWorker } from "../../services/llm-worker/service.ts";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import {
  fake,
  type FakeOpenAI,
  lastUserText,
  startFakeOpenAI,
} from "../helpers/llm_fake_openai.ts";
import { startMemoryStandIn } from "../helpers/llm_memory_standin.ts";
import { afterMarker, drainMarker } from "../helpers/marker.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

interface Seen {
  stream: Array<{ delta: LLMStreamDelta; envelopeId: string | null }>;
  responses: Array<{ response: LLMResponse; envelopeId: string | null }>;
}

interface Rig extends AsyncDisposable {
  broker: TestBroker;
  llm: FakeOpenAI;
  worker: LlmWorker;
  workerClient: MqttClient;
  user: MqttClient;
  seen: Seen;
  ask(
    text: string,
    extra?: Record<string, unknown>,
  ): Promise<{ id: string; envelopeId: string }>;
  response(id: string, timeoutMs?: number): Promise<LLMResponse>;
  deltas(id: string): LLMStreamDelta[];
}

async function rig(
  env: Record<string, string> = {},
  before?: (broker: TestBroker) => Promise<AsyncDisposable | void>,
): Promise<Rig & { extra?: AsyncDisposable }> {
  const broker = await startBroker();
  const llm = await startFakeOpenAI({ apiKey: "sk-test" });
  const extra = (await before?.(broker)) ?? undefined;
  const config: LlmConfig = readLlmConfig({
    OPENAI_API_KEY: "sk-test",
    OPENAI_BASE_URL: llm.baseURL,
    LLM_MODEL: "fake-model",
    LLM_RETRY_MIN_DELAY_SEC: "0.05",
    LLM_RETRY_MAX_DELAY_SEC: "0.2",
    LLM_RETRY_DEADLINE_SEC: "5",
    ...env,
  });
  const workerClient = testClient(broker.url, { clientId: "tars-llm-test" });
  await workerClient.connect({ timeoutMs: 10_000 });
  const worker = await startLlmWorker({ client: workerClient, logger: getLogger("llm-test") }, {
    config,
  });
  const user = testClient(broker.url);
  await user.connect({ timeoutMs: 10_000 });
  const seen: Seen = { stream: [], responses: [] };
  await user.subscribe(topics.llmStream, (delta, context) => {
    seen.stream.push({ delta, envelopeId: context.correlationId });
  }, { concurrency: 1 });
  await user.subscribe(topics.llmResponse, (response, context) => {
    seen.responses.push({ response, envelopeId: context.correlationId });
  });
  let n = 0;
  return {
    broker,
    llm,
    worker,
    workerClient,
    user,
    seen,
    extra: extra || undefined,
    async ask(text, extraFields = {}) {
      const id = `rt-${++n}-${crypto.randomUUID().slice(0, 6)}`;
      const envelopeId = await user.publishEvent(topics.llmRequest, {
        id,
        text,
        ...extraFields,
      });
      return { id, envelopeId };
    },
    async response(id, timeoutMs = 10_000) {
      await waitFor(
        () => seen.responses.some((r) => r.response.id === id),
        `llm/response for ${id}`,
        timeoutMs,
      );
      return seen.responses.find((r) => r.response.id === id)!.response;
    },
    deltas(id) {
      return seen.stream.filter((s) => s.delta.id === id).map((s) => s.delta);
    },
    async [Symbol.asyncDispose]() {
      await worker.close();
      await user.shutdown();
      await workerClient.shutdown();
      if (extra) await extra[Symbol.asyncDispose]();
      await llm.close();
      await broker[Symbol.asyncDispose]();
    },
  };
}

Deno.test("llm-worker: streamed reply = deltas seq 1..n, done marker n+1, then llm/response", async () => {
  await using r = await rig();
  r.llm.enqueue(fake.text(["Hello", " from", " TARS."], { chunkDelayMs: 10 }));
  const { id, envelopeId } = await r.ask("hi there");
  const response = await r.response(id);
  assert.equal(response.reply, "Hello from TARS.");
  assert.equal(response.error ?? null, null);
  assert.equal(response.provider, "openai");
  assert.equal(response.model, "fake-model");
  const deltas = r.deltas(id);
  assert.deepEqual(deltas.map((d) => [d.seq, d.delta ?? null, d.done]), [
    [1, "Hello", false],
    [2, " from", false],
    [3, " TARS.", false],
    [4, null, true],
  ]);
  // Correlation = the request's envelope id on every chunk and the response (py-tars).
  assert.ok(r.seen.stream.every((s) => s.envelopeId === envelopeId));
  assert.equal(r.seen.responses[0].envelopeId, envelopeId);
  // The user's text reached the model.
  assert.equal(lastUserText(r.llm.requests[0]), "hi there");
  assert.equal(r.llm.requests[0].stream, true);
});

Deno.test("llm-worker: a chunk does not wait for the broker to acknowledge the one before", async () => {
  await using r = await rig();
  // Hold back the completion of every llm/stream publish until `acks` resolves.
  const acks = Promise.withResolvers<void>();
  const publishEvent = r.workerClient.publishEvent.bind(r.workerClient);
  r.workerClient.publishEvent = ((spec: unknown, data: unknown, options: unknown) => {
    const sent = (publishEvent as (...a: unknown[]) => Promise<string>)(spec, data, options);
    return spec === topics.llmStream ? sent.then((id) => acks.promise.then(() => id)) : sent;
  }) as typeof r.workerClient.publishEvent;
  r.llm.enqueue(fake.text(["One", " two", " three."]));
  const { id } = await r.ask("count");
  // All three chunks reach the bus while none of them is acknowledged yet.
  await waitFor(() => r.deltas(id).length === 3, "3 chunks before any acknowledgement", 5_000);
  // The done marker and the response wait for the acknowledgements: a marker sent after the
  // chunks on the worker's own connection arrives, the done marker does not.
  await publishEvent(topics.llmStream, { id: "marker", seq: 1, delta: "m" });
  await waitFor(() => r.deltas("marker").length === 1, "the marker");
  assert.equal(r.deltas(id).some((d) => d.done), false);
  assert.equal(r.seen.responses.length, 0);
  acks.resolve();
  assert.equal((await r.response(id)).reply, "One two three.");
  assert.deepEqual(r.deltas(id).map((d) => [d.seq, d.done]), [
    [1, false],
    [2, false],
    [3, false],
    [4, true],
  ]);
});

Deno.test("llm-worker: non-streaming request gives only llm/response; params override config", async () => {
  await using r = await rig();
  r.llm.enqueue(fake.text("Twelve o'clock."));
  const { id } = await r.ask("what time", {
    stream: false,
    params: { model: "other-model", max_tokens: 33, temperature: 0.1, top_p: 0.5 },
    system: "Be terse.",
    conversation_history: [
      { role: "user", content: "earlier question" },
      { role: "assistant", content: "earlier answer" },
    ],
  });
  const response = await r.response(id);
  assert.equal(response.reply, "Twelve o'clock.");
  assert.ok(response.tokens && (response.tokens.total_tokens as number) > 0);
  assert.equal(r.deltas(id).length, 0);
  const body = r.llm.requests[0].body;
  assert.equal(body.stream, false);
  assert.equal(body.model, "other-model");
  assert.equal(body.max_tokens, 33);
  assert.equal(body.temperature, 0.1);
  assert.equal(body.top_p, 0.5);
  assert.deepEqual(body.messages.map((m) => [m.role, m.content]), [
    ["system", "Be terse."],
    ["user", "earlier question"],
    ["assistant", "earlier answer"],
    ["user", "what time"],
  ]);
});

Deno.test("llm-worker: llm/cancel aborts the HTTP stream at once; nothing more is published", async () => {
  await using r = await rig();
  r.llm.enqueue(
    fake.text(Array.from({ length: 100 }, (_, i) => `word${i} `), { chunkDelayMs: 40 }),
  );
  const { id } = await r.ask("tell me a long story");
  await waitFor(() => r.deltas(id).length >= 2, "first deltas");
  await r.user.publishEvent(topics.llmCancel, { id });
  assert.equal(await r.llm.waitForEnd(1), "aborted");
  await waitFor(() => r.worker.counters.cancelled === 1, "cancel counted");
  const count = r.deltas(id).length;
  // Markers from the worker's own connection on llm/stream and llm/response: whatever the
  // worker published before them has arrived.
  await afterMarker(
    (marker) => r.workerClient.publishEvent(topics.llmStream, { id: marker, seq: 0, delta: "" }),
    (marker) => r.deltas(marker).length === 1,
  );
  await drainMarker(
    r.seen.responses,
    (marker) => r.workerClient.publishEvent(topics.llmResponse, { id: marker, reply: "" }),
    (seen, marker) => seen.response.id === marker,
  );
  assert.equal(r.deltas(id).length, count, "no deltas after the cancel");
  assert.ok(count < 20, `stream stopped early (${count} deltas)`);
  assert.ok(!r.deltas(id).some((d) => d.done), "no done marker");
  assert.equal(r.seen.responses.length, 0, "no llm/response for a cancelled request");
  assert.ok(r.llm.requests[0].chunksSent < 100);
});

Deno.test("llm-worker: a cancel that arrives before its request is queued-out is honoured", async () => {
  await using r = await rig({ LLM_MAX_CONCURRENCY: "1" });
  r.llm.enqueue(fake.text("first", { firstTokenDelayMs: 300 }));
  const first = await r.ask("one");
  await r.llm.waitForRequest(1);
  const second = await r.ask("two");
  await r.user.publishEvent(topics.llmCancel, { id: second.id });
  await r.response(first.id);
  await waitFor(() => r.worker.counters.cancelled === 1, "second skipped");
  assert.equal(r.llm.requests.length, 1, "the cancelled request never reached the model");
});

Deno.test("llm-worker: HTTP 401 becomes an llm/response error naming OPENAI_API_KEY, not retried", async () => {
  await using r = await rig({ OPENAI_API_KEY: "sk-wrong" });
  const { id } = await r.ask("hello");
  const response = await r.response(id);
  assert.equal(response.reply ?? null, null);
  assert.match(response.error ?? "", /HTTP 401.*OPENAI_API_KEY/);
  assert.equal(r.llm.requests.length, 1, "401 is not retried");
  assert.equal(r.worker.counters.errors, 1);
});

Deno.test("llm-worker: unreachable endpoint → error naming the URL after retrying within the deadline", async () => {
  await using r = await rig({
    OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
    LLM_RETRY_DEADLINE_SEC: "0.3",
  });
  const { id } = await r.ask("hello");
  const response = await r.response(id);
  assert.match(response.error ?? "", /unreachable at http:\/\/127\.0\.0\.1:9\/v1/);
});

Deno.test("llm-worker: 429 (retry-after) and 500 are retried, then the reply streams", async () => {
  await using r = await rig();
  r.llm.enqueue(fake.error(429, { retryAfterSec: 0.1 }), fake.error(500), fake.text("Made it."));
  const { id } = await r.ask("hello");
  const response = await r.response(id);
  assert.equal(response.reply, "Made it.");
  assert.equal(r.llm.requests.length, 3);
  assert.deepEqual(r.deltas(id).map((d) => d.seq), [1, 2, 3]);
});

Deno.test("llm-worker: a stream broken mid-way ends with a done marker and an error response", async () => {
  await using r = await rig();
  r.llm.enqueue(fake.broken(["Half", " a"]));
  const { id } = await r.ask("hello");
  const response = await r.response(id);
  assert.equal(response.reply, "Half a");
  assert.ok(response.error, "error set");
  assert.deepEqual(r.deltas(id).map((d) => d.done), [false, false, true]);
});

Deno.test("llm-worker: requests are served concurrently up to LLM_MAX_CONCURRENCY", async () => {
  await using r = await rig({ LLM_MAX_CONCURRENCY: "2" });
  r.llm.fallback = (req) => fake.text(`re ${lastUserText(req)}`, { firstTokenDelayMs: 400 });
  const started = Date.now();
  const a = await r.ask("a");
  const b = await r.ask("b");
  const c = await r.ask("c");
  await r.llm.waitForRequest(2);
  assert.equal(r.llm.requests.length, 2, "two at once, the third waits");
  assert.equal((await r.response(a.id)).reply, "re a");
  assert.equal((await r.response(b.id)).reply, "re b");
  assert.equal((await r.response(c.id)).reply, "re c");
  // Two batches of 400 ms, not three.
  assert.ok(Date.now() - started < 3_000);
  assert.ok(r.llm.requests[1].receivedAt - r.llm.requests[0].receivedAt < 300);
});

Deno.test("llm-worker: persona from the retained character and character/get at start", async () => {
  let standInGets: Array<string | null | undefined> = [];
  await using r = await rig({}, async (broker) => {
    const standIn = await startMemoryStandIn(broker.url);
    standInGets = standIn.gets;
    return standIn;
  });
  await waitFor(() => r.worker.persona.snapshot?.name === "TARS", "persona arrived");
  await waitFor(() => standInGets.length === 1, "character/get at start");
  assert.equal(standInGets[0] ?? null, null, "whole snapshot asked for");
  r.llm.enqueue(fake.text("Affirmative."));
  const { id } = await r.ask("who are you", { system: "It is night." });
  await r.response(id);
  const system = r.llm.requests[0].body.messages[0];
  assert.equal(system.role, "system");
  const content = String(system.content);
  // py-tars' build_system_prompt: the systemprompt (the description only without one), the
  // traits as "Personality Metrics", then the request's own system prompt.
  assert.equal(
    content,
    "Answer in one or two short sentences.\n\nPersonality Metrics: honesty: 95; humor: 90" +
      "\n\nIt is night.",
  );
});

Deno.test("llm-worker: RAG round trip with memory answering, while another request streams", async () => {
  let queries: Array<{ query: { text: string; top_k: number }; id: string | null }> = [];
  await using r = await rig({ RAG_ENABLED: "true", RAG_TOP_K: "3" }, async (broker) => {
    const standIn = await startMemoryStandIn(broker.url, {
      delayMs: 100,
      answer: (query) => [
        { document: "I asked about the weather yesterday", context_type: "previous" },
        {
          document: { text: `My favourite pizza is margherita (${query.text})` },
          timestamp: "2025-01-01T10:00:00",
          context_type: "target",
        },
      ],
    });
    queries = standIn.queries;
    return standIn;
  });
  // A slow, long stream in flight first (no RAG for it).
  r.llm.enqueue(
    fake.text(Array.from({ length: 20 }, (_, i) => `x${i} `), { chunkDelayMs: 50 }),
    fake.text("Margherita, obviously."),
  );
  const busy = await r.ask("keep talking", { use_rag: false });
  await waitFor(() => r.deltas(busy.id).length >= 1, "busy stream started");
  const { id, envelopeId } = await r.ask("what pizza do I like");
  const response = await r.response(id);
  assert.equal(response.reply, "Margherita, obviously.");
  assert.ok(
    r.deltas(busy.id).every((d) => !d.done),
    "answered while the first request was still streaming",
  );
  assert.equal(queries.length, 1);
  assert.equal(queries[0].query.text, "what pizza do I like");
  assert.equal(queries[0].query.top_k, 3);
  assert.equal(queries[0].id, envelopeId, "memory/query reuses the request's envelope id");
  const user = lastUserText(r.llm.requests[1]);
  assert.match(user, /Context:\n\[previous\] I asked about the weather yesterday\n/);
  assert.match(user, /\(2025-01-01T10:00:00\) My favourite pizza is margherita/);
  assert.match(user, /User: what pizza do I like\nAssistant:$/);
  assert.equal(r.worker.counters.ragHits, 1);
  await r.response(busy.id);
});

Deno.test("llm-worker: memory silent → answers without context after RAG_TIMEOUT_SEC", async () => {
  await using r = await rig({ RAG_ENABLED: "1", RAG_TIMEOUT_SEC: "0.3" }, async (broker) => {
    return await startMemoryStandIn(broker.url, { silent: true });
  });
  r.llm.enqueue(fake.text("No memory needed."));
  const { id } = await r.ask("hello");
  assert.equal((await r.response(id)).reply, "No memory needed.");
  assert.equal(lastUserText(r.llm.requests[0]), "hello");
  assert.equal(r.worker.counters.ragMisses, 1);
});

Deno.test("llm-worker: streamed tool call moves the robot; the result goes back to the model", async () => {
  await using r = await rig({ TOOL_CALLING_ENABLED: "on" });
  const moves: TestMovementRequest[] = [];
  await r.user.subscribe(topics.movementTest, (move) => void moves.push(move));
  r.llm.enqueue(
    fake.toolCalls([{ id: "call_w", name: "move", arguments: { command: "wave", speed: 0.7 } }], {
      content: ["Watch", " this."],
      argumentFragments: 5,
    }),
    fake.text([" Waved", " at you."]),
  );
  const { id } = await r.ask("wave at me");
  const response = await r.response(id);
  assert.equal(response.reply, "Watch this. Waved at you.");
  await waitFor(() => moves.length === 1, "movement/test published");
  assert.equal(moves[0].command, "wave");
  assert.equal(moves[0].speed, 0.7);
  // Deltas of both rounds in one sequence, then the done marker.
  assert.deepEqual(r.deltas(id).map((d) => d.seq), [1, 2, 3, 4, 5]);
  assert.equal(r.deltas(id).at(-1)?.done, true);
  const tools = r.llm.requests[0].body.tools?.map((t) => t.function.name) ?? [];
  assert.ok(tools.includes("move") && tools.includes("stop_movement"), tools.join());
  const followUp = r.llm.requests[1].body.messages;
  const assistant = followUp.at(-2)!;
  assert.equal(assistant.role, "assistant");
  assert.deepEqual(assistant.tool_calls, [{
    id: "call_w",
    type: "function",
    function: { name: "move", arguments: '{"command":"wave","speed":0.7}' },
  }]);
  const tool = followUp.at(-1)!;
  assert.equal(tool.role, "tool");
  assert.equal(tool.tool_call_id, "call_w");
  assert.deepEqual(JSON.parse(String(tool.content)), { ok: true, command: "wave", speed: 0.7 });
});

Deno.test("llm-worker: non-streamed tools: trait update, stop, bad arguments, registry tool", async () => {
  await using r = await rig({ TOOL_CALLING_ENABLED: "true" });
  const updates: unknown[] = [];
  const stops: unknown[] = [];
  await r.user.subscribe(topics.characterUpdate, (update) => void updates.push(update));
  await r.user.subscribe(topics.movementStop, (stop) => void stops.push(stop));
  const facts: string[] = [];
  await r.user.subscribe(topics.memoryStore, (fact) => void facts.push(fact.text));
  // An external tool executor answering llm/tool.call.request on llm/tool.call.result.
  await r.user.subscribe(topics.llmToolCallRequest, async (call) => {
    await r.user.publishEvent(topics.llmToolCallResult, {
      call_id: call.call_id,
      result: { weather: `sunny (${call.name}, ${JSON.stringify(call.arguments)})` },
    });
  });
  await r.user.publishEvent(topics.llmToolsRegistry, {
    tools: [{
      type: "function",
      function: { name: "mcp:weather:now", description: "Weather", parameters: { type: "object" } },
    }],
  });
  await waitFor(() => r.worker.tools.externalNames().length === 1, "registry received");
  r.llm.enqueue(
    fake.toolCalls([
      { id: "c1", name: "set_personality_trait", arguments: { trait: "humor", value: 40 } },
      { id: "c2", name: "stop_movement", arguments: { reason: "user asked" } },
      { id: "c3", name: "move", arguments: "{not json" },
      { id: "c4", name: "mcp__weather__now", arguments: { city: "Paris" } },
      { id: "c5", name: "remember", arguments: { fact: "my cat is Tom" } },
    ]),
    fake.text("Done."),
  );
  const { id } = await r.ask("less jokes, stop, weather", { stream: false });
  assert.equal((await r.response(id)).reply, "Done.");
  await waitFor(
    () => updates.length === 1 && stops.length === 1 && facts.length === 1,
    "commands published",
  );
  assert.deepEqual(facts, ["my cat is Tom"]);
  assert.deepEqual(
    { ...(updates[0] as Record<string, unknown>), message_id: undefined },
    { message_id: undefined, section: "traits", trait: "humor", value: 40 },
  );
  assert.equal((stops[0] as { reason?: string }).reason, "user asked");
  const results = r.llm.requests[1].body.messages.filter((m) => m.role === "tool");
  const byId = Object.fromEntries(
    results.map((m) => [m.tool_call_id, JSON.parse(String(m.content))]),
  );
  assert.equal(byId.c1.ok, true);
  assert.equal(byId.c2.stopped, true);
  assert.match(byId.c3.error, /not a JSON object/);
  assert.deepEqual(byId.c4, {
    ok: true,
    result: { weather: 'sunny (mcp:weather:now, {"city":"Paris"})' },
  });
  assert.equal(byId.c5.remembered, "my cat is Tom");
  assert.equal(r.worker.counters.toolCalls, 5);
});

Deno.test("llm-worker: no LLM configured → every request gets 'LLM not configured' error", async () => {
  const broker = await startBroker();
  try {
    const config = readLlmConfig({});
    assert.equal(config.configured, false);
    await using workerClient = testClient(broker.url);
    await workerClient.connect({ timeoutMs: 10_000 });
    const worker = await startLlmWorker({ client: workerClient, logger: getLogger("t") }, {
      config,
    });
    await using user = testClient(broker.url);
    await user.connect({ timeoutMs: 10_000 });
    const responses: LLMResponse[] = [];
    await user.subscribe(topics.llmResponse, (response) => void responses.push(response));
    await user.publishEvent(topics.llmRequest, { id: "a", text: "hello" });
    await user.publishEvent(topics.llmRequest, { id: "b", text: "again", stream: false });
    await waitFor(() => responses.length === 2, "two error responses");
    for (const response of responses) {
      assert.match(response.error ?? "", /^LLM not configured/);
      assert.match(response.error ?? "", /OPENAI_API_KEY/);
      assert.match(response.error ?? "", /OPENAI_BASE_URL \/ LLM_BASE_URL/);
    }
    await worker.close();
  } finally {
    await broker[Symbol.asyncDispose]();
  }
});

Deno.test("llm-worker: a huge provider error stays out of the response; a long reply is clipped", async () => {
  await using r = await rig();
  r.llm.enqueue(fake.error(400, { message: `bad request ${"e".repeat(10_000)}` }));
  const first = await r.ask("hello", { stream: false });
  const failed = await r.response(first.id);
  // The error is fixed text with the status, never the provider's own words.
  assert.ok(failed.error && failed.error.length <= TEXT_LIMITS.detail, "error within the limit");
  assert.match(failed.error, /HTTP 400/);
  assert.doesNotMatch(failed.error, /eeee/);
  r.llm.enqueue(fake.text(["z".repeat(TEXT_LIMITS.longText + 10)]));
  const second = await r.ask("talk a lot", { stream: false });
  const long = await r.response(second.id);
  assert.equal(long.reply?.length, TEXT_LIMITS.longText);
});
