/**
 * `deno task dev`: the whole stack on one machine.
 *
 * Uses the broker at `MQTT_URL` when it is set, else starts the embedded broker (aedes) on
 * 127.0.0.1:`TARS_DEV_BROKER_PORT` (default 1883). Then runs every service that exists under
 * `services/` as its own `deno run` process with `MQTT_URL` pointing at that broker, and
 * prefixes each output line with the service's name. Ctrl-C (or SIGTERM) stops everything:
 * SIGTERM to every service, SIGKILL for those still running after 5 s, then the broker closes.
 *
 * A service that exits on its own is reported with its exit code and restarted after a delay
 * that doubles with each quick crash (1 s, 2 s, 4 s, ... up to 30 s; back to 1 s once it has run
 * for 30 s). A configuration error (exit 78) is not restarted: a restart cannot fix the
 * environment, so the launcher says which service to fix and leaves the others running.
 *
 * @module
 */
import { isAbsolute, join } from "node:path";
import { EXIT_CONFIG, ExponentialBackoff } from "../core/mod.ts";
import { abortableSleep } from "../lib/async/mod.ts";
import {
  // deno-lint-ignore no-unused-vars -- named in the JSDoc
  type BrokerPortInUseError,
  type EmbeddedBroker,
  startEmbeddedBroker,
} from "./embedded_broker.ts";
import { findExecutable, formatPreflight, preflight, type PreflightOptions } from "./preflight.ts";
import {
  devEnvFor,
  devPermissions,
  existingServices,
  type ServiceSpec,
  serviceUrl,
} from "./services.ts";

/** Options of {@linkcode runDevStack}. */
export interface DevStackOptions {
  /** Project root: the services' working directory (its deno.json applies). Default: cwd. */
  root?: string;
  /** Folder holding `<service>/main.ts`. Default: `<root>/services`. */
  servicesDir?: string;
  /**
   * Where the launcher reads `MQTT_URL` and `TARS_DEV_BROKER_PORT`, and variables added to the
   * environment the services inherit. Default: this process's environment.
   */
  env?: Record<string, string>;
  /** Aborting it stops the stack; `runDevStack` resolves once everything is down. */
  signal?: AbortSignal;
  /** Receives every output line (launcher and services). Default: `console.log`. */
  out?: (line: string) => void;
  /** How long services get to exit after SIGTERM before SIGKILL. Default 5000 ms. */
  stopTimeoutMs?: number;
  /** Restart delays after a crash: first and cap, in ms. Default 1000 and 30000. */
  restartDelayMs?: { min: number; max: number };
  /**
   * The preflight block printed before the services start ({@linkcode preflight}): its
   * lookups (tests), or `false` for none. Default: the real `PATH` and servers.
   */
  preflight?: PreflightOptions | false;
}

const DEV = "dev";
const COLORS = [36, 32, 33, 35, 34, 91, 92, 93, 95, 96];

/** One supervised service: its current process and the loop that restarts it. */
interface Running {
  spec: ServiceSpec;
  /** The current process; null between a crash and its restart. */
  child: Deno.ChildProcess | null;
  /** Resolves when the supervisor loop has ended (after a stop or a config error). */
  done: Promise<void>;
  /** Set by the stop: no more restarts. */
  stopping: boolean;
  /** Aborted by the stop: ends a pending restart delay at once. */
  stop: AbortController;
}

/**
 * Runs the dev stack until `opts.signal` aborts, then stops it and resolves.
 *
 * @throws {BrokerPortInUseError} when the embedded broker's port is taken, or an error naming
 * `TARS_DEV_BROKER_PORT` when that is not a port number.
 */
export async function runDevStack(opts: DevStackOptions = {}): Promise<void> {
  const root = opts.root ?? Deno.cwd();
  const env = opts.env ?? Deno.env.toObject();
  const out = opts.out ?? ((line: string) => console.log(line));
  const color = !opts.out && Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  const stopTimeoutMs = opts.stopTimeoutMs ?? 5_000;
  const services = existingServices(root, opts.servicesDir);
  const width = Math.max(DEV.length, ...services.map((s) => s.name.length));
  const say = (name: string, index: number, line: string) => {
    const label = name.padEnd(width);
    const shown = color ? `\x1b[${COLORS[index % COLORS.length]}m${label}\x1b[0m` : label;
    out(`${shown} | ${line}`);
  };
  const info = (line: string) => say(DEV, COLORS.length - 1, line);

  let broker: EmbeddedBroker | undefined;
  let url = env.MQTT_URL;
  if (url) {
    info(`using the broker at MQTT_URL=${url}`);
  } else {
    const port = brokerPort(env.TARS_DEV_BROKER_PORT);
    broker = await startEmbeddedBroker({ host: "127.0.0.1", port });
    url = broker.url;
    info(`embedded MQTT broker (aedes, MQTT 3.1.1) at ${url}`);
  }

  const running: Running[] = [];
  try {
    if (opts.signal?.aborted) return;
    const which = opts.preflight && opts.preflight.which
      ? opts.preflight.which
      : (name: string) => findExecutable(name, env.PATH);
    if (opts.preflight !== false && services.length > 0) {
      for (const line of formatPreflight(await preflight(env, { which, ...opts.preflight }))) {
        info(line);
      }
    }
    if (services.length === 0) {
      const where = opts.servicesDir ?? "services/";
      info(`no services under ${where} yet; the broker is running at ${url}; Ctrl-C to stop`);
    }
    const restart = opts.restartDelayMs ?? { min: 1_000, max: 30_000 };
    for (const [index, spec] of services.entries()) {
      const entry = isAbsolute(spec.entry) ? spec.entry : join(root, spec.entry);
      const line = (text: string) => say(spec.name, index, text);
      const spawn = () =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", ...devPermissions(spec, env, which), entry],
          cwd: root,
          // Readable lines in a terminal; JSON when the launcher's own output is piped.
          env: {
            LOG_FORMAT: color ? "pretty" : "auto",
            ...devEnvFor(spec, env),
            ...env,
            MQTT_URL: url,
          },
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
      running.push(supervise(spec, spawn, line, restart));
    }
    for (const s of services) {
      const serving = serviceUrl(s, { ...s.devEnv, ...env });
      if (serving) info(`${s.name}: ${serving}`);
    }
    await aborted(opts.signal);
    info("stopping...");
  } finally {
    await stopAll(running, stopTimeoutMs, info);
    await broker?.close();
    if (broker) info("broker closed");
  }
}

