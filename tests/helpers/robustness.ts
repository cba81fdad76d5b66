/**
 * The driver of the robustness suite (`tests/robustness/`): runs one service as its own
 * process against a real Mosquitto, floods every topic the topic table says it subscribes
 * with the hostile payloads of `robustness_payloads.ts`, one family at a time, and after each
 * family sends one normal request (the service's probe) and times its answer. It records what
 * the lead reports in docs/security.md: payloads tried, crashes, the slowest probe, log lines
 * written during the flood, and the retained health at the end.
 *
 * The probe is a real request of the service (an e-stop for movement-service, an LLM request
 * for llm-worker, ...). Some hostile payloads are valid messages with something extra (an
 * unknown field, a huge text): those act, e.g. a `tts/control` pause pauses. A case's `reset`
 * sends the valid messages that undo such state before each probe (a resume, a speaking_end),
 * so the probe measures the service's robustness, not the semantics of the flood.
 *
 * To look into a failure: `ROBUSTNESS_DEBUG=1` prints progress and keeps the start of each
 * log line in `$TMPDIR/robustness-<service>.log`; `ROBUSTNESS_FAMILIES=oversized,nested` and
 * `ROBUSTNESS_TOPICS=tts/say` narrow the flood.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { MqttClient as MqttJsClient } from "mqtt";
import {
  type MqttClient,
  type ServiceName,
  topicFor,
  topicList,
  type TopicSpec,
} from "../../core/mod.ts";
import { serviceTable } from "../../ops/services.ts";
import { startBroker, type TestBroker } from "./broker.ts";
import { FAMILIES, type Family, hostilePayloads } from "./robustness_payloads.ts";
import { spawnService } from "./service_process.ts";
import { rawClient, sleep, testClient } from "./wait.ts";

/** Values used for the `{param}` placeholders of subscribed topics unless a case sets them. */
export const DEFAULT_PARAMS: Readonly<Record<string, string>> = {
  // another service's id: floods of a peer's health/keepalive/metrics, never the service's own
  client_id: "tars-tts",
  source: "mic",
};

/** A message seen on one of a case's reply filters. */
export interface SeenMessage {
  /** Concrete topic. */
  readonly topic: string;
  /** Payload as text. */
  readonly text: string;
  /** `performance.now()` when it arrived. */
  readonly at: number;
}

/** What a probe (or reset) gets to talk to the service. */
export interface ProbeContext {
  /** The broker. */
  readonly broker: TestBroker;
  /** A connected TARS client of the test, for publishing valid requests. */
  readonly client: MqttClient;
  /** A marker unique to this probe (lower-case letters only: it passes text filters). */
  readonly marker: string;
  /** A fresh uuid4 hex (for fields that must be one). */
  readonly uuidHex: string;
  /** Messages on the case's reply filters, in arrival order. */
  readonly seen: readonly SeenMessage[];
  /** Resolves once a message on `filter` arrived after `since` and `match(text)` holds. */
  until(filter: string, match: (text: string) => boolean, since: number): Promise<void>;
  /** Polls `condition` every 20 ms until it is truthy (the probe's deadline applies). */
  poll(condition: () => boolean | Promise<boolean>): Promise<void>;
}

/** One service under test. */
export interface RobustnessCase {
  /** The service. */
  readonly service: ServiceName;
  /** Environment of the service (MQTT_URL, PATH and LOG_LEVEL=warning are added). */
  readonly env?: Record<string, string>;
  /** `{param}` values of its subscribed topics; default {@linkcode DEFAULT_PARAMS}. */
  readonly params?: Readonly<Record<string, string>>;
  /** Filters the test listens on for the probe's answer. */
  readonly replies: readonly string[];
  /** Sends a normal request and resolves once it was handled. */
  probe(ctx: ProbeContext): Promise<void>;
  /** Valid messages that undo state the flood's valid-but-odd messages set; before each probe. */
  reset?(ctx: ProbeContext): Promise<void>;
  /** The probe must be answered within this many ms. */
  readonly boundMs: number;
  /** Waits for the service beyond health `ready`, e.g. its HTTP server; optional. */
  ready?(ctx: ProbeContext): Promise<void>;
}

