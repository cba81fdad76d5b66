import assert from "node:assert/strict";
import { HealthPing, topics } from "../../core/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

Deno.test("tts-worker process: health, piper fallback warning, speech on tts/audio, clean stop", async () => {
  await using broker = await startBroker();
  const cacheDir = await Deno.makeTempDir({ prefix: "tts-proc-" });
  const world = testClient(broker.url);
  await world.connect({ timeoutMs: 10_000 });
  const health: HealthPing[] = [];
  await world.subscribe(topics.systemHealth, (ping) => {
    health.push(ping);
  }, { params: { client_id: "tars-tts" } });
  const chunks: number[] = [];
  await world.subscribe(topics.ttsAudio, (chunk) => {
    chunks.push(chunk.seq);
  }, { queueSize: 4096 });
  const child = spawnService("tts-worker", {
    MQTT_URL: broker.url,
    PATH: Deno.env.get("PATH") ?? "", // espeak-ng
    TTS_PROVIDER: "piper",
    PIPER_VOICE: `${cacheDir}/missing.onnx`,
    TTS_WAKE_CACHE_DIR: cacheDir,
    LOG_LEVEL: "warning",
  });
  try {
    await waitFor(() => health.some((h) => h.event === "ready"), "health ready", 30_000);
    await waitFor(
      () => health.some((h) => h.event === "tts_fallback_espeak"),
      "fallback health event",
      30_000,
    );
    const fallback = health.find((h) => h.event === "tts_fallback_espeak")!;
    assert.equal(fallback.ok, true);
    assert.match(fallback.err ?? "", /missing\.onnx\.json/);
    await world.publishEvent(topics.ttsSay, { text: "Hello from the process.", utt_id: "p" });
    await waitFor(() => chunks.length > 5, "audio chunks", 30_000);
  } finally {
    const { code, stderr: log } = await stopService(child);
    await world.shutdown();
    await Deno.remove(cacheDir, { recursive: true });
    assert.equal(code, 0, log);
    assert.equal((log.match(/speaking with espeak-ng instead/g) ?? []).length, 1, log);
  }
});

Deno.test("tts-worker process: without espeak-ng, health says so once with the fix", async () => {
  await using broker = await startBroker();
  const empty = await Deno.makeTempDir({ prefix: "tts-no-espeak-" });
  const world = testClient(broker.url);
  await world.connect({ timeoutMs: 10_000 });
  const health: HealthPing[] = [];
  await world.subscribe(topics.systemHealth, (ping) => {
    health.push(ping);
  }, { params: { client_id: "tars-tts" } });
  const child = spawnService("tts-worker", {
    MQTT_URL: broker.url,
    PATH: empty, // a machine without espeak-ng
    TTS_WAKE_CACHE_DIR: empty,
    LOG_LEVEL: "warning",
  });
  try {
    await waitFor(
      () => health.some((h) => h.event === "tts_unavailable"),
      "health tts_unavailable",
      30_000,
    );
    const ping = health.find((h) => h.event === "tts_unavailable")!;
    assert.equal(ping.ok, false);
    assert.match(ping.err ?? "", /espeak-ng not found: .*sudo apt-get install -y espeak-ng/);
  } finally {
    const { code, stderr: log } = await stopService(child);
    await world.shutdown();
    await Deno.remove(empty, { recursive: true });
    assert.equal(code, 0, log);
    assert.equal(log.split("\n").filter((l) => l.includes("espeak-ng not found")).length, 1, log);
  }
});
