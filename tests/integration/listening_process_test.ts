/**
 * Listening that does not cut people off (issue #16), with the real programs as `deno task dev`
 * runs them: wake-activation, stt-worker and the router as processes on a real Mosquitto (the
 * router with py-tars' effective 3 s wake window), stt-worker reading
 * an espeak-ng scene through its file source at real time (in wake mic mode, publishing its
 * frames on audio/pcm/stt for wake-activation), transcribing through a local OpenAI-protocol
 * server that records the audio it gets.
 *
 * Each scene is "hey jarvis", a pause, a sentence; then a second wake, pause and sentence; then
 * a last "hey jarvis" followed by silence. Every sentence must end as exactly one stt/final
 * whose audio holds the whole sentence (byte for byte), although the 4 s sentences run past
 * the 3 s wake TTL, and reach the router, which asks the LLM (llm/request) although the final
 * comes after its wake window; the silent wake must still time out (wake/event timeout) — and that
 * timeout, coming after everything else in the file, is the marker that no further final
 * follows.
 */
import assert from "node:assert/strict";
import {
  type FinalTranscript,
  type HealthPing,
  type LLMRequest,
  type SpeechActivity,
  topics,
  type WakeEvent,
  type WakeMicCommand,
} from "../../core/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import { containsPcm, type ScenePart, writeScene } from "../helpers/listening_audio.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { startFakeOpenAiTranscription } from "../helpers/stt_fake_servers.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

const T = 30_000;
const WAKE = "hey jarvis";
/** About 1 s of speech (0.85 s). */
const SHORT = "hello robot";
/** About 4 s of speech (3.7 s): runs past the 3 s wake TTL whatever the pause. */
const LONG = "hello robot, how are you today, tell me about the weather";
/**
 * What the fake transcriber answers, in turn: distinct (repeats would be suppressed) and no
 * router rule (each must become an llm/request).
 */
const ANSWERS = ["how are you today", "tell me a joke", "tell me a story", "what is the weather"];