/** One probe's outcome. */
export interface ProbeOutcome {
  /** The family flooded just before (`baseline` = before any flood). */
  readonly after: Family | "baseline";
  /** Latency in ms, or `null` when it got no answer within the deadline. */
  readonly ms: number | null;
}

/** What a run measured. */
export interface RobustnessReport {
  /** The service. */
  readonly service: ServiceName;
  /** The concrete topics flooded. */
  readonly topics: readonly string[];
  /** Hostile payloads published. */
  payloads: number;
  /** Payloads per family. */
  readonly perFamily: Partial<Record<Family, number>>;
  /** 1 when the process exited during the flood, else 0. */
  crashes: number;
  /** The probes after each family. */
  readonly probes: ProbeOutcome[];
  /** The probe bound in ms. */
  readonly boundMs: number;
  /** Log lines (stderr, JSON lines) written from the first hostile payload to the last probe. */
  logLines: number;
  /** The bound on {@linkcode logLines}. */
  readonly logLineBound: number;
  /** The longest of those log lines, in characters. */
  longestLogLine: number;
  /** The retained health at the end, e.g. `ok ready`, or what was wrong with it. */
  health: string;
  /** Everything that was wrong; empty when the service passed. */
  readonly problems: string[];
  /** The tail of the service's log, for failure messages. */
  logTail: string;
  /** Wall time of the run in ms. */
  wallMs: number;
}

/** Log lines allowed per subscribed topic: one per rejection reason (not JSON, not an envelope, schema), twice (a 10 s rate-limit window may roll over once during a run). */
export const LOG_LINES_PER_TOPIC = 6;
/** Log lines allowed beyond that (a service's own warnings, e.g. a probe's side effects). */
export const LOG_LINES_SLACK = 10;
/** The longest log line allowed, in characters (logged strings are truncated). */
export const MAX_LOG_LINE = 4_096;
/** How long a probe may take before it counts as unanswered (its bound may be far lower). */
const PROBE_DEADLINE_MS = 20_000;
/** How long a stopping service may take to exit before it is killed. */
const STOP_TIMEOUT_MS = 5_000;
/** How long the service may take to get ready and answer its first probe. */
const START_TIMEOUT_MS = 60_000;

/** The topics of the table `service` subscribes, with their `{param}`s filled. */
export function subscribedTopics(
  service: ServiceName,
  params: Readonly<Record<string, string>> = DEFAULT_PARAMS,
): Array<{ spec: TopicSpec; topic: string }> {
  return topicList
    .filter((spec) => spec.subscribers.includes(service))
    .map((spec) => ({ spec, topic: topicFor(spec, params) }));
}

