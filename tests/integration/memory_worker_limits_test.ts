/**
 * memory-worker and size limits, over a real Mosquitto broker: an oversized transcript is not
 * stored, a query at the contract's limit is answered quickly, an oversized one is dropped
 * while the worker stays connected and answers the next, and results keep within
 * memory/results' byte limit.
 */
import assert from "node:assert/strict";
import { Envelope, getLogger, type MqttClient, TEXT_LIMITS, topics } from "../../core/mod.ts";
import { readMemoryConfig } from "../../services/memory-worker/config.ts";
import { type MemoryWorker, startMemoryWorker } from "../../services/memory-worker/service.ts";
import { startBroker } from "../helpers/broker.ts";
import { collect, rawClient, testClient, waitFor } from "../helpers/wait.ts";

const T = 15_000;
const MIB = 1024 * 1024;
const logger = getLogger("memory-worker-limits-test");

interface Harness extends AsyncDisposable {
  readonly url: string;
  readonly peer: MqttClient;
  readonly client: MqttClient;
  readonly worker: MemoryWorker;
}

async function harness(): Promise<Harness> {
  const broker = await startBroker();
  const dir = await Deno.makeTempDir({ prefix: "tars-memory-limits-" });
  const peer = testClient(broker.url);
  await peer.connect({ timeoutMs: T });
  const config = readMemoryConfig({ MEMORY_DIR: dir, MEMORY_REPLY_IDLE_MS: "300" });
  const client = testClient(broker.url, { clientId: "tars-memory", enableHealth: true });
  await client.connect({ timeoutMs: T });
  const worker = await startMemoryWorker({ client, logger }, { config, embedder: null });
  return {
    url: broker.url,
    peer,
    client,
    worker,
    async [Symbol.asyncDispose]() {
      await worker.close();
      await client.disconnect();
      await peer.disconnect();
      await broker[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function envelope(eventType: string, data: Record<string, unknown>): string {
  return Envelope.toJson(Envelope.new({ eventType, data }));
}

/** `count` distinct words, e.g. `w0 w1 ...`, cut to at most `maxChars` characters. */
function distinctWords(count: number, maxChars: number): string {
  const words = Array.from({ length: count }, (_, i) => `w${i.toString(36)}`);
  return words.join(" ").slice(0, maxChars);
}

const ask = (peer: MqttClient, text: string, extra: Record<string, unknown> = {}) =>
  peer.request(topics.memoryQuery, { text, ...extra }, {
    replyTopic: topics.memoryResults,
    timeoutMs: T,
  });

Deno.test("memory-worker: a 20 MB stt/final is not stored; the next transcript is", async () => {
  await using h = await harness();
  await using raw = await rawClient(h.url);
  const huge = envelope("stt.final", { text: "x".repeat(20 * MIB) });
  await raw.publishAsync(topics.sttFinal.topic, huge, { qos: 1 });
  await h.peer.publishEvent(topics.sttFinal, { text: "my cat is called tom" });
  await waitFor(() => h.worker.db.count() >= 1, "the normal transcript was stored", T);
  assert.equal(h.worker.db.count(), 1);
  assert.equal(h.worker.db.newest(5)[0].text, "my cat is called tom");
  assert.equal(h.client.metrics().oversized, 1);
  assert.equal(h.client.connected, true);
});

Deno.test("memory-worker: a query at the limit answers fast; an oversized one is dropped", async () => {
  await using h = await harness();
  for (let i = 0; i < 200; i++) {
    h.worker.db.add("fact", `fact ${i} about w${i.toString(36)} and coffee`, { role: "fact" });
  }
  await using raw = await rawClient(h.url);
  const replies = await collect(raw, topics.memoryResults.topic);

  // Over the row's limit (1 MB of distinct words): dropped unread, never answered.
  const hugeId = "e".repeat(32);
  await raw.publishAsync(
    topics.memoryQuery.topic,
    Envelope.toJson(
      Envelope.new({
        eventType: "memory.query",
        data: { text: distinctWords(200_000, MIB) },
        correlate: hugeId,
      }),
    ),
    { qos: 1 },
  );
  // Within the row but over the text limit: rejected by the schema, never answered.
  await raw.publishAsync(
    topics.memoryQuery.topic,
    JSON.stringify({ query: distinctWords(10_000, TEXT_LIMITS.text + 1_000) }),
    { qos: 1 },
  );

  // At the limit: 10 000 characters of about 2 000 distinct words.
  const atLimit = distinctWords(10_000, TEXT_LIMITS.text);
  assert.equal(atLimit.length, TEXT_LIMITS.text);
  const started = performance.now();
  const answer = await ask(h.peer, atLimit, { top_k: 5 });
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 2_000, `answered in ${Math.round(elapsed)} ms`);
  assert.equal(answer.k, 5);

  const normal = await ask(h.peer, "coffee", { top_k: 3 });
  assert.equal(normal.k, 3);
  await waitFor(() => replies.length >= 2, "both answers were seen", T);
  assert.equal(replies.length, 2, "the two bad queries got no answer");
  assert.ok(replies.every((r) => JSON.parse(r.text).id !== hugeId));
  assert.equal(h.client.metrics().oversized, 1);
  assert.equal(h.client.metrics().invalid, 1);
  assert.equal(h.client.connected, true);
});

Deno.test("memory-worker: results are cut to fit memory/results' byte limit", async () => {
  await using h = await harness();
  // 40 documents of 60 000 three-byte characters: 7 MB, far over the 1 MiB limit.
  for (let i = 0; i < 40; i++) {
    h.worker.db.add("assistant", `needle ${"語".repeat(60_000)}`, { role: "assistant" });
  }
  const answer = await ask(h.peer, "needle", { top_k: 40 });
  assert.equal(answer.truncated, true);
  assert.ok(answer.k >= 1 && answer.k < 40, `k = ${answer.k}`);
  assert.equal(answer.results.length, answer.k);
});
