/**
 * The brain loop end to end: router and llm-worker run as child processes (their real
 * main.ts) against real Mosquitto and the fake OpenAI server. stt/final → llm/request →
 * streamed deltas → sentences on tts/say in order; a wake `interrupt` mid-stream cancels the
 * request, which stops both the HTTP stream and the speech.
 *
 * Health "ready" is published at connect, before a service subscribes, so readiness is
 * observed by behaviour: llm-worker's character/get (sent after its subscriptions) and the
 * router answering a "what time is it" probe (a rule, no LLM involved).
 */
import assert from "node:assert/strict";
import { type HealthPing, type LLMRequest, topics, type TtsSay } from "../../core/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import { fake, startFakeOpenAI } from "../helpers/llm_fake_openai.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { afterMarker, drainMarker } from "../helpers/marker.ts";
import { sleep, testClient, waitFor } from "../helpers/wait.ts";

const T = 20_000;

async function brain(
  test: (ctx: {
    llm: Awaited<ReturnType<typeof startFakeOpenAI>>;
    user: ReturnType<typeof testClient>;
    said: TtsSay[];
    requests: LLMRequest[];
    responses: string[];
  }) => Promise<void>,
) {
  await using broker = await startBroker();
  await using llm = await startFakeOpenAI({ apiKey: "sk-e2e" });
  await using user = testClient(broker.url);
  await user.connect({ timeoutMs: T });
  const ready = new Set<string>();
  await user.subscribe(topics.systemHealth, (ping: HealthPing, context) => {
    if (ping.event === "ready") ready.add(context.topic);
  });
  const said: TtsSay[] = [];
  await user.subscribe(topics.ttsSay, (say) => void said.push(say));
  const requests: LLMRequest[] = [];
  await user.subscribe(topics.llmRequest, (request) => void requests.push(request));
  const responses: string[] = [];
  await user.subscribe(topics.llmResponse, (response) => void responses.push(response.id));
  let workerSubscribed = false;
  await user.subscribe(topics.characterGet, () => {
    workerSubscribed = true;
  });
  const base = { PATH: Deno.env.get("PATH") ?? "", MQTT_URL: broker.url };
  const worker = spawnService("llm-worker", {
    ...base,
    OPENAI_API_KEY: "sk-e2e",
    OPENAI_BASE_URL: llm.baseURL,
    LLM_MODEL: "fake-model",
  });
  const router = spawnService("router", {
    ...base,
    ROUTER_LIVE_MODE_DEFAULT: "true",
    ONLINE_ANNOUNCE: "false",
    ROUTER_WAKE_ACK_ENABLED: "false",
    ROUTER_STREAM_MIN_CHARS: "10",
  });
  const results: Array<{ code: number; stderr: string }> = [];
  try {
    await waitFor(
      () => ready.has("system/health/tars-llm") && ready.has("system/health/tars-router"),
      "router and llm-worker ready",
      T,
    );
    await waitFor(() => workerSubscribed, "llm-worker subscribed (character/get)", T);
    // Probe the router until it answers (a probe sent before it subscribed is lost).
    const deadline = Date.now() + T;
    while (said.length === 0) {
      if (Date.now() > deadline) throw new Error("router never answered the time probe");
      await user.publishEvent(topics.sttFinal, { text: "what time is it" });
      const until = Date.now() + 500;
      while (said.length === 0 && Date.now() < until) await sleep(20);
    }
    // A marker through the probes' path (stt/final → router rule → tts/say, handled in order):
    // once it is said, the answers to earlier probes have arrived.
    await afterMarker(
      (marker) => user.publishEvent(topics.sttFinal, { text: `say ${marker}` }),
      (marker) => said.some((say) => say.text.includes(marker)),
      { what: "the router's answer to the marker", timeoutMs: T },
    );
    said.length = 0;
    await test({ llm, user, said, requests, responses });
  } finally {
    results.push(await stopService(router), await stopService(worker));
  }
  for (const result of results) assert.equal(result.code, 0, result.stderr);
}

Deno.test("brain loop: stt/final → llm/request → streamed deltas → sentences on tts/say in order", async () => {
  await brain(async ({ llm, user, said, requests, responses }) => {
    llm.enqueue(fake.text([
      "The first",
      " sentence is here.",
      " The second",
      " one follows!",
      " Is this",
      " the third?",
    ], { chunkDelayMs: 30 }));
    await user.publishEvent(topics.sttFinal, { text: "tell me three things" });
    await waitFor(() => said.length >= 3, "three sentences spoken", T);
    // Nothing more should follow. The router has the llm/response before a transcript sent after
    // it; the transcript's answer (a rule, on tts/say after the reply's sentences) is the marker.
    await waitFor(() => responses.length === 1, "the llm/response", T);
    await drainMarker(
      said,
      (marker) => user.publishEvent(topics.sttFinal, { text: `say ${marker}` }),
      (say, marker) => say.text.includes(marker),
      { what: "the router's answer to the marker", timeoutMs: T },
    );
    assert.deepEqual(said.map((say) => say.text.trim()), [
      "The first sentence is here.",
      "The second one follows!",
      "Is this the third?",
    ]);
    assert.equal(requests.length, 1);
    assert.equal(requests[0].text, "tell me three things");
    assert.equal(requests[0].stream, true);
    assert.equal(llm.requests[0].stream, true);
    assert.equal(llm.requests[0].body.messages.at(-1)?.content, "tell me three things");
    assert.equal(await llm.waitForEnd(1), "completed");
  });
});

Deno.test("brain loop: wake interrupt mid-stream stops the HTTP stream and the speech", async () => {
  await brain(async ({ llm, user, said }) => {
    const sentences = Array.from({ length: 40 }, (_, i) => ` Sentence number ${i + 1} is here.`);
    llm.enqueue(fake.text(sentences, { chunkDelayMs: 150 }));
    await user.publishEvent(topics.sttFinal, { text: "talk for a long time" });
    await waitFor(() => said.length >= 1, "first sentence spoken", T);
    await user.publishEvent(topics.wakeEvent, { type: "interrupt" });
    assert.equal(await llm.waitForEnd(1, T), "aborted", "HTTP stream aborted by the cancel");
    const spoken = said.filter((say) => !say.wake_ack).length;
    // Real time, not a marker: late deltas would come from llm-worker's connection, which the
    // test cannot publish a marker on; several chunk periods (150 ms) pass instead.
    await sleep(800);
    assert.equal(said.filter((say) => !say.wake_ack).length, spoken, "no speech after the cancel");
    assert.ok(spoken < 10, `stopped early (${spoken} sentences)`);
    assert.ok(llm.requests[0].chunksSent < 40);
  });
});
