/**
 * The router over a real broker: runService in-process (exit: false, signal) with a test
 * client playing stt-worker, wake-activation, llm-worker and tts-worker; and main.ts as a
 * child process.
 */
import assert from "node:assert/strict";
import {
  Envelope,
  type LLMCancel,
  type LLMRequest,
  type MqttClient,
  runService,
  type TestMovementRequest,
  topics,
  type TtsSay,
} from "../../core/mod.ts";
import { routerService } from "../../services/router/main.ts";
import { startBroker } from "../helpers/broker.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { rawClient, testClient, waitFor } from "../helpers/wait.ts";

interface Seen {
  says: TtsSay[];
  requests: Array<{ request: LLMRequest; correlationId: string | null }>;
  cancels: LLMCancel[];
  moves: TestMovementRequest[];
  stops: number;
}

function startRouter(url: string, env: Record<string, string> = {}) {
  const stop = new AbortController();
  const exited = runService("router", routerService, {
    env: { MQTT_URL: url, LOG_LEVEL: "error", ...env },
    logging: { sink: () => {} },
    exit: false,
    signal: stop.signal,
  });
  return {
    exited,
    async [Symbol.asyncDispose]() {
      stop.abort();
      assert.equal(await exited, 0);
    },
  };
}

async function user(url: string): Promise<{ client: MqttClient; seen: Seen } & AsyncDisposable> {
  const client = testClient(url);
  await client.connect({ timeoutMs: 10_000 });
  const seen: Seen = { says: [], requests: [], cancels: [], moves: [], stops: 0 };
  await client.subscribe(topics.ttsSay, (say) => {
    seen.says.push(say);
  });
  await client.subscribe(topics.llmRequest, (request, context) => {
    seen.requests.push({ request, correlationId: context.correlationId });
  });
  await client.subscribe(topics.llmCancel, (cancel) => {
    seen.cancels.push(cancel);
  });
  await client.subscribe(topics.movementTest, (move) => {
    seen.moves.push(move);
  });
  await client.subscribe(topics.movementStop, () => {
    seen.stops++;
  });
  return { client, seen, [Symbol.asyncDispose]: () => client.shutdown() };
}

/**
 * Waits until the router answers (its client announces health before `main` subscribes, so
 * health alone is not enough): "Hey TARS, say ready" until "ready" is heard; then forgets
 * what was said.
 */
async function routerReady(client: MqttClient, seen: Seen): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!seen.says.some((s) => s.text === "ready")) {
    if (Date.now() > deadline) throw new Error("the router never answered");
    await client.publishEvent(topics.sttFinal, { text: "Hey TARS, say ready" });
    await waitFor(() => seen.says.some((s) => s.text === "ready"), "ready", 300).catch(() => {});
  }
  // Answers come in order: once "synced" is heard, no late "ready" can follow.
  await client.publishEvent(topics.sttFinal, { text: "Hey TARS, say synced" });
  await waitFor(() => seen.says.some((s) => s.text === "synced"), "synced", 10_000);
  seen.says.length = 0;
}

const texts = (seen: Seen) => seen.says.map((s) => s.text);

Deno.test("router service: wake → ack, then stt/final → llm/request → streamed sentences in order", async () => {
  await using broker = await startBroker();
  await using u = await user(broker.url);
  await using _router = startRouter(broker.url, { ROUTER_WAKE_ACK_CHOICES: "Yes?" });
  await routerReady(u.client, u.seen);
  const { client, seen } = u;
  // A fake llm-worker: answers every request with a stream, a done marker and a response.
  const chunks = ["Hello", " there", "!", " I am", " TARS.", " Bye"];
  await client.subscribe(topics.llmRequest, async (request, context) => {
    const correlationId = context.correlationId ?? undefined;
    for (const [i, delta] of chunks.entries()) {
      await client.publishEvent(topics.llmStream, { id: request.id, seq: i + 1, delta }, {
        correlationId,
      });
    }
    await client.publishEvent(topics.llmStream, {
      id: request.id,
      seq: chunks.length + 1,
      done: true,
    }, { correlationId });
    await client.publishEvent(topics.llmResponse, { id: request.id, reply: chunks.join("") }, {
      correlationId,
    });
  });
  await client.publishEvent(topics.wakeEvent, { type: "wake" });
  await waitFor(() => texts(seen).includes("Yes?"), "wake ack", 10_000);
  assert.equal(seen.says[0].wake_ack, true);
  const transcriptId = "0123456789abcdef0123456789abcdef";
  await client.publishEvent(topics.sttFinal, {
    message_id: transcriptId,
    text: "Tell me about yourself",
    utt_id: "utt-42",
  });
  await waitFor(() => texts(seen).includes("Bye"), "last sentence", 10_000);
  assert.deepEqual(texts(seen), ["Yes?", "Hello there!", "I am TARS.", "Bye"]);
  assert.ok(seen.says.slice(1).every((s) => s.utt_id === "utt-42"));
  assert.equal(seen.requests.length, 1);
  assert.equal(seen.requests[0].request.id, "utt-42");
  assert.equal(seen.requests[0].request.text, "Tell me about yourself");
  // Correlation = the transcript: the request's envelope id is the transcript's message_id.
  assert.equal(seen.requests[0].correlationId, transcriptId);
});

