/**
 * The router with the real llm-worker (`services/llm-worker/main.ts` as a child process) and no
 * LLM configured: the agreed "LLM not configured" error makes the router speak how to configure
 * one, while the rules keep answering.
 */
import assert from "node:assert/strict";
import { runService, topics, type TtsSay } from "../../core/mod.ts";
import { routerService } from "../../services/router/main.ts";
import { DEFAULT_LLM_NOT_CONFIGURED_TEXT } from "../../services/router/config.ts";
import { startBroker } from "../helpers/broker.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

Deno.test("router + llm-worker without an LLM: the fallback tells how to configure one", async () => {
  await using broker = await startBroker();
  await using user = testClient(broker.url);
  await user.connect({ timeoutMs: 10_000 });
  const says: TtsSay[] = [];
  await user.subscribe(topics.ttsSay, (say) => {
    says.push(say);
  });
  let llmReady = false;
  await user.subscribe(topics.systemHealth, (health) => {
    // Subscribed and answering: with no LLM its health says so (ok false, with the fix).
    if (health.event === "llm_not_configured") llmReady = true;
  }, { params: { client_id: "tars-llm" } });

  const env: Record<string, string> = { MQTT_URL: broker.url, LOG_LEVEL: "error" };
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  // A clean environment: no OPENAI_API_KEY / LLM_BASE_URL from the developer's shell.
  const llm = spawnService("llm-worker", env);
  const stop = new AbortController();
  const router = runService("router", routerService, {
    env: { MQTT_URL: broker.url, LOG_LEVEL: "error", ROUTER_LIVE_MODE_DEFAULT: "1" },
    logging: { sink: () => {} },
    exit: false,
    signal: stop.signal,
  });
  let stopped: ReturnType<typeof stopService>;
  try {
    await waitFor(() => llmReady, "llm-worker health", 30_000);
    // Rules need no LLM; the first answer also proves the router is subscribed.
    const deadline = Date.now() + 15_000;
    while (!says.some((s) => s.text === "ready")) {
      if (Date.now() > deadline) throw new Error("the router never answered");
      await user.publishEvent(topics.sttFinal, { text: "say ready" });
      await waitFor(() => says.some((s) => s.text === "ready"), "ready", 300).catch(() => {});
    }
    await user.publishEvent(topics.sttFinal, { text: "Why is the sky blue?", utt_id: "sky" });
    await waitFor(
      () => says.some((s) => s.text === DEFAULT_LLM_NOT_CONFIGURED_TEXT),
      "not-configured sentence",
      20_000,
    );
    const answer = says.find((s) => s.text === DEFAULT_LLM_NOT_CONFIGURED_TEXT);
    assert.equal(answer?.utt_id, "sky");
  } finally {
    stop.abort();
    stopped = stopService(llm);
  }
  assert.equal(await router, 0);
  const status = await stopped;
  const log = status.stderr;
  assert.ok(status.code === 0 || status.signal === "SIGTERM", log);
});
