/**
 * `deno task test:arm64` (and a step of `.ci/run`): the services as aarch64 processes, in the
 * form we deploy, against a real Mosquitto on this machine.
 *
 * The stand-in robot (tests/helpers/arm64.ts): qemu-user runs the aarch64 Deno from npm
 * (`@deno/linux-arm64-glibc`, same version); `deno install --frozen` run by that Deno resolves
 * the locked dependencies for linux-arm64 (onnxruntime-node's `linux/arm64` binding,
 * `sqlite-vec-linux-arm64`, `sherpa-onnx-linux-arm64`) in the tree `deno task compile --bundle`
 * made; each service starts through its launcher `bin/tars-<service>`, the file the systemd
 * unit runs, with the tree read-only and an empty cache folder, as under the unit. For every
 * process the test records `Deno.build.arch` as the process itself reports it (a preloaded
 * probe), the host executable (`qemu-aarch64-static`) and the aarch64 native libraries mapped
 * into it (`/proc/<pid>/maps`).
 *
 * movement-service (simulated servos), camera-service (test pattern) and ui-web have no native
 * package: they are only started to ready and stopped. Not proven here: speed, audio devices,
 * the camera, I2C.
 *
 * Only with `TARS_TEST_ARM64=1` (the task sets it); otherwise every test here is ignored.
 * Timings are under emulation (qemu-user, 10-50x slower than the robot): they prove nothing
 * about speed on the robot.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type HealthPing,
  type LLMRequest,
  type MemoryResults,
  type ServiceName,
  topics,
  type TtsSay,
  type WakeEvent,
} from "../../core/mod.ts";
import { serviceTable } from "../../ops/services.ts";
import {
  type Arm64Env,
  nativeLibraries,
  prepareArm64,
  type ProbeReport,
  probeReport,
} from "../helpers/arm64.ts";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { writeTinySentenceModel } from "../helpers/memory_embedders.ts";
import { fake, startFakeOpenAI } from "../helpers/llm_fake_openai.ts";
import { pcmFrames } from "../helpers/speech_audio.ts";
import { sttClips } from "../helpers/stt_audio.ts";
import { startFakeOpenAiTranscription } from "../helpers/stt_fake_servers.ts";
import { STANDIN_TEXT, writeSherpaStandinModel } from "../helpers/stt_sherpa_model.ts";
import { makeWakeClips } from "../helpers/wake_audio.ts";
import { sleep, testClient, waitFor } from "../helpers/wait.ts";

const enabled = Deno.env.get("TARS_TEST_ARM64") === "1";
/** Emulated: a service needs seconds to start and onnxruntime runs 10-50x slower. */
const T = 180_000;

let prepared: Promise<Arm64Env> | undefined;
let workDir: string | undefined;
function arm64(): Promise<Arm64Env> {
  prepared ??= (async () => {
    workDir = await Deno.makeTempDir({ prefix: "tars-arm64-" });
    return await prepareArm64(workDir);
  })();
  return prepared;
}

/** One row of the closing summary. */
interface Row {
  readonly service: string;
  readonly probe?: ProbeReport;
  readonly exe: string;
  readonly native: readonly string[];
  readonly readySec: number;
  readonly checkSec: number;
  readonly check: string;
}
const rows: Row[] = [];
/** The services the running test started (their stderr is added to a failure). */
let running: Arm64Service[] = [];

/** A service started through its launcher with the aarch64 Deno under qemu. */
interface Arm64Service {
  readonly name: ServiceName;
  readonly child: Deno.ChildProcess;
  readonly started: number;
  /** The stderr read so far. */
  stderr(): string;
  /** SIGTERM, then the exit code and the whole stderr. */
  stop(): Promise<{ code: number; stderr: string }>;
}