for (
  const [label, env] of [
    ["the client's de-duplication (on by default)", {}],
    ["the router's own guard (MQTT_DEDUPE_TTL=0)", { MQTT_DEDUPE_TTL: "0" }],
  ] as const
) {
  Deno.test(`router service: one transcript delivered twice → one llm/request, no cancel: ${label}`, async () => {
    await using broker = await startBroker();
    await using u = await user(broker.url);
    await using _router = startRouter(broker.url, { ROUTER_LIVE_MODE_DEFAULT: "true", ...env });
    await routerReady(u.client, u.seen);
    const { seen } = u;
    await using raw = await rawClient(broker.url);
    const copy = Envelope.toJson(Envelope.new({
      eventType: topics.sttFinal.eventType!,
      data: { text: "tell me a story", utt_id: "utt-dup", is_final: true },
      source: "tars-stt",
    }));
    for (let i = 0; i < 2; i++) await raw.publishAsync(topics.sttFinal.topic, copy, { qos: 1 });
    // The marker: transcripts are handled in order, so once it is answered both copies were.
    await raw.publishAsync(
      topics.sttFinal.topic,
      Envelope.toJson(Envelope.new({
        eventType: topics.sttFinal.eventType!,
        data: { text: "say marker" },
        source: "tars-stt",
      })),
      { qos: 1 },
    );
    await waitFor(() => texts(seen).includes("marker"), "marker", 10_000);
    assert.deepEqual(seen.requests.map((r) => r.request.id), ["utt-dup"]);
    assert.deepEqual(seen.cancels, []);
  });
}

Deno.test("router service: with no LLM the rules answer, and 'LLM not configured' speaks the advice", async () => {
  await using broker = await startBroker();
  await using u = await user(broker.url);
  await using _router = startRouter(broker.url, {
    ROUTER_LIVE_MODE_DEFAULT: "true",
    ROUTER_TIME_ZONE: "UTC",
  });
  await routerReady(u.client, u.seen);
  const { client, seen } = u;
  // An llm-worker without a model: the agreed error.
  await client.subscribe(topics.llmRequest, async (request) => {
    await client.publishEvent(topics.llmResponse, {
      id: request.id,
      error: "LLM not configured: set OPENAI_API_KEY or OPENAI_BASE_URL / LLM_BASE_URL.",
    });
  });
  await client.publishEvent(topics.sttFinal, { text: "Hey TARS, what time is it?" });
  await waitFor(() => seen.says.length === 1, "time answer", 10_000);
  assert.match(seen.says[0].text, /^It is \d{1,2}:\d\d (AM|PM)\.$/);
  await client.publishEvent(topics.sttFinal, { text: "Hello!" });
  await client.publishEvent(topics.sttFinal, { text: "Say I am alive" });
  await client.publishEvent(topics.sttFinal, { text: "Could you take a bow?" });
  await client.publishEvent(topics.sttFinal, { text: "halt" });
  await client.publishEvent(topics.sttFinal, { text: "Why is the sky blue?" });
  await waitFor(() => seen.says.length === 4, "all answers", 10_000);
  await waitFor(() => seen.moves.length === 1 && seen.stops === 1, "movement", 10_000);
  assert.deepEqual(texts(seen).slice(1), [
    "Hello! How can I help?",
    "I am alive",
    "My language model is not configured. Set OPENAI_API_KEY, or LLM_BASE_URL for a local server, for the llm-worker.",
  ]);
  assert.equal(seen.moves[0].command, "bow");
  assert.equal(seen.requests.length, 1);
});

