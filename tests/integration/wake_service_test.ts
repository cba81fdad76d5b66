/**
 * wake-activation over a real Mosquitto broker: espeak-ng "hey jarvis" published as raw PCM on
 * `audio/pcm/test` gives wake/event `wake` + wake/mic unmute; with TTS speaking (an enveloped
 * tts/status) it gives `interrupt` + tts/control pause, and an enveloped stt/final "cancel
 * that" gives tts/control stop + `cancelled`. "alexa" gives nothing.
 */
import assert from "node:assert/strict";
import {
  getLogger,
  topics,
  type TtsControl,
  type WakeEvent,
  type WakeMicCommand,
} from "../../core/mod.ts";
import { readWakeConfig } from "../../services/wake-activation/config.ts";
import { bundledKeywordModel } from "../../services/wake-activation/models.ts";
import { OpenWakeWordScorer } from "../../services/wake-activation/openwakeword.ts";
import { startWakeActivation } from "../../services/wake-activation/service.ts";
import { startBroker } from "../helpers/broker.ts";
import { pcmFrames } from "../helpers/speech_audio.ts";
import { testClient, waitFor } from "../helpers/wait.ts";
import { makeWakeClips } from "../helpers/wake_audio.ts";

const T = 20_000;

Deno.test("wake-activation service: PCM on audio/pcm/test → wake, interrupt, cancel over Mosquitto", async () => {
  const clips = await makeWakeClips();
  await using broker = await startBroker();
  await using serviceClient = testClient(broker.url);
  await using peer = testClient(broker.url);
  await Promise.all([serviceClient.connect({ timeoutMs: T }), peer.connect({ timeoutMs: T })]);

  const events: WakeEvent[] = [];
  const mics: WakeMicCommand[] = [];
  const controls: TtsControl[] = [];
  await peer.subscribe(topics.wakeEvent, (event) => void events.push(event));
  await peer.subscribe(topics.wakeMic, (command) => void mics.push(command));
  await peer.subscribe(topics.ttsControl, (control) => void controls.push(control));

  const config = readWakeConfig({ WAKE_IDLE_TIMEOUT_SEC: "30", WAKE_INTERRUPT_WINDOW_SEC: "30" });
  const createScorer = () =>
    OpenWakeWordScorer.load({ modelPath: bundledKeywordModel("hey_jarvis") });
  const service = await startWakeActivation(
    { client: serviceClient, logger: getLogger("wake-test") },
    { config, createScorer },
  );
  const send = async (pcm: Uint8Array) => {
    for (const frame of pcmFrames(pcm, 20)) {
      await peer.publishRaw(topics.audioPcm, frame, { params: { source: "test" } });
    }
  };
  try {
    // "alexa" and silence: nothing.
    await send(clips.alexa);
    await send(clips.silence);
    await waitFor(
      () => service.counters.audioBytes === clips.alexa.length + clips.silence.length,
      "all alexa/silence audio scored",
      T,
    );
    await waitFor(
      () =>
        service.detectors.get("audio/pcm/test")?.stats.frames === Math.floor(
          (clips.alexa.length + clips.silence.length) / 2 / 1280,
        ),
      "frames scored",
      T,
    );
    assert.equal(events.length, 0);

    // "hey jarvis": wake + mic unmute with ttl.
    await send(clips.heyJarvis);
    await waitFor(() => events.length === 1 && mics.length === 1, "wake/event + wake/mic", T);
    assert.equal(events[0].type, "wake");
    assert.equal(events[0].cause, "wake_phrase");
    assert.ok((events[0].confidence ?? 0) >= 0.55, `confidence ${events[0].confidence}`);
    assert.deepEqual([mics[0].action, mics[0].reason, mics[0].ttl_ms], ["unmute", "wake", 30_000]);

    // TTS speaking (enveloped tts/status), "hey jarvis" again: interrupt + pause.
    await peer.publishEvent(topics.ttsStatus, { event: "speaking_start", utt_id: "utt-9" });
    await waitFor(() => service.session.tts === "speaking", "tts/status read from its envelope", T);
    await send(clips.heyJarvisGb);
    await waitFor(() => controls.length === 1, "tts/control pause", T);
    assert.equal(events[1].type, "interrupt");
    assert.equal(events[1].tts_id, "utt-9");
    assert.deepEqual([controls[0].action, controls[0].reason, controls[0].id], [
      "pause",
      "wake_interrupt",
      "utt-9",
    ]);

    // An enveloped stt/final cancel phrase: stop + cancelled.
    await peer.publishEvent(topics.sttFinal, { text: "Cancel that." });
    await waitFor(() => controls.length === 2 && events.length === 3, "stop + cancelled", T);
    assert.deepEqual([controls[1].action, controls[1].reason, controls[1].id], [
      "stop",
      "wake_cancel",
      "utt-9",
    ]);
    assert.equal(events[2].type, "cancelled");
    assert.equal(service.counters.audioDropped, 0);
  } finally {
    await service.close();
  }
});

Deno.test("wake-activation service: odd-sized bytes and a second source are handled, not fatal", async () => {
  await using broker = await startBroker();
  await using serviceClient = testClient(broker.url);
  await using peer = testClient(broker.url);
  await Promise.all([serviceClient.connect({ timeoutMs: T }), peer.connect({ timeoutMs: T })]);
  const config = { ...readWakeConfig({}), maxSources: 1 };
  const service = await startWakeActivation(
    { client: serviceClient, logger: getLogger("wake-test") },
    {
      config,
      createScorer: () => OpenWakeWordScorer.load({ modelPath: bundledKeywordModel("hey_jarvis") }),
    },
  );
  try {
    await peer.publishRaw(topics.audioPcm, new Uint8Array(2_561), { params: { source: "a" } });
    await peer.publishRaw(topics.audioPcm, new Uint8Array(3), { params: { source: "a" } });
    await peer.publishRaw(topics.audioPcm, new Uint8Array(2_564), { params: { source: "a" } });
    await peer.publishRaw(topics.audioPcm, new Uint8Array(100), { params: { source: "b" } });
    await waitFor(() => service.counters.audioMessages === 4, "4 audio messages", T);
    // Odd-sized messages are dropped whole (half a sample would shift every later one, and the
    // wake word would never match again); 2564 bytes = 1282 samples: one 1280-sample frame.
    assert.equal(service.detectors.get("audio/pcm/a")?.stats.frames, 1);
    // Two odd messages, and source b: over WAKE_MAX_SOURCES.
    assert.equal(service.counters.audioDropped, 3);
  } finally {
    await service.close();
  }
});
