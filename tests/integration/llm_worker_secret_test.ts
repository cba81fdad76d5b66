/**
 * Issue #15: a provider error that echoes the API key must not leak it. The llm-worker
 * process (ops permissions, LOG_LEVEL=debug) talks to the fake OpenAI server, which answers
 * a wrong key with 401 and a body that echoes the key; the key must appear neither in the
 * llm/response nor anywhere in the process's log output. The key is deliberately not
 * key-shaped (no `sk-`): only its registration by the config loader can hide it.
 */
import assert from "node:assert/strict";
import { type LLMResponse, topics } from "../../core/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import { startFakeOpenAI } from "../helpers/llm_fake_openai.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

const T = 20_000;
const KEY = "tars-configured-credential-0xC0FFEE42";

Deno.test("llm-worker process: a 401 body echoing the API key reaches neither llm/response nor the log", async () => {
  await using broker = await startBroker();
  await using llm = await startFakeOpenAI({ apiKey: "the-right-key-123456" });
  // The fake really echoes the key it got (else this test would prove nothing).
  const probe = await fetch(`${llm.baseURL}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "m", messages: [] }),
  });
  assert.equal(probe.status, 401);
  assert.ok((await probe.text()).includes(KEY));

  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const responses: LLMResponse[] = [];
  const raw: string[] = [];
  await watcher.subscribe(topics.llmResponse, (response) => void responses.push(response));
  await watcher.subscribeRaw(topics.llmResponse, (bytes) => {
    raw.push(new TextDecoder().decode(bytes));
  });
  let subscribed = false;
  await watcher.subscribe(topics.characterGet, () => {
    subscribed = true;
  });
  const child = spawnService("llm-worker", {
    MQTT_URL: broker.url,
    OPENAI_API_KEY: KEY,
    LLM_BASE_URL: llm.baseURL,
    LLM_MODEL: "fake-model",
    LOG_LEVEL: "debug",
    LOG_FORMAT: "json",
  });
  let result: { code: number; stderr: string } | null = null;
  try {
    await waitFor(() => subscribed, "worker subscribed (character/get)", T);
    await watcher.publishEvent(topics.llmRequest, { id: "leak-1", text: "hello" });
    await waitFor(() => responses.length === 1 && raw.length === 1, "llm/response", T);
  } finally {
    result = await stopService(child);
  }
  assert.equal(result.code, 0, result.stderr);
  assert.equal(llm.requests.length, 2, "the probe and the worker's one request (401: no retry)");
  const response = responses[0];
  assert.equal(response.reply ?? null, null);
  assert.match(response.error ?? "", /rejected the request \(HTTP 401\): check OPENAI_API_KEY/);
  assert.ok(!raw[0].includes(KEY), `llm/response leaks the key: ${raw[0]}`);
  assert.match(result.stderr, /Request leak-1 failed/, "the failure is logged");
  assert.ok(!result.stderr.includes(KEY), `the log leaks the key:\n${result.stderr}`);
  assert.ok(!result.stderr.includes("0xC0FFEE42"), "not even a part of it");
});
