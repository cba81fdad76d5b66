/**
 * What the launcher needs beyond the service catalog of core (`core/service/catalog.ts`, the
 * names, client ids and MQTT defaults): where each service's entrypoint lives, the Deno
 * permissions it runs with, what `deno compile` embeds, the URL it serves, its dev settings.
 *
 * The permission lists are a least-privilege first guess, to be narrowed by each service's
 * issue once the service exists (e.g. `--allow-net=127.0.0.1,...`, `--allow-read=<dirs>`).
 *
 * @module
 */
import { join } from "node:path";
import {
  serviceCatalog,
  type ServiceInfo,
  type ServiceName,
  serviceNames,
} from "../core/service/catalog.ts";

/** What the launcher needs to know to run one service: its catalog row and the ops facts. */
export interface ServiceSpec extends ServiceInfo {
  /** Entrypoint, relative to the project root: `services/<name>/main.ts`. */
  readonly entry: string;
  /**
   * `deno run` flags: {@linkcode SERVICE_V8_FLAGS}, then the permissions (to be narrowed by
   * each service's issue).
   */
  readonly permissions: readonly string[];
  /**
   * Programs of its `--allow-run=<names>` a variable may replace (`ffmpeg` → `CAMERA_FFMPEG`);
   * see {@linkcode devPermissions}.
   */
  readonly runVariables?: Readonly<Record<string, string>>;
  /** The URL it serves by default, if any (the launcher prints it). */
  readonly url?: string;
  /** The variable that moves {@linkcode url} to another port (the launcher prints that one). */
  readonly urlPortVariable?: string;
  /** Files and folders `deno compile` must embed (models, static pages), relative to the root. */
  readonly include?: readonly string[];
  /**
   * npm packages with native addons that `deno bundle` leaves external: the bundle then loads
   * them from `node_modules` at run time (`deno run --config deno.json <bundle>` in the project).
   */
  readonly external?: readonly string[];
  /**
   * Settings `deno task dev` gives the service unless the environment sets them: the backends
   * that need no hardware and no accounts, where the service's own default is not one already
   * (stt-worker's is the ALSA microphone). The robot's settings are in `ops/robot.env`, which
   * `deno task dev` does not load.
   */
  readonly devEnv?: Readonly<Record<string, string>>;
}

/**
 * V8 settings every service runs with (they go first in each {@linkcode ServiceSpec.permissions}).
 * `--max-semi-space-size=1` caps V8's young generation at 1 MiB per semi-space (by default V8
 * grows it to 8 MiB while the service starts or works, and shrinks it only after ~30 s idle):
 * a service 3 s after connecting takes ~12 MiB less RSS (82 instead of 95 MiB), and in
 * `deno task bench core` the MqttClient's QoS 1 p99 and its throughput were better with it,
 * not worse (shorter scavenges). See docs/performance.md, "QoS 1 tail and memory per service".
 */
export const SERVICE_V8_FLAGS = ["--v8-flags=--max-semi-space-size=1"] as const;

// Every service talks MQTT and reads its config from env; most read files (models, config).
const BASE = [...SERVICE_V8_FLAGS, "--allow-net", "--allow-env", "--allow-read"] as const;

function spec(
  name: ServiceName,
  extra: readonly string[],
  url?: string,
): ServiceSpec {
  return {
    ...serviceCatalog[name],
    entry: `services/${name}/main.ts`,
    permissions: [...BASE, ...extra],
    ...(url ? { url } : {}),
  };
}

/** The services, keyed by name: the core catalog's rows with the launcher's facts. */
export const serviceTable: Readonly<Record<ServiceName, ServiceSpec>> = {
  router: spec("router", []),
  "llm-worker": spec("llm-worker", []),
  "memory-worker": {
    // the SQLite file in MEMORY_DIR; sqlite-vec extension and onnxruntime (EMBED_BACKEND=onnx)
    ...spec("memory-worker", ["--allow-write", "--allow-ffi"]),
    include: ["services/memory-worker/characters"],
    external: ["onnxruntime-node", "sqlite-vec"],
    devEnv: { MEMORY_DIR: "data/memory" },
  },
  "tts-worker": {
    // espeak-ng / aplay subprocesses, cached and output wav files, onnxruntime (Piper)
    ...spec("tts-worker", ["--allow-run", "--allow-write", "--allow-ffi", "--allow-sys"]),
    external: ["onnxruntime-node"],
  },
  "stt-worker": {
    // onnxruntime (Silero VAD) and sherpa-onnx native addons, the arecord subprocess
    ...spec("stt-worker", ["--allow-ffi", "--allow-run=arecord"]),
    external: ["onnxruntime-node", "sherpa-onnx-node"],
    // the browser's push-to-talk microphone (ui-web), always listening: it sends no wake/mic
    devEnv: { AUDIO_SOURCE: "mqtt", STT_MIC_MODE: "open" },
  },
  "wake-activation": {
    // onnxruntime (openWakeWord) native addon; models read from node_modules or WAKE_*_PATH
    ...spec("wake-activation", ["--allow-ffi"]),
    external: ["onnxruntime-node"],
  },
  // libc open/ioctl/write on /dev/i2c-N (MOVEMENT_DRIVER=pca9685 only)
  "movement-service": spec("movement-service", ["--allow-ffi"]),
  "camera-service": {
    // ffmpeg capture subprocess; serves MJPEG over HTTP (port 8080)
    ...spec("camera-service", ["--allow-run=ffmpeg"], "http://127.0.0.1:8080/stream"),
    urlPortVariable: "CAMERA_HTTP_PORT",
    runVariables: { ffmpeg: "CAMERA_FFMPEG" },
  },
  "ha-bridge": spec("ha-bridge", []),
  "ui-web": {
    ...spec("ui-web", [], "http://127.0.0.1:5010"),
    urlPortVariable: "UI_PORT",
    include: ["services/ui-web/static"],
  },
};

