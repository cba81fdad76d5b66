/**
 * memory-worker over a real Mosquitto broker: ingestion (stt/final, the sentences of a
 * reply on tts/say, memory/store), memory/query → memory/results with the query's id for
 * every strategy, budgets, context, raw queries, persistence across a restart, the character
 * (retained current, get, update, reset, persisted), health on a storage failure, and the
 * onnx and openai embedders end to end.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  type CharacterResult,
  type CharacterSnapshot,
  getLogger,
  type HealthPing,
  type MemoryResults,
  type MqttClient,
  topics,
} from "../../core/mod.ts";
import { readMemoryConfig } from "../../services/memory-worker/config.ts";
import { createEmbedder } from "../../services/memory-worker/embedders/mod.ts";
import { type MemoryWorker, startMemoryWorker } from "../../services/memory-worker/service.ts";
import { startBroker } from "../helpers/broker.ts";
import { startEmbeddingServer, writeTinySentenceModel } from "../helpers/memory_embedders.ts";
import { collect, rawClient, testClient, waitFor } from "../helpers/wait.ts";

const T = 15_000;
const logger = getLogger("memory-worker-test");

interface Harness extends AsyncDisposable {
  readonly url: string;
  readonly dir: string;
  readonly peer: MqttClient;
  start(env?: Record<string, string>): Promise<{ worker: MemoryWorker; client: MqttClient }>;
  stop(): Promise<void>;
}

async function harness(): Promise<Harness> {
  const broker = await startBroker();
  const dir = await Deno.makeTempDir({ prefix: "tars-memory-" });
  const peer = testClient(broker.url);
  await peer.connect({ timeoutMs: T });
  let running: { worker: MemoryWorker; client: MqttClient } | null = null;
  const stop = async () => {
    if (!running) return;
    const { worker, client } = running;
    running = null;
    await worker.close();
    await client.disconnect();
  };
  return {
    url: broker.url,
    dir,
    peer,
    async start(env = {}) {
      const config = readMemoryConfig({ MEMORY_DIR: dir, MEMORY_REPLY_IDLE_MS: "300", ...env });
      const client = testClient(broker.url, { clientId: "tars-memory", enableHealth: true });
      await client.connect({ timeoutMs: T });
      const embedder = await createEmbedder(config.embedder);
      const worker = await startMemoryWorker({ client, logger }, { config, embedder });
      running = { worker, client };
      return running;
    },
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      await peer.disconnect();
      await broker[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const ask = (peer: MqttClient, text: string, extra: Record<string, unknown> = {}) =>
  peer.request(topics.memoryQuery, { text, ...extra }, {
    replyTopic: topics.memoryResults,
    timeoutMs: T,
  });

const texts = (results: MemoryResults) =>
  results.results.map((r) => `${r.context_type}:${(r.document as { text: string }).text}`);

async function say(peer: MqttClient, worker: MemoryWorker, lines: Array<Record<string, unknown>>) {
  const before = worker.db.count();
  for (const line of lines) {
    if ("is_final" in line) await peer.publishEvent(topics.sttFinal, line as never);
    else if ("fact" in line) {
      await peer.publishEvent(topics.memoryStore, { text: line.fact as string });
    } else await peer.publishEvent(topics.ttsSay, line as never);
  }
  return before;
}

Deno.test("memory-worker: ingests transcripts, whole replies and facts; answers every strategy", async () => {
  await using h = await harness();
  const { worker } = await h.start();
  await say(h.peer, worker, [
    { text: "my dog is called rex", is_final: true },
    { text: "Rex is a fine name.", utt_id: "r1" },
    { text: "Dogs like that name.", utt_id: "r1" },
    { text: "Yes?", utt_id: "ack1", wake_ack: true },
    { text: "where does my sister anna live", is_final: true },
    { text: "Your sister Anna lives in Berlin.", utt_id: "r2" },
    { fact: "Anna's birthday is in March" },
    { text: "what is the weather tomorrow", is_final: true },
  ]);
  // r2 is still collecting until the reply goes quiet (300 ms).
  await waitFor(() => worker.db.count() === 6, "six memories", T);
  assert.equal(worker.counters.skipped, 1, "the wake ack");

  const recent = await ask(h.peer, "", { retrieval_strategy: "recent", top_k: 6 });
  assert.deepEqual(
    texts(recent).map((t) => t.split(":")[1]).sort(),
    [
      "Anna's birthday is in March",
      "Rex is a fine name. Dogs like that name.",
      "Your sister Anna lives in Berlin.",
      "my dog is called rex",
      "what is the weather tomorrow",
      "where does my sister anna live",
    ].sort(),
  );
  assert.equal(recent.strategy_used, "recent");
  assert.equal(recent.k, 6);
  const roles = recent.results.map((r) => (r.document as { role: string }).role);
  assert.ok(roles.includes("assistant") && roles.includes("user") && roles.includes("fact"));

  const hybrid = await ask(h.peer, "When is Anna's birthday?", { top_k: 1 });
  assert.deepEqual(texts(hybrid), ["target:Anna's birthday is in March"]);
  assert.equal(hybrid.strategy_used, "lexical", "no embedder: lexical ranks");
  const similarity = await ask(h.peer, "rex", { retrieval_strategy: "similarity", top_k: 5 });
  assert.equal(similarity.k, 2);

  const budget = await ask(h.peer, "anna rex weather name", { top_k: 5, max_tokens: 12 });
  assert.ok(budget.truncated);
  assert.ok((budget.total_tokens ?? 0) <= 12);

  const context = await ask(h.peer, "birthday", {
    top_k: 1,
    include_context: true,
    context_window: 1,
  });
  assert.deepEqual(texts(context), [
    "previous:Your sister Anna lives in Berlin.",
    "target:Anna's birthday is in March",
    "next:what is the weather tomorrow",
  ]);
});

Deno.test("memory-worker: a reply reuses the query's id; raw {query, top_k} is answered too", async () => {
  await using h = await harness();
  const { worker } = await h.start();
  await say(h.peer, worker, [{ text: "coffee in the morning", is_final: true }]);
  await waitFor(() => worker.db.count() === 1, "stored", T);
  await using raw = await rawClient(h.url);
  const replies = await collect(raw, topics.memoryResults.topic);
  const envelopeId = await h.peer.publishEvent(topics.memoryQuery, { text: "coffee" });
  await raw.publishAsync(
    topics.memoryQuery.topic,
    JSON.stringify({ query: "morning", top_k: 2, message_id: "raw-1" }),
    { qos: 1 },
  );
  await raw.publishAsync(topics.memoryQuery.topic, "{not json", { qos: 1 });
  await raw.publishAsync(topics.memoryQuery.topic, JSON.stringify({ top_k: "many" }), { qos: 1 });
  await waitFor(() => replies.length >= 2, "two replies", T);
  const byId = new Map(replies.map((r) => {
    const envelope = JSON.parse(r.text);
    return [envelope.id, envelope.data];
  }));
  assert.equal(byId.get(envelopeId)?.query, "coffee");
  assert.equal(byId.get("raw-1")?.query, "morning");
  assert.equal(byId.get("raw-1")?.k, 1);
  // Bad queries were dropped, and the worker still answers. The last query is the marker:
  // queries are answered in order, so once its reply reached the raw collector, any reply to
  // a bad query would have arrived before it.
  await raw.publishAsync(
    topics.memoryQuery.topic,
    JSON.stringify({ query: "coffee", message_id: "marker-1" }),
    { qos: 1 },
  );
  await waitFor(
    () => replies.some((r) => JSON.parse(r.text).id === "marker-1"),
    "the marker's reply",
    T,
  );
  const after = replies.map((r) => JSON.parse(r.text)).find((e) => e.id === "marker-1").data;
  assert.equal(after.k, 1);
  assert.equal(replies.length, 3);
});

Deno.test("memory-worker: memories and trait changes survive a restart", async () => {
  await using h = await harness();
  let { worker } = await h.start();
  await say(h.peer, worker, [{ text: "the robot battery is low", is_final: true }]);
  await waitFor(() => worker.db.count() === 1, "stored", T);
  const current: CharacterSnapshot[] = [];
  await h.peer.subscribe(topics.systemCharacterCurrent, (c) => void current.push(c));
  await waitFor(() => current.length === 1, "retained character", T);
  await h.peer.publishEvent(topics.characterUpdate, {
    section: "traits",
    trait: "humor",
    value: 40,
  });
  await waitFor(() => current.at(-1)?.traits.humor === 40, "humor 40 published", T);
  await h.stop();

  ({ worker } = await h.start());
  assert.equal(worker.db.count(), 1);
  const found = await ask(h.peer, "battery");
  assert.deepEqual(texts(found), ["target:the robot battery is low"]);
  assert.equal(worker.character.snapshot().traits.humor, 40);
  await waitFor(() => current.length >= 2 && current.at(-1)?.traits.humor === 40, "republished", T);
});

Deno.test("memory-worker: character current (retained), get, update, reset; bad updates ignored", async () => {
  await using h = await harness();
  await h.start();
  // A late subscriber gets the retained character.
  const current: CharacterSnapshot[] = [];
  await h.peer.subscribe(topics.systemCharacterCurrent, (c) => void current.push(c));
  await waitFor(() => current.length === 1, "retained character", T);
  assert.equal(current[0].name, "TARS");
  assert.equal(current[0].traits.humor, 90);

  const get = (section?: string) =>
    h.peer.request(topics.characterGet, section ? { section } : {}, {
      replyTopic: topics.characterResult,
      timeoutMs: T,
    }) as Promise<CharacterResult>;
  const whole = await get();
  assert.ok("name" in whole && whole.name === "TARS");
  const voice = await get("voice");
  assert.deepEqual(voice, {
    ...voice,
    section: "voice",
    value: { voice_id: "TARS", rate: 1, pitch: 0 },
  });
  const unknown = await get("hobbies");
  assert.ok("section" in unknown);
  assert.deepEqual((unknown.value as { error: string }).error, "unknown section 'hobbies'");
  assert.ok((unknown.value as { available: string[] }).available.includes("traits"));

  await h.peer.publishEvent(topics.characterUpdate, {
    section: "traits",
    trait: "humor",
    value: 75,
  });
  await waitFor(() => current.at(-1)?.traits.humor === 75, "humor 75", T);
  await using raw = await rawClient(h.url);
  // Out of range and unknown traits change nothing (and do not crash it).
  await raw.publishAsync(
    topics.characterUpdate.topic,
    JSON.stringify({ trait: "humor", value: 500 }),
    { qos: 1 },
  );
  await raw.publishAsync(
    topics.characterUpdate.topic,
    JSON.stringify({ trait: "charm", value: 5 }),
    { qos: 1 },
  );
  await raw.publishAsync(topics.characterUpdate.topic, JSON.stringify({ action: "reset_traits" }), {
    qos: 1,
  });
  await waitFor(() => current.at(-1)?.traits.humor === 90, "reset to the file's 90", T);
  assert.equal(current.filter((c) => c.traits.humor === 500).length, 0);
  assert.equal("charm" in current.at(-1)!.traits, false);
});

Deno.test("memory-worker: a locked database turns health ok:false, and nothing is lost", async () => {
  await using h = await harness();
  const health: HealthPing[] = [];
  await h.peer.subscribe(topics.systemHealth, (p) => void health.push(p), {
    params: { client_id: "tars-memory" },
  });
  const { worker } = await h.start({ MEMORY_BUSY_TIMEOUT_MS: "50", MEMORY_RETRY_MS: "100" });
  // Another process holds the write lock: every write fails with "database is locked".
  const locker = new DatabaseSync(`${h.dir}/memory.sqlite`);
  locker.exec("BEGIN EXCLUSIVE");
  try {
    await h.peer.publishEvent(topics.sttFinal, { text: "remember the milk" });
    await waitFor(() => health.some((p) => !p.ok && p.event === "storage_error"), "ok:false", T);
    const failure = health.find((p) => !p.ok)!;
    assert.match(failure.err ?? "", /locked/);
    assert.equal(worker.writer.backlog, 1);
  } finally {
    locker.exec("ROLLBACK");
    locker.close();
  }
  await waitFor(() => worker.db.count() === 1, "the memory was written after all", T);
  await waitFor(() => health.at(-1)?.ok === true, "health ok again", T);
  const found = await ask(h.peer, "milk");
  assert.equal(found.k, 1);
});

Deno.test("memory-worker: onnx embedder — vectors in the background, hybrid and similarity", async () => {
  await using h = await harness();
  const modelDir = `${h.dir}/model`;
  await Deno.mkdir(modelDir);
  await writeTinySentenceModel(modelDir, { dims: 16 });
  const { worker } = await h.start({ EMBED_BACKEND: "onnx", EMBED_MODEL: modelDir });
  await say(h.peer, worker, [
    { text: "my dog is called rex", is_final: true },
    { text: "the weather is sunny today", is_final: true },
    { text: "my sister anna lives in berlin", is_final: true },
  ]);
  await waitFor(() => worker.db.count() === 3 && worker.db.unembeddedCount() === 0, "embedded", T);
  const similar = await ask(h.peer, "where does anna live", {
    retrieval_strategy: "similarity",
    top_k: 1,
  });
  assert.deepEqual(texts(similar), ["target:my sister anna lives in berlin"]);
  assert.equal(similar.strategy_used, "similarity");
  const hybrid = await ask(h.peer, "rex the dog", { top_k: 2 });
  assert.equal(hybrid.strategy_used, "hybrid");
  assert.equal(texts(hybrid)[0], "target:my dog is called rex");
});

Deno.test("memory-worker: openai embedder — retries a failing endpoint, then ranks by vectors", async () => {
  await using h = await harness();
  await using server = startEmbeddingServer();
  server.failNext(1);
  const { worker } = await h.start({
    EMBED_BACKEND: "openai",
    EMBED_BASE_URL: server.baseUrl,
    EMBED_API_KEY: "sk-local",
    EMBED_MODEL: "nomic-embed-text",
  });
  await say(h.peer, worker, [
    { text: "coffee in the morning", is_final: true },
    { text: "tea in the afternoon", is_final: true },
  ]);
  await waitFor(() => worker.db.unembeddedCount() === 0 && worker.db.count() === 2, "embedded", T);
  assert.ok(worker.indexer!.failures >= 1, "the 503 was retried");
  const found = await ask(h.peer, "morning coffee", { retrieval_strategy: "similarity", top_k: 1 });
  assert.deepEqual(texts(found), ["target:coffee in the morning"]);
  assert.ok(server.requests.every((r) => r.model === "nomic-embed-text"));
  assert.ok(server.requests.every((r) => r.authorization === "Bearer sk-local"));
  // The endpoint goes away: queries still work, lexically.
  await server.close();
  const lexical = await ask(h.peer, "tea", { top_k: 1 });
  assert.equal(lexical.strategy_used, "lexical");
  assert.deepEqual(texts(lexical), ["target:tea in the afternoon"]);
});