Deno.test("router service: System online. from retained health, barge-in cancels, timeout falls back", async () => {
  await using broker = await startBroker();
  await using u = await user(broker.url);
  const { client, seen } = u;
  // stt and tts were up before the router started: retained health.
  await client.publishEvent(topics.systemHealth, { ok: true, event: "ready" }, {
    params: { client_id: "tars-stt" },
    retain: true,
  });
  await client.publishEvent(topics.systemHealth, { ok: true, event: "ready" }, {
    params: { client_id: "tars-tts" },
    retain: true,
  });
  await using _router = startRouter(broker.url, {
    ROUTER_LIVE_MODE_DEFAULT: "on",
    ROUTER_WAKE_ACK_ENABLED: "off",
    ROUTER_LLM_TIMEOUT_SEC: "1",
    ROUTER_LLM_FALLBACK_TEXT: "No answer.",
  });
  await waitFor(() => texts(seen).includes("System online."), "System online.", 15_000);
  assert.equal(seen.says[0].system_announce, true);

  // Barge-in: one sentence, then an interrupt; nothing more of that reply is spoken.
  await client.publishEvent(topics.sttFinal, { text: "Tell me a story", utt_id: "story" });
  await waitFor(() => seen.requests.length === 1, "request", 10_000);
  await client.publishEvent(topics.llmStream, { id: "story", seq: 1, delta: "Once upon a time." });
  await waitFor(() => texts(seen).includes("Once upon a time."), "first sentence", 10_000);
  await client.publishEvent(topics.wakeEvent, { type: "interrupt" });
  await waitFor(() => seen.cancels.some((c) => c.id === "story"), "llm/cancel", 10_000);
  await client.publishEvent(topics.llmStream, { id: "story", seq: 2, delta: " The end." });
  await client.publishEvent(topics.llmResponse, {
    id: "story",
    reply: "Once upon a time. The end.",
  });

  // Timeout: nobody answers within 1 s.
  await client.publishEvent(topics.sttFinal, { text: "Are you there?", utt_id: "silent" });
  await waitFor(() => texts(seen).includes("No answer."), "fallback", 10_000);
  await waitFor(() => seen.cancels.some((c) => c.id === "silent"), "cancel after timeout", 10_000);
  assert.deepEqual(texts(seen), ["System online.", "Once upon a time.", "No answer."]);
});

Deno.test("router service: bad input is counted and ignored, the router keeps working", async () => {
  await using broker = await startBroker();
  await using u = await user(broker.url);
  await using _router = startRouter(broker.url, { ROUTER_LIVE_MODE_DEFAULT: "1" });
  await routerReady(u.client, u.seen);
  const { client, seen } = u;
  await client.publishRaw(topics.sttFinal.topic, new TextEncoder().encode("{not json"), { qos: 1 });
  await client.publishJson(topics.llmStream.topic, { id: 5, seq: "x" }, { qos: 1 });
  await client.publishEvent(topics.sttFinal, { text: "" });
  await client.publishEvent(topics.llmResponse, { id: "nobody-asked", reply: "Stray." });
  await client.publishEvent(topics.sttFinal, { text: "hi" });
  await waitFor(() => seen.says.length === 1, "greeting after bad input", 10_000);
  assert.deepEqual(texts(seen), ["Hello! How can I help?"]);
});

Deno.test("router service: main.ts as a process answers, reports health and exits 0 on SIGTERM", async () => {
  await using broker = await startBroker();
  await using u = await user(broker.url);
  const child = spawnService("router", {
    MQTT_URL: broker.url,
    LOG_LEVEL: "warning",
    ROUTER_WAKE_ACK_CHOICES: "Mm?",
  });
  let stopped: { code: number; stderr: string };
  try {
    await routerReady(u.client, u.seen);
    await u.client.publishEvent(topics.wakeEvent, { type: "wake" });
    await u.client.publishEvent(topics.sttFinal, { text: "say process ok" });
    await waitFor(() => texts(u.seen).includes("process ok"), "answer from the process", 15_000);
    assert.deepEqual(texts(u.seen), ["Mm?", "process ok"]);
    let health: string | undefined;
    await u.client.subscribe(topics.systemHealth, (ping) => {
      health = ping.event ?? undefined;
    }, { params: { client_id: "tars-router" } });
    await waitFor(() => health === "ready", "retained health of tars-router", 10_000);
  } finally {
    stopped = await stopService(child);
  }
  assert.equal(stopped.code, 0, stopped.stderr);
});

Deno.test("router service: an invalid configuration exits 78 naming the variable", async () => {
  await using broker = await startBroker();
  const code = await runService("router", routerService, {
    env: { MQTT_URL: broker.url, ROUTER_WAKE_WINDOW_SEC: "soon" },
    logging: { sink: () => {} },
    exit: false,
  });
  assert.equal(code, 78);
});
