/**
 * One voice turn through the real router (in-process, its real main) with ui-web watching:
 * the test plays stt-worker (stt/vad, stt/final), llm-worker (llm/stream, llm/response) and
 * tts-worker (tts/status, tts/audio) and wake-activation (wake/event). ui-web's `/api/state`
 * then has the turn's complete timeline, and the finished turn is published on system/turn.
 */
import assert from "node:assert/strict";
import { runService, topics, type TurnTiming } from "../../core/mod.ts";
import { routerService } from "../../services/router/main.ts";
import { startUiWebHarness } from "../helpers/ui_web_harness.ts";
import { sleep, waitFor } from "../helpers/wait.ts";

Deno.test("ui-web traces a turn through the real router: /api/state and system/turn", async () => {
  await using h = await startUiWebHarness();
  const world = h.world;
  const published: TurnTiming[] = [];
  await world.subscribe(topics.systemTurn, (turn) => void published.push(turn));
  const says: Array<{ text: string; utt_id?: string | null }> = [];
  // llm-worker: a one-sentence streamed reply after 50 ms.
  await world.subscribe(topics.llmRequest, async (request) => {
    await sleep(50);
    await world.publishEvent(topics.llmStream, { id: request.id, seq: 1, delta: "Sure thing." });
    await world.publishEvent(topics.llmStream, { id: request.id, seq: 2, delta: "", done: true });
    await world.publishEvent(topics.llmResponse, { id: request.id, reply: "Sure thing." });
  });
  // tts-worker: speaks the reply's sentences.
  await world.subscribe(topics.ttsSay, async (say) => {
    says.push(say);
    if (say.utt_id !== "utt-1") return;
    await sleep(20);
    await world.publishEvent(topics.ttsStatus, { event: "speaking_start", utt_id: "utt-1" });
    const chunk = {
      utt_id: "utt-1",
      sample_rate: 16000,
      channels: 1 as const,
      format: "pcm_s16le" as const,
    };
    await world.publishEvent(topics.ttsAudio, { ...chunk, seq: 0, data: "AAAA", final: false });
    await world.publishEvent(topics.ttsAudio, { ...chunk, seq: 1, data: "", final: true });
    await world.publishEvent(topics.ttsStatus, { event: "speaking_end", utt_id: "utt-1" });
  });

  const stop = new AbortController();
  const router = runService("router", routerService, {
    env: {
      MQTT_URL: h.broker.url,
      LOG_LEVEL: "error",
      ONLINE_ANNOUNCE: "false",
      ROUTER_WAKE_ACK_ENABLED: "false",
    },
    logging: { sink: () => {} },
    exit: false,
    signal: stop.signal,
  });
  try {
    // The first answer proves the router is subscribed (typed text is not gated).
    const deadline = Date.now() + 15_000;
    while (!says.some((s) => s.text === "ready")) {
      if (Date.now() > deadline) throw new Error("the router never answered");
      await h.uiClient.publishEvent(topics.sttFinal, { text: "say ready" });
      await waitFor(() => says.some((s) => s.text === "ready"), "ready", 300).catch(() => {});
    }
    // The turn: wake word, speech, transcript; the router asks the LLM (the wake window is open).
    await world.publishEvent(topics.wakeEvent, { type: "wake", confidence: 0.9 });
    await sleep(30);
    await world.publishEvent(topics.sttVad, { event: "speech_start", utt_id: "utt-1" });
    await sleep(30);
    await world.publishEvent(topics.sttVad, {
      event: "speech_end",
      utt_id: "utt-1",
      reason: "silence",
      duration_ms: 30,
    });
    await sleep(10);
    await world.publishEvent(topics.sttFinal, { text: "tell me a joke", utt_id: "utt-1" });
    await waitFor(() => published.some((t) => t.turn_id === "utt-1"), "system/turn", 10_000);

    const state = await (await fetch(`${h.base}/api/state`)).json();
    const turn = (state.turns as TurnTiming[]).find((t) => t.turn_id === "utt-1");
    assert.ok(turn, JSON.stringify(state.turns));
    assert.equal(turn.decision, "llm");
    assert.equal(turn.text, "tell me a joke");
    assert.equal(turn.done, true);
    assert.deepEqual(Object.keys(turn.marks).sort(), [
      "decision",
      "first_audio",
      "first_sentence",
      "first_token",
      "llm_request",
      "playback_end",
      "playback_start",
      "speech_end",
      "speech_start",
      "stt_final",
      "wake",
    ]);
    assert.deepEqual(turn.stages.map((s) => s.stage), [
      "listen",
      "speech",
      "stt",
      "route",
      "llm",
      "sentence",
      "tts",
      "playback",
    ]);
    const llm = turn.stages.find((s) => s.stage === "llm")!;
    assert.ok(llm.ms >= 45, `the LLM stand-in's 50 ms show (${llm.ms} ms)`);
    assert.ok(turn.response_ms! >= llm.ms, "the gap includes the LLM");
    const onBus = published.find((t) => t.turn_id === "utt-1")!;
    assert.deepEqual(onBus.stages, turn.stages);
  } finally {
    stop.abort();
  }
  assert.equal(await router, 0);
});
