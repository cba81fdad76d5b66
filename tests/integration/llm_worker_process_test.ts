/**
 * llm-worker as a process (`services/llm-worker/main.ts`), the way `deno task dev` and
 * systemd run it: health as tars-llm, a streamed answer from the fake OpenAI server, the
 * "LLM not configured" answer with no env, SIGTERM → exit 0 with health `shutdown`, bad env
 * → exit 78 naming the variable. Health "ready" is published at connect, before the
 * worker subscribes; its character/get (sent once its subscriptions are in place) is the
 * signal that it listens.
 */
import assert from "node:assert/strict";
import { type HealthPing, type LLMResponse, topics } from "../../core/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { fake, startFakeOpenAI } from "../helpers/llm_fake_openai.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

const T = 20_000;

/** Resolves `true` once the worker (re)published character/get: it is subscribed. */
async function watchSubscribed(watcher: ReturnType<typeof testClient>): Promise<() => boolean> {
  let seen = false;
  await watcher.subscribe(topics.characterGet, () => {
    seen = true;
  });
  return () => seen;
}

Deno.test("llm-worker process: health as tars-llm, streams a reply, stops cleanly on SIGTERM", async () => {
  await using broker = await startBroker();
  await using llm = await startFakeOpenAI({ apiKey: "sk-proc" });
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const health: HealthPing[] = [];
  await watcher.subscribe(topics.systemHealth, (ping) => void health.push(ping), {
    params: { client_id: "tars-llm" },
  });
  const responses: LLMResponse[] = [];
  await watcher.subscribe(topics.llmResponse, (response) => void responses.push(response));
  const subscribed = await watchSubscribed(watcher);
  const child = spawnService("llm-worker", {
    PATH: Deno.env.get("PATH") ?? "",
    MQTT_URL: broker.url,
    OPENAI_API_KEY: "sk-proc",
    LLM_BASE_URL: llm.baseURL,
    LLM_MODEL: "fake-model",
  });
  let result: { code: number; stderr: string } | null = null;
  try {
    await waitFor(() => health.some((h) => h.event === "ready"), "health ready", T);
    await waitFor(subscribed, "worker subscribed (character/get)", T);
    llm.enqueue(fake.text("Process says hi."));
    await watcher.publishEvent(topics.llmRequest, { id: "p-1", text: "hello" });
    await waitFor(() => responses.length === 1, "llm/response", T);
    assert.equal(responses[0].reply, "Process says hi.");
    assert.equal(llm.requests[0].headers.authorization, "Bearer sk-proc");
  } finally {
    result = await stopService(child);
  }
  assert.equal(result.code, 0, result.stderr);
  await waitFor(() => health.some((h) => h.event === "shutdown"), "health shutdown", T);
});

Deno.test("llm-worker process: without OPENAI_API_KEY / base URL it answers 'LLM not configured'", async () => {
  await using broker = await startBroker();
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const responses: LLMResponse[] = [];
  await watcher.subscribe(topics.llmResponse, (response) => void responses.push(response));
  const health: HealthPing[] = [];
  await watcher.subscribe(topics.systemHealth, (ping) => void health.push(ping), {
    params: { client_id: "tars-llm" },
  });
  const subscribed = await watchSubscribed(watcher);
  const child = spawnService("llm-worker", { MQTT_URL: broker.url });
  let result: { code: number; stderr: string } | null = null;
  try {
    // Its health says so, with the fix, for the dashboard's banner.
    await waitFor(
      () => health.some((h) => h.event === "llm_not_configured"),
      "health llm_not_configured",
      T,
    );
    const notConfigured = health.find((h) => h.event === "llm_not_configured")!;
    assert.equal(notConfigured.ok, false);
    assert.match(notConfigured.err ?? "", /^LLM not configured: set OPENAI_API_KEY/);
    await waitFor(subscribed, "worker subscribed (character/get)", T);
    await watcher.publishEvent(topics.llmRequest, { id: "n-1", text: "hello" });
    await waitFor(() => responses.length === 1, "llm/response", T);
    assert.match(responses[0].error ?? "", /^LLM not configured: set OPENAI_API_KEY/);
  } finally {
    result = await stopService(child);
  }
  assert.equal(result.code, 0, result.stderr);
  // Everything it published before its last word: never "ready" while not configured.
  await waitFor(() => health.some((h) => h.event === "shutdown"), "health shutdown", T);
  assert.deepEqual(
    health.map((h) => h.event).filter((e) => e !== "shutdown"),
    ["starting", "llm_not_configured"],
  );
});

Deno.test("llm-worker process: an unreachable LLM server makes health degraded with the reason, a working one makes it ready again", async () => {
  await using broker = await startBroker();
  await using llm = await startFakeOpenAI({ apiKey: "sk-proc" });
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const responses: LLMResponse[] = [];
  await watcher.subscribe(topics.llmResponse, (response) => void responses.push(response));
  const health: HealthPing[] = [];
  await watcher.subscribe(topics.systemHealth, (ping) => void health.push(ping), {
    params: { client_id: "tars-llm" },
  });
  const subscribed = await watchSubscribed(watcher);
  const child = spawnService("llm-worker", {
    MQTT_URL: broker.url,
    OPENAI_API_KEY: "sk-proc",
    LLM_BASE_URL: llm.baseURL,
    LLM_MODEL: "fake-model",
    LLM_RETRY_DEADLINE_SEC: "0.2",
  });
  let result: { code: number; stderr: string } | null = null;
  try {
    await waitFor(() => health.some((h) => h.event === "ready"), "health ready", T);
    await waitFor(subscribed, "worker subscribed (character/get)", T);
    llm.fallback = fake.error(500, { message: "model not loaded" });
    await watcher.publishEvent(topics.llmRequest, { id: "f-1", text: "hello" });
    await waitFor(() => responses.length === 1, "llm/response", T);
    assert.ok(responses[0].error, "an error answer");
    await waitFor(() => health.some((h) => h.event === "llm_error"), "health llm_error", T);
    const failing = health.find((h) => h.event === "llm_error")!;
    assert.equal(failing.ok, false);
    assert.equal(failing.err, responses[0].error);
    llm.fallback = fake.text("Back again.");
    await watcher.publishEvent(topics.llmRequest, { id: "f-2", text: "hello" });
    await waitFor(() => responses.length === 2, "second llm/response", T);
    assert.equal(responses[1].reply, "Back again.");
    await waitFor(
      () => health.at(-1)?.event === "ready" && health.at(-1)?.ok === true,
      "health ready again",
      T,
    );
  } finally {
    result = await stopService(child);
  }
  assert.equal(result.code, 0, result.stderr);
});

Deno.test("llm-worker process: bad env exits 78 naming the variable", async () => {
  await using broker = await startBroker(); // runService reads service config once connected
  const child = spawnService("llm-worker", {
    MQTT_URL: broker.url,
    LLM_TEMPERATURE: "hot",
    LLM_BASE_URL: "ftp://nope",
    OPENAI_API_KEY: "sk-secret-value",
  });
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  assert.equal(status.code, 78, stderr);
  assert.match(stderr, /LLM_TEMPERATURE/);
  assert.match(stderr, /LLM_BASE_URL/);
  assert.ok(!stderr.includes("sk-secret-value"));
});