function startService(
  env: Arm64Env,
  name: ServiceName,
  broker: TestBroker,
  extra: Record<string, string> = {},
): Arm64Service {
  // as under tars@.service: an empty CacheDirectory (the launcher puts DENO_DIR there) and the
  // tree read-only (the shim's mount namespace), so nothing is fetched or written at start
  const cache = Deno.makeTempDirSync({ dir: env.cacheRoot, prefix: `${name}-` });
  const child = new Deno.Command(join(env.tree, "bin", `tars-${name}`), {
    env: {
      PATH: `${env.shimDir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      HOME: Deno.env.get("HOME") ?? "/root",
      CACHE_DIRECTORY: cache,
      NO_COLOR: "1",
      MQTT_URL: broker.url,
      LOG_LEVEL: "warning",
      ...extra,
    },
    clearEnv: true,
    cwd: cache, // WorkingDirectory= is the state folder under the unit
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stderr) text += decoder.decode(chunk, { stream: true });
  })();
  const service: Arm64Service = {
    name,
    child,
    started: performance.now(),
    stderr: () => text,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const status = await child.status;
      await reading;
      return { code: status.code, stderr: text };
    },
  };
  running.push(service);
  return service;
}

/** What the kernel says the process is: its executable and the aarch64 libraries mapped. */
async function inspect(pid: number): Promise<{ exe: string; native: string[] }> {
  const exe = await Deno.readLink(`/proc/${pid}/exe`);
  const maps = await Deno.readTextFile(`/proc/${pid}/maps`);
  const native = [
    ...new Set(
      maps.split("\n").map((l) => l.split(/\s+/).at(-1) ?? "")
        .filter((p) => /node_modules\/\.deno\/.*\.(node|so(\.\d+)*)$/.test(p))
        .map((p) => p.replace(/^.*node_modules\/\.deno\/[^/]+\/node_modules\//, "")),
    ),
  ];
  return { exe, native };
}

const secs = (from: number) => Math.round((performance.now() - from) / 100) / 10;

/** Waits for the service's health ready, then records its identity; returns seconds to ready. */
async function ready(service: Arm64Service, health: HealthPing[]): Promise<number> {
  try {
    await waitFor(() => health.some((h) => h.ok && h.event === "ready"), "health ready", T);
  } catch (err) {
    throw new Error(`${service.name}: ${err}\n${service.stderr()}`);
  }
  return secs(service.started);
}

async function record(
  service: Arm64Service,
  readySec: number,
  checkStart: number,
  check: string,
  nativeExpected: RegExp[] = [],
): Promise<void> {
  const { exe, native } = await inspect(service.child.pid);
  const probe = probeReport(service.stderr());
  rows.push({
    service: service.name,
    probe,
    exe,
    native,
    readySec,
    checkSec: secs(checkStart),
    check,
  });
  assert.equal(probe?.arch, "aarch64", `${service.name} probe: ${service.stderr()}`);
  assert.equal(probe?.pid, service.child.pid, "the probe ran in the spawned process");
  assert.match(exe, /qemu-aarch64/);
  for (const pattern of nativeExpected) {
    assert.ok(native.some((p) => pattern.test(p)), `${service.name} maps ${pattern}: ${native}`);
  }
}

async function healthOf(
  watcher: ReturnType<typeof testClient>,
  clientId: string,
): Promise<HealthPing[]> {
  const health: HealthPing[] = [];
  await watcher.subscribe(topics.systemHealth, (ping) => void health.push(ping), {
    params: { client_id: clientId },
  });
  return health;
}

async function stopped(service: Arm64Service, health: HealthPing[]): Promise<void> {
  const result = await service.stop();
  assert.equal(result.code, 0, `${service.name}: ${result.stderr}`);
  await waitFor(() => health.some((h) => h.event === "shutdown"), "health shutdown", T);
}

const test = (name: string, fn: () => void | Promise<void>) =>
  Deno.test({
    name: `arm64: ${name}`,
    ignore: !enabled,
    sanitizeResources: false,
    async fn() {
      running = [];
      try {
        await fn();
      } catch (err) {
        const logs = running.map((s) => `--- ${s.name} stderr ---\n${s.stderr()}`).join("\n");
        throw new Error(`${err instanceof Error ? err.stack : err}\n${logs}`);
      }
    },
  });

test("the aarch64 Deno resolves the locked npm packages to their linux-arm64 builds", async () => {
  const env = await arm64();
  const libs = await nativeLibraries(env.tree);
  const wanted = [
    /^onnxruntime-node@[^/]+\/.*\/linux\/arm64\/onnxruntime_binding\.node$/,
    /^sqlite-vec-linux-arm64@[^/]+\/.*\/vec0\.so$/,
    /^sherpa-onnx-linux-arm64@[^/]+\/.*\/sherpa-onnx\.node$/,
  ];
  for (const pattern of wanted) {
    const hit = [...libs].find(([path]) => pattern.test(path));
    assert.ok(hit, `no ${pattern} in ${[...libs.keys()].join("\n")}`);
    assert.equal(hit[1], "aarch64", hit[0]);
  }
  // the host's variants are not what npm resolved for this platform
  assert.ok(![...libs.keys()].some((p) => /^(sqlite-vec|sherpa-onnx)-linux-x64/.test(p)));
  console.log("preparation (seconds):", JSON.stringify(env.timings));
});

test("router + llm-worker answer a question against the local fake OpenAI server", async () => {
  const env = await arm64();
  await using broker = await startBroker();
  await using llm = await startFakeOpenAI({ apiKey: "sk-arm64" });
  await using user = testClient(broker.url);
  await user.connect({ timeoutMs: T });
  const routerHealth = await healthOf(user, "tars-router");
  const llmHealth = await healthOf(user, "tars-llm");
  const said: TtsSay[] = [];
  await user.subscribe(topics.ttsSay, (say) => void said.push(say));
  const requests: LLMRequest[] = [];
  await user.subscribe(topics.llmRequest, (r) => void requests.push(r));
  let workerSubscribed = false;
  await user.subscribe(topics.characterGet, () => void (workerSubscribed = true));
  const worker = startService(env, "llm-worker", broker, {
    OPENAI_API_KEY: "sk-arm64",
    OPENAI_BASE_URL: llm.baseURL,
    LLM_MODEL: "fake-model",
  });
  const router = startService(env, "router", broker, {
    ROUTER_LIVE_MODE_DEFAULT: "true",
    ONLINE_ANNOUNCE: "false",
    ROUTER_WAKE_ACK_ENABLED: "false",
  });
  try {
    const workerReady = await ready(worker, llmHealth);
    const routerReady = await ready(router, routerHealth);
    await waitFor(() => workerSubscribed, "llm-worker subscribed (character/get)", T);
    // the router is subscribed once it answers a rule (no LLM involved)
    const deadline = Date.now() + T;
    while (said.length === 0) {
      if (Date.now() > deadline) throw new Error(`router never answered\n${router.stderr()}`);
      await user.publishEvent(topics.sttFinal, { text: "what time is it" });
      const until = Date.now() + 2_000;
      while (said.length === 0 && Date.now() < until) await sleep(50);
    }
    const checkStart = performance.now();
    llm.fallback = fake.text(["The sky is blue because ", "of Rayleigh scattering."]);
    await user.publishEvent(topics.sttFinal, { text: "Why is the sky blue?", utt_id: "sky" });
    await waitFor(
      () => said.some((s) => /Rayleigh scattering/.test(s.text)),
      "the answer on tts/say",
      T,
    );
    // the router asked llm-worker (llm/request), which asked the fake server with its key
    assert.ok(requests.some((r) => r.text === "Why is the sky blue?"), "llm/request");
    assert.equal(llm.requests.at(-1)?.headers.authorization, "Bearer sk-arm64");
    await record(worker, workerReady, checkStart, "streamed answer from the fake OpenAI server");
    await record(router, routerReady, checkStart, "stt/final → llm/request → tts/say");
  } finally {
    await stopped(router, routerHealth);
    await stopped(worker, llmHealth);
  }
});

test("memory-worker stores memories and finds one by a vector query (sqlite-vec, onnx embedder)", async () => {
  const env = await arm64();
  await using broker = await startBroker();
  const dir = await Deno.makeTempDir({ prefix: "tars-arm64-memory-" });
  await Deno.mkdir(join(dir, "model"));
  await writeTinySentenceModel(join(dir, "model"), { dims: 16 });
  await using user = testClient(broker.url);
  await user.connect({ timeoutMs: T });
  const health = await healthOf(user, "tars-memory");
  const memory = startService(env, "memory-worker", broker, {
    MEMORY_DIR: join(dir, "memory"),
    MEMORY_REPLY_IDLE_MS: "200",
    EMBED_BACKEND: "onnx",
    EMBED_MODEL: join(dir, "model"),
  });
  try {
    const readySec = await ready(memory, health);
    const checkStart = performance.now();
    await user.publishEvent(topics.sttFinal, { text: "my sister anna lives in berlin" });
    await user.publishEvent(topics.sttFinal, { text: "the weather is sunny today" });
    // vectors only: the answer comes from sqlite-vec's nearest neighbour, embedded by onnxruntime
    let answer: MemoryResults | null = null;
    await waitFor(
      async () => {
        answer = await user.request(topics.memoryQuery, {
          text: "where does anna live",
          retrieval_strategy: "similarity",
          top_k: 1,
        }, { replyTopic: topics.memoryResults, timeoutMs: T });
        return answer.k === 1 && answer.strategy_used === "similarity";
      },
      "the memory is found by similarity",
      T,
    );
    assert.equal(
      (answer!.results[0].document as { text: string }).text,
      "my sister anna lives in berlin",
    );
    await record(memory, readySec, checkStart, "2 stored, the right one found by vectors only", [
      /^sqlite-vec-linux-arm64\/vec0\.so$/,
      /^onnxruntime-node\/bin\/napi-v6\/linux\/arm64\/onnxruntime_binding\.node$/,
    ]);
  } finally {
    await stopped(memory, health);
    await Deno.remove(dir, { recursive: true });
  }
});

test("tts-worker synthesises with espeak-ng (a host program spawned by the aarch64 process)", async () => {
  const env = await arm64();
  await using broker = await startBroker();
  await using user = testClient(broker.url);
  await user.connect({ timeoutMs: T });
  const health = await healthOf(user, "tars-tts");
  const chunks: number[] = [];
  await user.subscribe(topics.ttsAudio, (chunk) => void chunks.push(chunk.seq), {
    queueSize: 4096,
  });
  const cacheDir = await Deno.makeTempDir({ prefix: "tars-arm64-tts-" });
  const tts = startService(env, "tts-worker", broker, {
    TTS_PROVIDER: "espeak",
    TTS_SINK: "mqtt",
    TTS_WAKE_CACHE_DIR: cacheDir,
  });
  try {
    const readySec = await ready(tts, health);
    const checkStart = performance.now();
    await user.publishEvent(topics.ttsSay, { text: "Hello from the robot.", utt_id: "a" });
    await waitFor(() => chunks.length > 5, "audio chunks on tts/audio", T);
    await record(tts, readySec, checkStart, `${chunks.length}+ tts/audio chunks from espeak-ng`);
  } finally {
    await stopped(tts, health);
    await Deno.remove(cacheDir, { recursive: true });
  }
});

test("stt-worker runs Silero VAD on a WAV and publishes audio frames (onnxruntime)", async () => {
  const env = await arm64();
  const clips = await sttClips();
  await using broker = await startBroker();
  await using transcriber = startFakeOpenAiTranscription(() => "What time is it?");
  await using user = testClient(broker.url);
  await user.connect({ timeoutMs: T });
  const health = await healthOf(user, "tars-stt");
  const finals: string[] = [];
  await user.subscribe(topics.sttFinal, (final) => void finals.push(final.text));
  let frames = 0;
  await user.subscribeRaw(topics.audioPcm, () => void frames++, { params: { source: "arm" } });
  const stt = startService(env, "stt-worker", broker, {
    AUDIO_SOURCE: "file",
    AUDIO_FILE: clips.questionWav,
    AUDIO_FILE_SPEED: "1",
    AUDIO_SOURCE_NAME: "arm",
    STT_MIC_MODE: "open",
    OPENAI_BASE_URL: transcriber.url,
  });
  try {
    const readySec = await ready(stt, health);
    const checkStart = performance.now();
    // the VAD closes the utterance only after scoring the speech and the silence after it
    await waitFor(() => finals.length === 1, "stt/final (utterance cut by the VAD)", T);
    assert.equal(finals[0], "What time is it?");
    assert.ok(frames > 50, `${frames} frames on audio/pcm/arm`);
    await record(stt, readySec, checkStart, `VAD utterance → stt/final; ${frames} frames`, [
      /^onnxruntime-node\/bin\/napi-v6\/linux\/arm64\/onnxruntime_binding\.node$/,
    ]);
  } finally {
    await stopped(stt, health);
  }
});

test("stt-worker decodes with sherpa-onnx's recogniser (the stand-in Whisper model)", async () => {
  const env = await arm64();
  const clips = await sttClips();
  const modelDir = await Deno.makeTempDir({ prefix: "tars-arm64-sherpa-" });
  await writeSherpaStandinModel(modelDir);
  await using broker = await startBroker();
  await using user = testClient(broker.url);
  await user.connect({ timeoutMs: T });
  const health = await healthOf(user, "tars-stt");
  const finals: string[] = [];
  await user.subscribe(topics.sttFinal, (final) => void finals.push(final.text));
  const stt = startService(env, "stt-worker", broker, {
    AUDIO_SOURCE: "file",
    AUDIO_FILE: clips.questionWav,
    AUDIO_FILE_SPEED: "1",
    STT_MIC_MODE: "open",
    STT_BACKEND: "sherpa",
    SHERPA_MODEL_DIR: modelDir,
    DICT_MATCH_MIN_RATIO: "0", // the stand-in reports no confidence
  });
  try {
    const readySec = await ready(stt, health);
    const checkStart = performance.now();
    await waitFor(() => finals.length === 1, "stt/final from sherpa-onnx", T);
    assert.equal(finals[0], STANDIN_TEXT);
    await record(stt, readySec, checkStart, "sherpa-onnx decoded the utterance (stand-in model)", [
      /^sherpa-onnx-linux-arm64\/sherpa-onnx\.node$/,
      /^sherpa-onnx-linux-arm64\/libsherpa-onnx-c-api\.so$/,
    ]);
  } finally {
    await stopped(stt, health);
    await Deno.remove(modelDir, { recursive: true });
  }
});

test("wake-activation wakes on an espeak-ng 'hey jarvis' (openWakeWord on onnxruntime)", async () => {
  const env = await arm64();
  const clips = await makeWakeClips();
  await using broker = await startBroker();
  await using user = testClient(broker.url);
  await user.connect({ timeoutMs: T });
  const health = await healthOf(user, "wake-activation");
  const events: WakeEvent[] = [];
  await user.subscribe(topics.wakeEvent, (event) => void events.push(event));
  const wake = startService(env, "wake-activation", broker);
  try {
    const readySec = await ready(wake, health);
    const checkStart = performance.now();
    // 20 ms frames, 1 s of silence before and after, paced at most 4x real time: the emulated
    // scorer may lag, the broker queues the rest (QoS 0 to a local subscriber is not dropped)
    const frames = [...pcmFrames(clips.silence.subarray(0, 32_000), 20)];
    frames.push(...pcmFrames(clips.heyJarvis, 20), ...pcmFrames(clips.silence, 20));
    for (const frame of frames) {
      await user.publishRaw(topics.audioPcm, frame, { params: { source: "test" } });
      await sleep(5);
    }
    await waitFor(() => events.some((e) => e.type === "wake"), "wake/event wake", T);
    await record(wake, readySec, checkStart, "wake/event on 'hey jarvis'", [
      /^onnxruntime-node\/bin\/napi-v6\/linux\/arm64\/onnxruntime_binding\.node$/,
    ]);
  } finally {
    await stopped(wake, health);
  }
});

test("movement-service, camera-service and ui-web start, report ready and stop cleanly", async () => {
  const env = await arm64();
  await using broker = await startBroker();
  await using user = testClient(broker.url);
  await user.connect({ timeoutMs: T });
  const plain: Array<[ServiceName, Record<string, string>]> = [
    ["movement-service", { MOVEMENT_DRIVER: "sim" }],
    ["camera-service", { CAMERA_HTTP_PORT: "0", CAMERA_HTTP_HOST: "127.0.0.1" }],
    ["ui-web", { UI_PORT: "0" }],
  ];
  for (const [name, extra] of plain) {
    const health = await healthOf(user, serviceTable[name].clientId);
    const service = startService(env, name, broker, extra);
    try {
      const readySec = await ready(service, health);
      await record(service, readySec, performance.now(), "health ready (no native package)");
    } finally {
      await stopped(service, health);
    }
  }
});

test("summary: every process started was aarch64", () => {
  const lines = rows.map((r) =>
    `  ${r.service.padEnd(16)} Deno.build.arch=${r.probe?.arch} (${r.probe?.target}, ` +
    `Deno ${r.probe?.deno}, pid ${r.probe?.pid}) host exe ${r.exe}\n` +
    `  ${"".padEnd(16)} ready after ${r.readySec} s, check "${r.check}" in ${r.checkSec} s` +
    ` (EMULATED timings, not robot performance)\n` +
    `  ${"".padEnd(16)} aarch64 native libraries mapped: ${r.native.join(", ") || "none"}`
  );
  console.log(`arm64 processes (${rows.length}):\n${lines.join("\n")}`);
  const expected = ["llm-worker", "router", "memory-worker", "tts-worker", "stt-worker"];
  expected.push("stt-worker", "wake-activation"); // stt-worker twice: Silero VAD, sherpa-onnx
  expected.push("movement-service", "camera-service", "ui-web");
  assert.deepEqual(rows.map((r) => r.service).sort(), expected.sort());
  assert.ok(rows.every((r) => r.probe?.arch === "aarch64"));
});

if (enabled) {
  globalThis.addEventListener("unload", () => {
    if (workDir) Deno.removeSync(workDir, { recursive: true });
  });
}