/** Collects a child's stderr: line count, longest line, a bounded tail. */
class LogWatch {
  lines = 0;
  longest = 0;
  /** With ROBUSTNESS_DEBUG=1: the start of every line. */
  readonly firstChars: string[] = [];
  #tail: string[] = [];
  #partial = 0;
  #partialText = "";
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  /** The last lines (each cut to 400 characters). */
  tail(): string {
    return this.#tail.join("\n");
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) this.#add(decoder.decode(chunk, { stream: true }));
    } catch { /* the process went away */ }
    this.#add(decoder.decode());
  }

  #add(text: string): void {
    let start = 0;
    while (true) {
      const nl = text.indexOf("\n", start);
      const piece = text.slice(start, nl === -1 ? undefined : nl);
      this.#partial += piece.length;
      if (this.#partialText.length < 400) this.#partialText += piece.slice(0, 400);
      if (nl === -1) return;
      this.lines++;
      if (DEBUG) this.firstChars.push(this.#partialText.slice(0, 400));
      this.longest = Math.max(this.longest, this.#partial);
      this.#tail.push(this.#partialText.slice(0, 400) + (this.#partial > 400 ? " …" : ""));
      if (this.#tail.length > 30) this.#tail.shift();
      this.#partial = 0;
      this.#partialText = "";
      start = nl + 1;
    }
  }
}

const DEBUG = Deno.env.get("ROBUSTNESS_DEBUG") === "1";
/** To reproduce a failure: ROBUSTNESS_FAMILIES=nested,oversized floods only these families. */
const ONLY_FAMILIES = Deno.env.get("ROBUSTNESS_FAMILIES")?.split(",");
/** To reproduce a failure: ROBUSTNESS_TOPICS=tts/say floods only these topics. */
const ONLY_TOPICS = Deno.env.get("ROBUSTNESS_TOPICS")?.split(",");
function debug(text: string): void {
  if (DEBUG) console.error(`[robustness ${new Date().toISOString()}] ${text}`);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function randomLetters(count: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(count));
  return Array.from(bytes, (b) => String.fromCharCode(97 + (b % 26))).join("");
}

function uuidHex(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** Reads the retained health of `clientId`: `ok <event>` or what is wrong. */
async function retainedHealth(url: string, clientId: string): Promise<string> {
  await using reader = await rawClient(url);
  const got = new Promise<string>((resolve) => {
    reader.on("message", (_topic, payload, packet) => {
      try {
        const data = JSON.parse(new TextDecoder().decode(payload)).data;
        resolve(
          `${data.ok ? "ok" : "NOT ok"} ${data.event ?? ""}${packet.retain ? "" : " (live)"}`,
        );
      } catch {
        resolve(`unparsable: ${new TextDecoder().decode(payload).slice(0, 200)}`);
      }
    });
  });
  await reader.subscribeAsync(`system/health/${clientId}`, { qos: 1 });
  return await withTimeout(got, 5_000, "retained health").catch(() => "none retained");
}

/**
 * Runs one case: starts a broker and the service, waits for health `ready` and a first
 * answered probe, then floods each family and probes after it. Never throws for what it
 * measures: problems land in the report (so that a summary can list every service).
 */
export async function runRobustness(c: RobustnessCase): Promise<RobustnessReport> {
  const started = performance.now();
  const params = c.params ?? DEFAULT_PARAMS;
  const targets = subscribedTopics(c.service, params);
  const clientId = serviceTable[c.service].clientId;
  const report: RobustnessReport = {
    service: c.service,
    topics: targets.map((t) => t.topic),
    payloads: 0,
    perFamily: {},
    crashes: 0,
    probes: [],
    boundMs: c.boundMs,
    logLines: 0,
    logLineBound: targets.length * LOG_LINES_PER_TOPIC + LOG_LINES_SLACK,
    longestLogLine: 0,
    health: "",
    problems: [],
    logTail: "",
    wallMs: 0,
  };

  await using broker = await startBroker();
  await using flood = await rawClient(broker.url, `robustness-flood-${uuidHex().slice(0, 6)}`);
  await using listener = await rawClient(broker.url, `robustness-listen-${uuidHex().slice(0, 6)}`);
  await using client = testClient(broker.url);
  await client.connect({ timeoutMs: 10_000 });

  const seen: SeenMessage[] = [];
  const healthSeen: Array<{ ok: boolean; event: string }> = [];
  listen(listener, seen, healthSeen, clientId);
  for (const filter of c.replies) await listener.subscribeAsync(filter, { qos: 1 });
  await listener.subscribeAsync(`system/health/${clientId}`, { qos: 1 });

  const child = spawnService(c.service, {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    MQTT_URL: broker.url,
    ...c.env,
  });
  const log = new LogWatch(child.stderr);
  let exited: Deno.CommandStatus | null = null;
  const status = child.status.then((s) => exited = s);

  let deadline = 0;
  const ctxFor = (): ProbeContext => ({
    broker,
    client,
    marker: `probe${randomLetters(10)}`,
    uuidHex: uuidHex(),
    seen,
    until: async (filter, match, since) => {
      const prefix = filter.endsWith("#") ? filter.slice(0, -1) : null;
      while (
        !seen.some((m) =>
          m.at >= since && (prefix ? m.topic.startsWith(prefix) : m.topic === filter) &&
          match(m.text)
        )
      ) {
        if (performance.now() > deadline) throw new Error(`nothing on ${filter} matched`);
        if (exited) throw new Error(`the process exited (code ${exited.code})`);
        await sleep(5);
      }
    },
    poll: async (condition) => {
      while (!(await condition())) {
        if (performance.now() > deadline) throw new Error("the condition never held");
        if (exited) throw new Error(`the process exited (code ${exited.code})`);
        await sleep(20);
      }
    },
  });

  /** One probe: reset, then the timed request. Returns its latency or null. */
  const probe = async (after: Family | "baseline", timeoutMs: number): Promise<number | null> => {
    deadline = performance.now() + timeoutMs;
    try {
      if (c.reset) await withTimeout(c.reset(ctxFor()), timeoutMs, "reset");
      const ctx = ctxFor();
      const t0 = performance.now();
      await withTimeout(c.probe(ctx), timeoutMs, `${c.service} probe`);
      const ms = Math.round(performance.now() - t0);
      debug(`${c.service}: probe after ${after}: ${ms} ms`);
      report.probes.push({ after, ms });
      return ms;
    } catch (error) {
      debug(
        `probe after ${after} failed; seen: ${
          seen.slice(-5).map((m) => `${m.topic} ${m.text.slice(0, 300)}`).join("\n")
        }`,
      );
      report.probes.push({ after, ms: null });
      report.problems.push(`no answer to the probe after ${after}: ${(error as Error).message}`);
      return null;
    }
  };

  try {
    // Up: health ready, then a first answered probe (retried: it may race the subscriptions).
    deadline = performance.now() + START_TIMEOUT_MS;
    await ctxFor().poll(() => healthSeen.some((h) => h.ok && h.event === "ready"));
    debug(`${c.service} ready`);
    if (c.ready) await c.ready(ctxFor());
    const upBy = performance.now() + START_TIMEOUT_MS;
    let baseline: number | null = null;
    while (baseline === null && performance.now() < upBy && !exited) {
      baseline = await probe("baseline", 10_000);
      if (baseline === null) {
        report.probes.pop();
        report.problems.pop();
      }
    }
    if (baseline === null) {
      report.problems.push(`the service never answered its probe before the flood`);
      return report;
    }
    const healthBefore = healthSeen.length;
    const linesBefore = log.lines;
    log.longest = 0;

    families: for (const family of FAMILIES.filter((f) => ONLY_FAMILIES?.includes(f) ?? true)) {
      let count = 0;
      for (const [index, target] of targets.entries()) {
        if (ONLY_TOPICS && !ONLY_TOPICS.includes(target.topic)) continue;
        for (const payload of hostilePayloads(target.spec, family, index + 1)) {
          if (exited) break families;
          await flood.publishAsync(target.topic, Buffer.from(payload.bytes), { qos: 1 });
          count++;
        }
      }
      report.perFamily[family] = count;
      debug(`${c.service}: ${count} ${family} payloads published`);
      report.payloads += count;
      if (exited) break;
      const ms = await probe(family, PROBE_DEADLINE_MS);
      if (ms === null) break; // a dead or wedged service: the other families tell nothing more
      if (ms > c.boundMs) {
        report.problems.push(`the probe after ${family} took ${ms} ms (bound ${c.boundMs} ms)`);
      }
    }
    await sleep(50); // let the last log lines through the pipe

    report.logLines = log.lines - linesBefore;
    report.longestLogLine = log.longest;
    if (exited) {
      report.crashes = 1;
      report.problems.push(`the process exited during the flood (code ${exited!.code})`);
    }
    const bad = healthSeen.slice(healthBefore).filter((h) => !h.ok);
    if (bad.length) {
      report.problems.push(`health went bad during the flood: ${bad.map((h) => h.event)}`);
    }
    report.health = exited ? "process gone" : await retainedHealth(broker.url, clientId);
    if (!exited && !report.health.startsWith("ok ")) {
      report.problems.push(`retained health after the flood: ${report.health}`);
    }
    if (report.logLines > report.logLineBound) {
      report.problems.push(
        `${report.logLines} log lines during the flood (bound ${report.logLineBound}: ` +
          `${LOG_LINES_PER_TOPIC} per subscribed topic + ${LOG_LINES_SLACK})`,
      );
    }
    if (report.longestLogLine > MAX_LOG_LINE) {
      report.problems.push(
        `a log line of ${report.longestLogLine} characters (bound ${MAX_LOG_LINE})`,
      );
    }
    return report;
  } finally {
    if (!exited) {
      // A service wedged in a synchronous loop never runs its SIGTERM handler: kill it.
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const stopped = await withTimeout(status, STOP_TIMEOUT_MS, "SIGTERM").catch(() => null);
      if (!stopped) {
        report.problems.push(`no exit within ${STOP_TIMEOUT_MS} ms of SIGTERM: killed`);
        try {
          child.kill("SIGKILL");
        } catch { /* gone meanwhile */ }
      } else if (stopped.code !== 0) {
        report.problems.push(`exit code ${stopped.code} on SIGTERM after the flood`);
      }
    }
    await status;
    await log.done.catch(() => {});
    report.logTail = log.tail();
    if (DEBUG) {
      const path = `${Deno.env.get("TMPDIR") ?? "/tmp"}/robustness-${c.service}.log`;
      Deno.writeTextFileSync(path, log.firstChars.join("\n"));
      debug(`${c.service}: the start of each log line is in ${path}`);
    }
    report.wallMs = Math.round(performance.now() - started);
  }
}

function listen(
  listener: MqttJsClient,
  seen: SeenMessage[],
  health: Array<{ ok: boolean; event: string }>,
  clientId: string,
): void {
  const decoder = new TextDecoder();
  listener.on("message", (topic, payload) => {
    const text = decoder.decode(payload);
    if (topic === `system/health/${clientId}`) {
      try {
        const data = JSON.parse(text).data;
        health.push({ ok: data.ok === true, event: String(data.event ?? "") });
      } catch {
        health.push({ ok: false, event: `unparsable ${text.slice(0, 80)}` });
      }
      return;
    }
    if (seen.length > 20_000) seen.splice(0, 10_000);
    seen.push({
      topic,
      text: text.length > 100_000 ? text.slice(0, 100_000) : text,
      at: performance.now(),
    });
  });
}

/** One line per service: the numbers docs/security.md reports. */
export function formatTable(reports: readonly RobustnessReport[]): string {
  const header = [
    "service",
    "topics",
    "payloads",
    "crashes",
    "max probe ms (bound)",
    "log lines (bound)",
    "longest log line",
    "health after",
    "result",
  ];
  const rows = reports.map((r) => {
    const answered = r.probes.filter((p) => p.after !== "baseline");
    const unanswered = answered.some((p) => p.ms === null);
    const max = Math.max(0, ...answered.map((p) => p.ms ?? 0));
    return [
      r.service,
      String(r.topics.length),
      String(r.payloads),
      String(r.crashes),
      `${unanswered ? "no answer" : max} (${r.boundMs})`,
      `${r.logLines} (${r.logLineBound})`,
      String(r.longestLogLine),
      r.health,
      r.problems.length ? `FAIL (${r.problems.length})` : "pass",
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
