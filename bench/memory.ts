/**
 * `deno task bench memory`: the idle memory of every real service. Each service under
 * `services/` starts as `deno task dev` starts it (`ops/dev.ts`: its `devEnv`, the
 * {@linkcode SERVICE_V8_FLAGS} and permissions of `ops/services.ts`, the current environment)
 * against one local Mosquitto, all at once as in the dev stack. `BENCH_IDLE_S` (3) seconds
 * after a service said `ready` on its retained `system/health/<client id>` (one that cannot be
 * ready, e.g. llm-worker without an API key, once its health has been quiet for 5 s), the
 * bench reads from `/proc/<pid>`:
 *
 * - **RSS** (`VmRSS`): what `top` shows; it counts the pages of the `deno` executable the
 *   process touched (code, the V8 snapshot), which every Deno process on the machine shares;
 * - **PSS** (`smaps_rollup`): the same with each shared page divided among the processes that
 *   map it, so the PSS of all services together is what they cost the machine;
 * - **anonymous**: the process's own memory (JavaScript heap, native allocations).
 *
 * Settings that would collide with a running dev stack are moved: ui-web and camera-service
 * serve on free ports, memory-worker keeps its database in a temporary folder. camera-service's
 * ffmpeg and other child processes are not counted.
 *
 * Prints Markdown; `--json=<path>` also writes the numbers as JSON.
 *
 * @module
 */
import { join } from "node:path";
import { MqttClient, topics } from "../core/mod.ts";
import {
  devEnvFor,
  devPermissions,
  existingServices,
  SERVICE_V8_FLAGS,
  type ServiceSpec,
} from "../ops/services.ts";
import { findExecutable } from "../ops/preflight.ts";
import { startBroker } from "../tests/helpers/broker.ts";
import { parseArgs } from "./protocol.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** A service that never says ready is measured once its health was quiet this long, ms. */
const SETTLE_MS = 5_000;

/** The memory of one idle service, MiB. */
export interface ServiceMemory {
  /** Service name (`services/<name>`). */
  readonly service: string;
  /** `VmRSS`. */
  readonly rssMiB: number;
  /** Proportional set size (shared pages divided among the processes mapping them). */
  readonly pssMiB: number;
  /** Anonymous memory (not backed by a file). */
  readonly anonymousMiB: number;
  /** ms from the spawn to its health `ready`; `null` when it did not say ready. */
  readonly readyMs: number | null;
  /** Its last health event when measured, e.g. `ready`. */
  readonly health: string | null;
}

/** The whole report (also the `--json` file). */
export interface MemoryReport {
  readonly date: string;
  /** Seconds between `ready` and the reading. */
  readonly idleSeconds: number;
  /** `SERVICE_V8_FLAGS` the services ran with. */
  readonly v8Flags: readonly string[];
  /** Load averages (1, 5, 15 min) when measured. */
  readonly load: string;
  readonly services: ServiceMemory[];
}

/** Numbers of `/proc/<pid>/status` and `smaps_rollup`, KiB: `Rss`, `Pss`, `Anonymous`. */
export function parseProcMemory(status: string, smapsRollup: string): {
  rss: number;
  pss: number;
  anonymous: number;
} {
  const field = (text: string, name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(text);
    if (!m) throw new Error(`no ${name} in /proc memory information`);
    return Number(m[1]);
  };
  return {
    rss: field(status, "VmRSS"),
    pss: field(smapsRollup, "Pss"),
    anonymous: field(smapsRollup, "Anonymous"),
  };
}