/**
 * The URL `spec` serves with `env`: its default URL with the port `spec.urlPortVariable`
 * sets, if any. `undefined` for a service that serves nothing.
 */
export function serviceUrl(
  spec: ServiceSpec,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (!spec.url) return undefined;
  const port = spec.urlPortVariable ? env[spec.urlPortVariable]?.trim() : undefined;
  if (!port || !/^\d+$/.test(port) || port === "0") return spec.url;
  const { origin, protocol, hostname } = new URL(spec.url);
  return spec.url.replace(origin, `${protocol}//${hostname}:${port}`);
}

/**
 * The settings `deno task dev` gives `spec` unless `env` sets them: its
 * {@linkcode ServiceSpec.devEnv}, and for ui-web the camera stream it relays
 * (`UI_CAMERA_URL`), derived from camera-service's `CAMERA_HTTP_HOST` and `CAMERA_HTTP_PORT`
 * in `env` so that the dashboard shows the camera wherever camera-service really serves.
 */
export function devEnvFor(
  spec: ServiceSpec,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = { ...spec.devEnv };
  if (spec.name === "ui-web" && !env.UI_CAMERA_URL) out.UI_CAMERA_URL = cameraStreamUrl(env);
  return out;
}

/**
 * `spec.permissions` as `deno task dev` passes them: each program of an `--allow-run=<names>`
 * is the one its variable names (`CAMERA_FFMPEG`), as the absolute path `which` finds now.
 * Deno resolves a bare name once, at the start, anyway: the path says which program is allowed,
 * and a name `which` cannot find stays as it is (the service then reports it missing).
 */
export function devPermissions(
  spec: ServiceSpec,
  env: Readonly<Record<string, string | undefined>>,
  which: (name: string) => string | null,
): string[] {
  return spec.permissions.map((flag) => {
    if (!flag.startsWith("--allow-run=")) return flag;
    const programs = flag.slice("--allow-run=".length).split(",").map((program) => {
      const variable = spec.runVariables?.[program];
      const name = (variable && env[variable]?.trim()) || program;
      return which(name) ?? name;
    });
    return `--allow-run=${programs.join(",")}`;
  });
}

/**
 * Where camera-service serves its MJPEG stream with `env`, as seen from this machine: a
 * wildcard bind address (`0.0.0.0`, `::`) is reached on loopback.
 */
export function cameraStreamUrl(env: Readonly<Record<string, string | undefined>>): string {
  let host = env.CAMERA_HTTP_HOST?.trim() || "127.0.0.1";
  if (host === "0.0.0.0") host = "127.0.0.1";
  if (host === "::" || host === "[::]") host = "[::1]";
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  const raw = env.CAMERA_HTTP_PORT?.trim();
  const port = raw && /^\d+$/.test(raw) && raw !== "0" ? raw : "8080";
  return `http://${host}:${port}/stream`;
}

/**
 * The services whose `services/<name>/main.ts` exists under `root` (default: the current
 * directory), in {@linkcode serviceNames} order. `servicesDir` overrides where the service
 * folders are looked for (the returned `entry` is then absolute).
 */
export function existingServices(
  root: string = Deno.cwd(),
  servicesDir?: string,
): ServiceSpec[] {
  const found: ServiceSpec[] = [];
  for (const name of serviceNames) {
    const s = serviceTable[name];
    const entry = servicesDir ? join(servicesDir, name, "main.ts") : join(root, s.entry);
    if (isFile(entry)) found.push(servicesDir ? { ...s, entry } : s);
  }
  return found;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
