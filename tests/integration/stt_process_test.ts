/**
 * stt-worker as a process (`services/stt-worker/main.ts`): health as `tars-stt`, an espeak-ng
 * WAV through AUDIO_SOURCE=file → stt/final via a local OpenAI-protocol server; SIGTERM →
 * exit 0 with health `shutdown`; STT_BACKEND=sherpa with the stand-in Whisper model through the
 * native recogniser; bad configuration (including a corrupt model) → exit 78 naming the variable.
 */
import assert from "node:assert/strict";
import { type FinalTranscript, type HealthPing, topics } from "../../core/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { sttClips } from "../helpers/stt_audio.ts";
import { startFakeOpenAiTranscription } from "../helpers/stt_fake_servers.ts";
import { STANDIN_TEXT, writeSherpaStandinModel } from "../helpers/stt_sherpa_model.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

const T = 30_000;

Deno.test("stt-worker process: ready as tars-stt, WAV file → stt/final, SIGTERM → exit 0", async () => {
  const clips = await sttClips();
  await using broker = await startBroker();
  await using fake = startFakeOpenAiTranscription(() => "What time is it?");
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const health: HealthPing[] = [];
  const finals: FinalTranscript[] = [];
  let frames = 0;
  await watcher.subscribe(topics.systemHealth, (ping) => void health.push(ping), {
    params: { client_id: "tars-stt" },
  });
  await watcher.subscribe(topics.sttFinal, (final) => void finals.push(final));
  await watcher.subscribeRaw(topics.audioPcm, () => void frames++, {
    params: { source: "kitchen" },
  });
  const child = spawnService("stt-worker", {
    MQTT_URL: broker.url,
    AUDIO_SOURCE: "file",
    AUDIO_FILE: clips.questionWav,
    AUDIO_FILE_SPEED: "2",
    AUDIO_SOURCE_NAME: "kitchen",
    STT_MIC_MODE: "open",
    OPENAI_BASE_URL: fake.url,
  });
  let result: { code: number; stderr: string } | null = null;
  try {
    await waitFor(() => health.some((h) => h.ok && h.event === "ready"), "health ready", T);
    await waitFor(() => finals.length === 1, "stt/final", T);
    assert.equal(finals[0].text, "What time is it?");
    assert.ok(frames > 50, `${frames} frames on audio/pcm/kitchen`);
  } finally {
    result = await stopService(child);
  }
  assert.equal(result.code, 0, result.stderr);
  await waitFor(() => health.some((h) => h.event === "shutdown"), "health shutdown", T);
});

Deno.test("stt-worker process: with no STT server or key configured, health says so and how to fix it", async () => {
  await using broker = await startBroker();
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const health: HealthPing[] = [];
  await watcher.subscribe(topics.systemHealth, (ping) => void health.push(ping), {
    params: { client_id: "tars-stt" },
  });
  // deno task dev's settings: the browser microphone, and nothing about a transcriber.
  const child = spawnService("stt-worker", {
    MQTT_URL: broker.url,
    AUDIO_SOURCE: "mqtt",
    STT_MIC_MODE: "open",
  });
  let result: { code: number; stderr: string } | null = null;
  try {
    await waitFor(
      () => health.some((h) => h.event === "stt_not_configured"),
      "health stt_not_configured",
      T,
    );
    const ping = health.find((h) => h.event === "stt_not_configured")!;
    assert.equal(ping.ok, false);
    assert.match(ping.err ?? "", /^STT not configured: set STT_BASE_URL \(or OPENAI_BASE_URL\)/);
    assert.match(ping.err ?? "", /OPENAI_API_KEY/);
  } finally {
    result = await stopService(child);
  }
  assert.equal(result.code, 0, result.stderr);
  await waitFor(() => health.some((h) => h.event === "shutdown"), "health shutdown", T);
  assert.ok(!health.some((h) => h.event === "ready"), "never ready while not configured");
});

Deno.test("stt-worker process: STT_BACKEND=sherpa decodes with the stand-in Whisper model", async () => {
  const clips = await sttClips();
  const dir = await Deno.makeTempDir({ prefix: "sherpa-standin-" });
  await writeSherpaStandinModel(dir);
  await using broker = await startBroker();
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const finals: FinalTranscript[] = [];
  await watcher.subscribe(topics.sttFinal, (final) => void finals.push(final));
  const child = spawnService("stt-worker", {
    MQTT_URL: broker.url,
    AUDIO_SOURCE: "file",
    AUDIO_FILE: clips.questionWav,
    AUDIO_FILE_SPEED: "2",
    STT_MIC_MODE: "open",
    STT_BACKEND: "sherpa",
    SHERPA_MODEL_DIR: dir,
    // the stand-in reports no confidence and says "hello robot" whatever it hears
    DICT_MATCH_MIN_RATIO: "0",
  });
  let result: { code: number; stderr: string } | null = null;
  try {
    await waitFor(() => finals.length === 1, "stt/final", T);
    assert.equal(finals[0].text, STANDIN_TEXT);
    assert.equal(finals[0].confidence, null);
  } finally {
    result = await stopService(child);
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(result.code, 0, result.stderr);
});

Deno.test("stt-worker process: bad configuration exits 78 naming the variable", async () => {
  await using broker = await startBroker();
  // a model directory whose files are not a model: sherpa itself would abort the process
  const corrupt = await Deno.makeTempDir({ prefix: "sherpa-corrupt-" });
  for (
    const f of ["tiny.en-encoder.int8.onnx", "tiny.en-decoder.int8.onnx", "tiny.en-tokens.txt"]
  ) {
    await Deno.writeTextFile(`${corrupt}/${f}`, "not a model");
  }
  for (
    const [env, pattern] of [
      [{ STT_BACKEND: "sherpa", SHERPA_MODEL_DIR: "/models/nope" }, /SHERPA_MODEL_DIR/],
      [{ STT_BACKEND: "sherpa", SHERPA_MODEL_DIR: corrupt }, /SHERPA_MODEL_DIR.*tokens/s],
      [{ AUDIO_SOURCE: "file" }, /AUDIO_FILE/],
      [{ AUDIO_SOURCE: "file", AUDIO_FILE: "/nope.wav" }, /AUDIO_FILE.*\/nope\.wav/],
      [{ AUDIO_SOURCE: "usb" }, /AUDIO_SOURCE.*alsa, file, mqtt/],
    ] as const
  ) {
    const child = spawnService("stt-worker", { MQTT_URL: broker.url, ...env });
    const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
    assert.equal(status.code, 78, stderr);
    assert.match(stderr, pattern);
  }
  await Deno.remove(corrupt, { recursive: true });
});
