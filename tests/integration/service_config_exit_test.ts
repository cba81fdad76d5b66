/**
 * Every service checks its own settings before it connects: with one bad setting and no
 * broker at all (MQTT_URL points at a port where nothing listens) it exits 78 at once, naming
 * the variable, instead of waiting for a broker that never comes. That holds too for the
 * settings only loading can check (a model, a file), which the services load in `prepare`.
 */
import assert from "node:assert/strict";
import { EXIT_CONFIG, type ServiceName, serviceNames } from "../../core/mod.ts";
import { freePort } from "../helpers/broker.ts";
import { spawnService } from "../helpers/service_process.ts";

/** One setting per service that its config reader refuses. */
const BAD_SETTING: Readonly<Record<ServiceName, readonly [string, string]>> = {
  router: ["ROUTER_WAKE_WINDOW_SEC", "soon"],
  "llm-worker": ["LLM_MAX_TOKENS", "many"],
  "memory-worker": ["MEMORY_REPLY_IDLE_MS", "soon"],
  "tts-worker": ["TTS_SINK", "gramophone"],
  "stt-worker": ["AUDIO_SOURCE", "telepathy"],
  "wake-activation": ["WAKE_DETECTION_THRESHOLD", "high"],
  "movement-service": ["MOVEMENT_COMMAND_TTL_MS", "soon"],
  "camera-service": ["CAMERA_WIDTH", "wide"],
  "ha-bridge": ["HA_CAMERA_INTERVAL_MS", "often"],
  "ui-web": ["UI_PORT", "eighty"],
};

/**
 * Settings whose validity only loading tells (models, files), each with what else the service
 * needs to get that far; `dir` is an empty temp dir.
 */
const BAD_LOADED: readonly {
  readonly service: ServiceName;
  readonly variable: string;
  readonly env: (dir: string) => Record<string, string>;
}[] = [
  {
    service: "stt-worker",
    variable: "VAD_MODEL_PATH",
    env: (dir) => ({ STT_BACKEND: "ws", VAD_MODEL_PATH: `${dir}/no-vad.onnx` }),
  },
  {
    service: "stt-worker",
    variable: "SHERPA_MODEL_DIR",
    env: (dir) => ({ STT_BACKEND: "sherpa", SHERPA_MODEL_DIR: `${dir}/no-sherpa-model` }),
  },
  {
    service: "stt-worker",
    variable: "AUDIO_FILE",
    env: (dir) => ({ STT_BACKEND: "ws", AUDIO_SOURCE: "file", AUDIO_FILE: `${dir}/no.wav` }),
  },
  {
    service: "memory-worker",
    variable: "EMBED_MODEL",
    env: (dir) => ({ EMBED_BACKEND: "onnx", EMBED_MODEL: `${dir}/no-embedder` }),
  },
  {
    service: "memory-worker",
    variable: "CHARACTER_DIR",
    // ${dir}/characters/Broken/character.toml is written by the test: not TOML.
    env: (dir) => ({ CHARACTER_DIR: `${dir}/characters`, CHARACTER_NAME: "Broken" }),
  },
  {
    service: "wake-activation",
    variable: "WAKE_MODEL_PATH",
    env: (dir) => ({ WAKE_MODEL_PATH: `${dir}/no-wake-word.onnx` }),
  },
  {
    service: "ha-bridge",
    variable: "MQTT_ENABLE_HEALTH",
    env: () => ({ MQTT_ENABLE_HEALTH: "false" }),
  },
];

/** Generous for a loaded machine: the process only has to load its modules and parse env. */
const EXIT_WITHIN_MS = 10_000;

async function exitOf(
  child: Deno.ChildProcess,
): Promise<{ code: number | null; stderr: string }> {
  const stderr = new Response(child.stderr).text();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), EXIT_WITHIN_MS);
  });
  const status = await Promise.race([child.status, timeout]);
  clearTimeout(timer);
  if (status === null) {
    child.kill("SIGKILL");
    await child.status;
  }
  return { code: status?.code ?? null, stderr: await stderr };
}

Deno.test("every service: one bad setting and no broker exits 78 naming the variable instead of waiting for a broker", async () => {
  const url = `mqtt://127.0.0.1:${freePort()}`; // nothing listens there
  const dir = await Deno.makeTempDir({ prefix: "tars-config-exit-" });
  try {
    const results = new Map<ServiceName, { code: number | null; stderr: string }>();
    // Two at a time: each child loads a service's modules (onnxruntime, sqlite, ...).
    const queue = [...serviceNames];
    const worker = async () => {
      for (let name = queue.shift(); name; name = queue.shift()) {
        const [variable, value] = BAD_SETTING[name];
        const child = spawnService(name, {
          MQTT_URL: url,
          MEMORY_DIR: dir,
          LOG_LEVEL: "error",
          [variable]: value,
        });
        results.set(name, await exitOf(child));
      }
    };
    await Promise.all([worker(), worker()]);
    for (const name of serviceNames) {
      const [variable] = BAD_SETTING[name];
      const { code, stderr } = results.get(name)!;
      assert.equal(
        code,
        EXIT_CONFIG,
        `${name} with a bad ${variable} and no broker: exit ${code} (null: still running after ` +
          `${EXIT_WITHIN_MS} ms)\n${stderr}`,
      );
      assert.match(stderr, new RegExp(`${variable}=`), `${name} names ${variable}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("services that load models or files: a bad path and no broker exits 78 naming the variable instead of waiting for a broker", async () => {
  const url = `mqtt://127.0.0.1:${freePort()}`; // nothing listens there
  const dir = await Deno.makeTempDir({ prefix: "tars-config-exit-" });
  try {
    await Deno.mkdir(`${dir}/characters/Broken`, { recursive: true });
    await Deno.writeTextFile(`${dir}/characters/Broken/character.toml`, "name = [unclosed\n");
    const results: { code: number | null; stderr: string }[] = [];
    const queue = BAD_LOADED.map((bad, index) => ({ bad, index }));
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const child = spawnService(next.bad.service, {
          MQTT_URL: url,
          MEMORY_DIR: dir,
          LOG_LEVEL: "error",
          ...next.bad.env(dir),
        });
        results[next.index] = await exitOf(child);
      }
    };
    await Promise.all([worker(), worker()]);
    BAD_LOADED.forEach(({ service, variable }, index) => {
      const { code, stderr } = results[index];
      assert.equal(
        code,
        EXIT_CONFIG,
        `${service} with a bad ${variable} and no broker: exit ${code} (null: still running ` +
          `after ${EXIT_WITHIN_MS} ms)\n${stderr}`,
      );
      assert.match(stderr, new RegExp(`${variable}=`), `${service} names ${variable}`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
