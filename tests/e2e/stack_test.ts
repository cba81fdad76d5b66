/**
 * The whole stack, started the way `deno task dev` starts it (`runDevStack` with `MQTT_URL` set
 * to a Mosquitto the test controls): text typed into the dashboard → router → llm-worker (a
 * local server speaking the OpenAI protocol) → tts-worker → audio chunks back to the browser's
 * event stream; the second question gets the first turn as memory context (llm-worker asks
 * memory-worker). Then the broker is killed and restarted in the middle of a streamed reply, and
 * the whole reply still reaches the browser.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runDevStack } from "../../ops/dev.ts";
import { existingServices } from "../../ops/services.ts";
import { freePort, startBroker } from "../helpers/broker.ts";
import { fake, startFakeOpenAI } from "../helpers/llm_fake_openai.ts";
import { postJson, readEvents, type UiEvent } from "../helpers/ui_web_harness.ts";
import { rawClient, waitFor } from "../helpers/wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const NEEDED = ["router", "llm-worker", "tts-worker", "ui-web"];
const have = existingServices(ROOT).map((s) => s.name as string);

/** The text of every conversation entry event so far, joined. */
function entryTexts(events: UiEvent[]): string {
  return events.filter((e) => e.type === "entry").map((e) => JSON.stringify(e)).join("\n");
}

Deno.test({
  name: "stack: dashboard text → router → llm → tts → browser audio, surviving a broker restart",
  ignore: !NEEDED.every((n) => have.includes(n)),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tars-stack-" });
    await using broker = await startBroker({ persistence: true });
    await using llm = await startFakeOpenAI({ apiKey: "sk-stack" });
    const uiPort = freePort();
    const lines: string[] = [];
    const stop = new AbortController();
    const stack = runDevStack({
      root: ROOT,
      env: {
        ...Deno.env.toObject(),
        MQTT_URL: broker.url,
        // persistent sessions: what is published while a subscriber reconnects waits for it
        MQTT_CLEAN_SESSION: "false",
        OPENAI_API_KEY: "sk-stack",
        OPENAI_BASE_URL: llm.baseURL,
        UI_PORT: String(uiPort),
        CAMERA_HTTP_PORT: String(freePort()),
        CAMERA_HTTP_HOST: "127.0.0.1",
        MEMORY_DIR: join(dir, "memory"),
        RAG_ENABLED: "true",
        TTS_OUTPUT_DIR: join(dir, "tts-out"),
        TTS_WAKE_CACHE_DIR: join(dir, "tts-cache"),
        LOG_LEVEL: "warning",
      },
      signal: stop.signal,
      out: (line) => lines.push(line),
      restartDelayMs: { min: 200, max: 1_000 },
    });
    const base = `http://127.0.0.1:${uiPort}`;
    try {
      // Every service up: retained health "ready" (its handlers subscribed, its servers listening).
      await using watcher = await rawClient(broker.url, "stack-watcher");
      const ready = new Set<string>();
      watcher.on("message", (topic, payload) => {
        const data = JSON.parse(payload.toString()).data;
        if (data?.ok) ready.add(topic.split("/")[2]);
      });
      await watcher.subscribeAsync("system/health/+", { qos: 1 });
      const ids = existingServices(ROOT).map((s) => s.clientId);
      await waitFor(
        () => ids.every((id) => ready.has(id)),
        `every service ready; output:\n${lines.join("\n")}`,
        60_000,
      );

      await using browser = await readEvents(base);
      const audioOf = (events: UiEvent[]) => events.filter((e) => e.type === "tts.audio");

      // 1. A typed sentence is answered and spoken back to the browser.
      llm.enqueue(fake.text("The answer is forty two. It is a fine number.", { chunkDelayMs: 20 }));
      const said = await postJson(base, "/api/say", { text: "what is the answer" });
      assert.equal(said.status, 202, JSON.stringify(said.body));
      const request = await llm.waitForRequest(1, 20_000);
      assert.match(JSON.stringify(request.body.messages), /what is the answer/);
      await waitFor(
        () => entryTexts(browser.events).includes("It is a fine number."),
        "the streamed reply in the dashboard",
        20_000,
      );
      await waitFor(
        () => audioOf(browser.events).some((e) => JSON.stringify(e).includes('"final":true')),
        "tts audio chunks in the browser",
        30_000,
      );

      // 2. The broker dies mid-reply and comes back: the reply is not lost.
      llm.enqueue(
        fake.text("First part of a long reply. Second part of it. Third and last part.", {
          chunkDelayMs: 250,
        }),
      );
      await postJson(base, "/api/say", { text: "tell me a long story about the answer" });
      const second = await llm.waitForRequest(2, 20_000);
      if (have.includes("memory-worker")) {
        // RAG: llm-worker asked memory-worker, which had stored the first turn.
        assert.match(
          JSON.stringify(second.body.messages),
          /Context:[^"]*what is the answer/,
          JSON.stringify(second.body.messages),
        );
      }
      await waitFor(
        () => entryTexts(browser.events).includes("First part"),
        "the start of the second reply",
        20_000,
      );
      await broker.kill();
      await new Promise((r) => setTimeout(r, 500));
      await broker.start();
      await waitFor(
        () => entryTexts(browser.events).includes("Third and last part."),
        `the whole second reply after the broker restart; output:\n${lines.slice(-40).join("\n")}`,
        45_000,
      );
    } finally {
      stop.abort();
      await stack.catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