function brokerPort(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 1883;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`TARS_DEV_BROKER_PORT must be a port number (0-65535), got "${raw}"`);
  }
  return port;
}

function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

function describeExit(status: Deno.CommandStatus): string {
  return status.signal ? `exited (killed by ${status.signal})` : `exited with code ${status.code}`;
}

/**
 * Runs `spawn` and restarts it with a doubling delay whenever it exits, until the stop (or an
 * exit with {@linkcode EXIT_CONFIG}).
 */
function supervise(
  spec: ServiceSpec,
  spawn: () => Deno.ChildProcess,
  line: (text: string) => void,
  delays: { min: number; max: number },
): Running {
  const r: Running = {
    spec,
    child: null,
    stopping: false,
    stop: new AbortController(),
    done: Promise.resolve(),
  };
  const backoff = new ExponentialBackoff({ minMs: delays.min, maxMs: delays.max, jitter: 0 });
  r.done = (async () => {
    while (!r.stopping) {
      const startedAt = Date.now();
      const child = spawn();
      r.child = child;
      line(`started (pid ${child.pid}) ${spec.entry}`);
      const status = await watch(child, line);
      r.child = null;
      line(describeExit(status));
      if (r.stopping) break;
      if (status.code === EXIT_CONFIG) {
        line(`configuration error: fix the variables named above, then restart the stack`);
        break;
      }
      if (Date.now() - startedAt >= delays.max) backoff.reset(); // it ran fine for a while
      const delay = backoff.next();
      line(`restarting in ${formatSeconds(delay)}`);
      await abortableSleep(delay, r.stop.signal);
    }
  })();
  return r;
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** SIGTERM everyone, wait up to `timeoutMs`, SIGKILL the rest, wait for all. */
async function stopAll(
  running: Running[],
  timeoutMs: number,
  info: (line: string) => void,
): Promise<void> {
  for (const r of running) {
    r.stopping = true;
    r.stop.abort();
    signal(r, "SIGTERM");
  }
  const all = Promise.all(running.map((r) => r.done));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    if (await Promise.race([all, timeout]) === "timeout") {
      for (const r of running) {
        if (!r.child) continue;
        info(`${r.spec.name} still running ${timeoutMs} ms after SIGTERM: SIGKILL`);
        signal(r, "SIGKILL");
      }
    }
  } finally {
    clearTimeout(timer);
  }
  await all;
}

function signal(r: Running, sig: Deno.Signal): void {
  if (!r.child) return;
  try {
    r.child.kill(sig);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err; // TypeError: it has already exited
  }
}

/** Forwards the child's output lines; resolves with its status once it and its pipes end. */
async function watch(
  child: Deno.ChildProcess,
  line: (text: string) => void,
): Promise<Deno.CommandStatus> {
  const readers = [child.stdout.getReader(), child.stderr.getReader()];
  const pumps = readers.map((reader) => pumpLines(reader, line));
  const status = await child.status;
  // A grandchild may still hold the pipes open: give them a moment, then stop reading.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), 1_000);
  });
  try {
    if (await Promise.race([Promise.all(pumps), grace]) === "late") {
      await Promise.all(readers.map((r) => r.cancel().catch(() => {})));
      await Promise.all(pumps);
    }
  } finally {
    clearTimeout(timer);
  }
  return status;
}

async function pumpLines(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  line: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  const emit = (text: string) => line(text.endsWith("\r") ? text.slice(0, -1) : text);
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      for (const part of parts) emit(part);
    }
  } catch {
    // cancelled or broken pipe: print what we have
  } finally {
    reader.releaseLock();
  }
  rest += decoder.decode();
  if (rest) emit(rest);
}

async function main(): Promise<number> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    await runDevStack({ signal: controller.signal });
    return 0;
  } catch (err) {
    console.error(`dev: ${err instanceof Error ? err.message : err}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main());