/** Reads a `/proc` file with `cat` (Deno lets only `--allow-all` programs open them). */
async function readProc(path: string): Promise<string> {
  const { stdout, success } = await new Deno.Command("cat", {
    args: [path],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!success) throw new Error(`cannot read ${path}`);
  return new TextDecoder().decode(stdout);
}

/** The environment a service gets here: `deno task dev`'s, with clashing settings moved. */
function serviceEnv(
  spec: ServiceSpec,
  env: Record<string, string>,
  brokerUrl: string,
  dataDir: string,
): Record<string, string> {
  const moved: Record<string, string> = {};
  if (spec.name === "ui-web") moved.UI_PORT = "0";
  if (spec.name === "camera-service") moved.CAMERA_HTTP_PORT = "0";
  if (spec.name === "memory-worker") moved.MEMORY_DIR = dataDir;
  return {
    LOG_FORMAT: "auto",
    ...devEnvFor(spec, env),
    ...env,
    ...moved,
    MQTT_URL: brokerUrl,
  };
}

function log(message: string): void {
  console.error(`[bench memory] ${message}`);
}

/** Runs the measurement; `args` may hold `--json=<path>`. */
export async function main(args: readonly string[]): Promise<MemoryReport> {
  const options = parseArgs(args);
  const idleSeconds = Number(Deno.env.get("BENCH_IDLE_S") ?? 3);
  const readyTimeoutMs = 60_000;
  const dataDir = await Deno.makeTempDir({ prefix: "tars-bench-memory-" });
  await using broker = await startBroker();
  const listener = new MqttClient({ url: broker.url, clientId: "bench-memory" });
  await listener.connect({ timeoutMs: 10_000 });
  const health = new Map<string, { event: string; at: number }>();
  const readyAt = new Map<string, number>();
  await listener.subscribe(topics.systemHealth, (p, c) => {
    const id = c.topic.slice(c.topic.lastIndexOf("/") + 1);
    health.set(id, { event: p.event ?? "", at: performance.now() });
    if (p.ok && p.event === "ready" && !readyAt.has(id)) readyAt.set(id, performance.now());
  }, { queueSize: 512 });
  /** Ready, or (a service that cannot be, e.g. not configured) its health quiet for a while. */
  const settled = (clientId: string) => {
    const last = health.get(clientId);
    return readyAt.has(clientId) ||
      (last !== undefined && performance.now() - last.at > SETTLE_MS);
  };

  const env = Deno.env.toObject();
  const specs = existingServices(ROOT);
  const started = performance.now();
  const children = specs.map((spec) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...devPermissions(spec, env, (name) => findExecutable(name, env.PATH)),
        join(ROOT, spec.entry),
      ],
      cwd: ROOT,
      env: serviceEnv(spec, env, broker.url, dataDir),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn()
  );
  const results: ServiceMemory[] = [];
  try {
    await Promise.all(specs.map(async (spec, i) => {
      const deadline = started + readyTimeoutMs;
      while (!settled(spec.clientId) && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const ready = readyAt.get(spec.clientId);
      if (ready === undefined) {
        log(`${spec.name} is not ready (health: ${health.get(spec.clientId)?.event ?? "none"})`);
      }
      await new Promise((r) => setTimeout(r, idleSeconds * 1000));
      const pid = children[i].pid;
      const memory = parseProcMemory(
        await readProc(`/proc/${pid}/status`),
        await readProc(`/proc/${pid}/smaps_rollup`),
      );
      results[i] = {
        service: spec.name,
        rssMiB: memory.rss / 1024,
        pssMiB: memory.pss / 1024,
        anonymousMiB: memory.anonymous / 1024,
        readyMs: ready === undefined ? null : Math.round(ready - started),
        health: health.get(spec.clientId)?.event ?? null,
      };
      log(`${spec.name}: RSS ${results[i].rssMiB.toFixed(1)} MiB`);
    }));
  } finally {
    for (const child of children) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    await Promise.allSettled(children.map((c) => c.status));
    await listener.shutdown();
    await Deno.remove(dataDir, { recursive: true });
  }
  const load = Deno.loadavg().map((v) => v.toFixed(2)).join(" ");
  const report: MemoryReport = {
    date: new Date().toISOString(),
    idleSeconds,
    v8Flags: SERVICE_V8_FLAGS,
    load,
    services: results,
  };
  const jsonPath = options.get("json");
  if (jsonPath) await Deno.writeTextFile(jsonPath, JSON.stringify(report, null, 2) + "\n");
  return report;
}

/** The report as Markdown. */
export function render(r: MemoryReport): string {
  const f = (v: number) => v.toFixed(1);
  const sum = (key: "rssMiB" | "pssMiB" | "anonymousMiB") =>
    r.services.reduce((total, s) => total + s[key], 0);
  return [
    `Idle memory of every service, ${r.idleSeconds} s after it said ready (one that cannot: after ` +
    `its health settled), all running at once ` +
    `(${r.date}; ${r.v8Flags.join(" ")}; load average ${r.load}):`,
    "",
    "| service | RSS (MiB) | PSS (MiB) | anonymous (MiB) | ready after (ms) | health |",
    "|---|--:|--:|--:|--:|---|",
    ...r.services.map((s) =>
      `| ${s.service} | ${f(s.rssMiB)} | ${f(s.pssMiB)} | ${f(s.anonymousMiB)} | ${
        s.readyMs ?? "never"
      } | ${s.health ?? "–"} |`
    ),
    `| **all ${r.services.length}** | ${f(sum("rssMiB"))} | ${f(sum("pssMiB"))} | ${
      f(sum("anonymousMiB"))
    } | | |`,
    "",
    "RSS counts the pages of the `deno` executable each process touched, which all of them " +
    "share; the PSS column divides shared pages among the processes, so its sum is what the " +
    "services cost the machine together.",
  ].join("\n");
}

/** Runs the bench and returns its Markdown section. */
export async function run(args: readonly string[] = []): Promise<string> {
  return render(await main(args));
}

if (import.meta.main) console.log(render(await main(Deno.args)));