async function listen(name: string, parts: readonly ScenePart[]): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "listening-" });
  const scene = await writeScene(dir, name, parts);
  const sentences = parts.flatMap((part, i) => "say" in part && part.say !== WAKE ? [i] : []);
  const phraseIndex = (partIndex: number) =>
    parts.slice(0, partIndex).filter((part) => "say" in part).length;
  const wakes = parts.filter((part) => "say" in part && part.say === WAKE).length;

  await using broker = await startBroker();
  await using fake = startFakeOpenAiTranscription((audio) =>
    ANSWERS[(fake.received.indexOf(audio)) % ANSWERS.length]
  );
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const health: HealthPing[] = [];
  const finals: FinalTranscript[] = [];
  const events: WakeEvent[] = [];
  const mics: WakeMicCommand[] = [];
  const vad: SpeechActivity[] = [];
  const requests: LLMRequest[] = [];
  const routerHealth: HealthPing[] = [];
  await watcher.subscribe(topics.systemHealth, (ping) => void health.push(ping), {
    params: { client_id: "wake-activation" },
  });
  await watcher.subscribe(topics.systemHealth, (ping) => void routerHealth.push(ping), {
    params: { client_id: "tars-router" },
  });
  await watcher.subscribe(topics.llmRequest, (request) => void requests.push(request));
  await watcher.subscribe(topics.sttFinal, (final) => void finals.push(final));
  await watcher.subscribe(topics.wakeEvent, (event) => void events.push(event));
  await watcher.subscribe(topics.wakeMic, (command) => void mics.push(command));
  await watcher.subscribe(topics.sttVad, (activity) => void vad.push(activity));

  const wake = spawnService("wake-activation", { MQTT_URL: broker.url });
  const router = spawnService("router", {
    MQTT_URL: broker.url,
    ROUTER_WAKE_WINDOW_SEC: "3", // py-tars' effective window: the 4 s sentences end after it
    ROUTER_LLM_TIMEOUT_SEC: "600", // no llm-worker: no fallback reply (it would mute the mic)
  });
  let stt: Deno.ChildProcess | undefined;
  const results: { code: number; stderr: string }[] = [];
  try {
    await waitFor(() => health.some((h) => h.ok && h.event === "ready"), "wake ready", T);
    await waitFor(() => routerHealth.some((h) => h.ok && h.event === "ready"), "router ready", T);
    stt = spawnService("stt-worker", {
      MQTT_URL: broker.url,
      AUDIO_SOURCE: "file",
      AUDIO_FILE: scene.wav,
      OPENAI_BASE_URL: fake.url,
      // no tts-worker here: keep the mic muted after a final until the next wake
      TTS_MAX_MUTE_MS: "60000",
    });
    // The last wake hears only silence: its timeout comes after everything else in the file.
    const timedOut = () => events.filter((e) => e.type === "timeout").length;
    await waitFor(
      () => events.filter((e) => e.type === "wake").length === wakes && timedOut() >= 1,
      `${wakes} wakes and the silent wake's timeout; events ${events.map((e) => e.type).join(",")}`,
      T,
    );
    const summary = `finals ${JSON.stringify(finals.map((f) => f.text))}, received ${
      fake.received.map((r) => `${r.pcm.length / 32} ms`).join(", ")
    }, events ${events.map((e) => e.type).join(",")}`;
    assert.equal(timedOut(), 1, `only the silent wake times out; ${summary}`);
    assert.equal(finals.length, sentences.length, `one final per sentence; ${summary}`);
    assert.equal(fake.received.length, sentences.length, `one transcription each; ${summary}`);
    for (const [n, partIndex] of sentences.entries()) {
      const phrase = scene.phrases[phraseIndex(partIndex)];
      assert.ok(
        containsPcm(fake.received[n].pcm, phrase),
        `utterance ${n} (${fake.received[n].pcm.length / 32} ms) holds the whole ` +
          `${phrase.length / 32} ms sentence; ${summary}`,
      );
      assert.equal(finals[n].text, ANSWERS[n]);
      // stt/vad told wake-activation when this sentence started and ended
      const marks = vad.filter((v) => v.utt_id === finals[n].utt_id).map((v) => v.event);
      assert.deepEqual(marks, ["speech_start", "speech_end"], summary);
    }
    assert.ok(mics.every((m) => m.action === "unmute" && m.ttl_ms === 3_000));
    // every sentence reached the router and became a request to the LLM
    await waitFor(() => requests.length >= sentences.length, `llm/requests; ${summary}`, T);
    assert.deepEqual(requests.map((r) => r.text), ANSWERS.slice(0, sentences.length));
  } finally {
    if (stt) results.push(await stopService(stt));
    results.push(await stopService(wake), await stopService(router));
    await Deno.remove(dir, { recursive: true });
  }
  for (const result of results) assert.equal(result.code, 0, result.stderr);
}

Deno.test("listening: pause 0.3 s + 1 s sentence, pause 1.5 s + 4 s sentence, then a silent wake times out", async () => {
  await listen("short-then-long", [
    { silenceSec: 0.5 },
    { say: WAKE },
    { silenceSec: 0.3 },
    { say: SHORT },
    { silenceSec: 1.5 },
    { say: WAKE },
    { silenceSec: 1.5 },
    { say: LONG },
    { silenceSec: 1.5 },
    { say: WAKE },
    { silenceSec: 3.5 },
  ]);
});

Deno.test("listening: pause 1.5 s + 1 s sentence, pause 0.3 s + 4 s sentence, then a silent wake times out", async () => {
  await listen("long-pause-then-short-pause", [
    { silenceSec: 0.5 },
    { say: WAKE },
    { silenceSec: 1.5 },
    { say: SHORT },
    { silenceSec: 1.5 },
    { say: WAKE },
    { silenceSec: 0.3 },
    { say: LONG },
    { silenceSec: 1.5 },
    { say: WAKE },
    { silenceSec: 3.5 },
  ]);
});
