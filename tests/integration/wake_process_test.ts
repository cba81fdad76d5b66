/**
 * wake-activation as a process (`services/wake-activation/main.ts`), as `deno task dev` runs
 * it with no settings: health as `wake-activation`, the bundled hey_jarvis model, espeak-ng
 * "hey jarvis" on audio/pcm/test → wake/event + wake/mic; SIGTERM → exit 0 with health
 * `shutdown`; a missing WAKE_MODEL_PATH → exit 78 naming the variable (no crash loop).
 */
import assert from "node:assert/strict";
import { type HealthPing, topics, type WakeEvent, type WakeMicCommand } from "../../core/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { pcmFrames } from "../helpers/speech_audio.ts";
import { testClient, waitFor } from "../helpers/wait.ts";
import { makeWakeClips } from "../helpers/wake_audio.ts";

const T = 30_000;

Deno.test("wake-activation process: ready with the bundled model, wakes on 'hey jarvis', stops on SIGTERM", async () => {
  const clips = await makeWakeClips();
  await using broker = await startBroker();
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const health: HealthPing[] = [];
  await watcher.subscribe(topics.systemHealth, (ping) => void health.push(ping), {
    params: { client_id: "wake-activation" },
  });
  const events: WakeEvent[] = [];
  const mics: WakeMicCommand[] = [];
  await watcher.subscribe(topics.wakeEvent, (event) => void events.push(event));
  await watcher.subscribe(topics.wakeMic, (command) => void mics.push(command));
  const child = spawnService("wake-activation", { MQTT_URL: broker.url });
  let result: { code: number; stderr: string } | null = null;
  try {
    // runService announces ready only after main returned: the model is loaded and subscribed.
    await waitFor(() => health.some((h) => h.ok && h.event === "ready"), "health ready", T);
    for (const frame of pcmFrames(clips.heyJarvis, 20)) {
      await watcher.publishRaw(topics.audioPcm, frame, { params: { source: "test" } });
    }
    await waitFor(() => events.length >= 1 && mics.length >= 1, "wake/event + wake/mic", T);
    assert.equal(events[0].type, "wake");
    assert.equal(mics[0].action, "unmute");
    assert.equal(mics[0].ttl_ms, 3_000); // WAKE_IDLE_TIMEOUT_SEC default 3.0
    await waitFor(() => events.some((e) => e.type === "timeout"), "idle timeout event", T);
  } finally {
    result = await stopService(child);
  }
  assert.equal(result.code, 0, result.stderr);
  await waitFor(() => health.some((h) => h.event === "shutdown"), "health shutdown", T);
});

Deno.test("wake-activation process: a missing WAKE_MODEL_PATH exits 78 naming the variable", async () => {
  await using broker = await startBroker();
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const events: WakeEvent[] = [];
  await watcher.subscribe(topics.wakeEvent, (event) => void events.push(event));
  const child = spawnService("wake-activation", {
    MQTT_URL: broker.url,
    WAKE_MODEL_PATH: "/models/openwakeword/hey_tars.onnx",
  });
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  assert.equal(status.code, 78, stderr);
  assert.match(stderr, /WAKE_MODEL_PATH="\/models\/openwakeword\/hey_tars\.onnx"/);
  assert.match(stderr, /does not exist/);
  await waitFor(() => events.some((e) => e.type === "error"), "wake/event error", T);
});

Deno.test("wake-activation process: bad env exits 78 naming every variable", async () => {
  await using broker = await startBroker();
  const child = spawnService("wake-activation", {
    MQTT_URL: broker.url,
    WAKE_DETECTION_THRESHOLD: "loud",
    WAKE_AUDIO_TOPIC: "mic/pcm",
  });
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  assert.equal(status.code, 78, stderr);
  assert.match(stderr, /WAKE_DETECTION_THRESHOLD/);
  assert.match(stderr, /WAKE_AUDIO_TOPIC/);
});
