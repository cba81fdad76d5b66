/**
 * What every benchmark process shares without loading any library: the cross-process clock,
 * `--key=value` argument parsing, the stdout line protocol between the child processes and
 * `bench/core.ts`, the result shapes and the statistics. (The idle processes of the memory
 * benchmark import only this module, so their RSS counts only what they use.)
 *
 * @module
 */
import type { QoS } from "../core/contracts/topic.ts";

/**
 * Wall-clock time in ms with sub-µs resolution, comparable between processes of one machine
 * even when the system clock is set between their starts (core's `WallClock`, which has no
 * dependencies).
 */
export { epochMs } from "../core/contracts/wall_clock.ts";

/** Resolves after `ms` (Deno's timers fire about every 2 ms at best). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Parses `--key=value` arguments into a map. */
export function parseArgs(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of args) {
    const m = /^--([^=]+)=(.*)$/s.exec(item);
    if (!m) throw new Error(`bad argument ${JSON.stringify(item)}: expected --key=value`);
    out.set(m[1], m[2]);
  }
  return out;
}

/** Reads a required argument of a {@linkcode parseArgs} map. */
export function arg(args: Map<string, string>, key: string): string {
  const value = args.get(key);
  if (value === undefined) throw new Error(`missing argument --${key}=...`);
  return value;
}

/** Reads a required numeric argument. */
export function numArg(args: Map<string, string>, key: string): number {
  const value = Number(arg(args, key));
  if (!Number.isFinite(value)) throw new Error(`--${key} must be a number`);
  return value;
}

/** Reads the `--qos` argument (0 or 1). */
export function qosArg(args: Map<string, string>): QoS {
  const qos = numArg(args, "qos");
  if (qos !== 0 && qos !== 1) throw new Error("--qos must be 0 or 1");
  return qos;
}

/**
 * Which client a benchmark process uses: raw MQTT.js with the bare 100-byte sample (`raw`),
 * raw MQTT.js moving the same envelope bytes the client sends (`raw-envelope`: built by hand,
 * no validation, de-duplication or dispatch), or the TARS `MqttClient` (`tars`).
 */
export type Impl = "raw" | "raw-envelope" | "tars";

/** Reads the `--impl` argument. */
export function implArg(args: Map<string, string>): Impl {
  const impl = arg(args, "impl");
  if (impl !== "raw" && impl !== "raw-envelope" && impl !== "tars") {
    throw new Error("--impl must be raw, raw-envelope or tars");
  }
  return impl;
}

/** A message of a child process to `bench/core.ts`: one JSON object per stdout line. */
export interface ChildMessage {
  /** What happened: `ready`, `result`, `msg`, `done`. */
  event: string;
  /** The event's fields. */
  [key: string]: unknown;
}

/** Writes one {@linkcode ChildMessage} line to stdout. */
export function emit(message: ChildMessage): void {
  console.log(JSON.stringify(message));
}

/** Burst result of a subscriber. */
export interface BurstResult {
  /** Messages received. */
  received: number;
  /** Messages published. */
  expected: number;
  /**
   * The measured part of the burst (after the `--warmup` messages), from the send time of its
   * first message to the arrival of its last, in ms.
   */
  elapsedMs: number;
  /** Measured messages received per second of `elapsedMs`: the warm rate. */
  rate: number;
  /**
   * The first `--warmup` messages of the fresh process: from the send time of the earliest to the
   * arrival of the last, per second (cold: the JIT compiler has not optimised the code yet);
   * 0 without a warm-up.
   */
  coldRate: number;
  /** CPU time stolen by the hypervisor during the run, in ms (added by `bench/core.ts`). */
  stealMs?: number;
}

/** Latency result of a subscriber, in ms, over the messages after the warm-up. */
export interface LatencyResult {
  /** Latencies measured. */
  samples: number;
  /** Messages published after the warm-up. */
  expected: number;
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** 99.9th percentile. */
  p999: number;
  /** Largest. */
  max: number;
  /** Mean. */
  mean: number;
  /** CPU time stolen by the hypervisor during the run, in ms (added by `bench/core.ts`). */
  stealMs?: number;
}

/** The `p`-quantile (0..1) of ascending `sorted` values (nearest rank). */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank];
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Summarises latency samples (ms). */
export function summarise(samples: Float64Array, expected: number): LatencyResult {
  const sorted = samples.slice().sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    samples: sorted.length,
    expected,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
  };
}

/** The arguments every bench child takes: implementation, QoS, mode, count, broker and topic. */
export interface CommonArgs {
  /** Which client runs. */
  impl: Impl;
  /** QoS of publishes and the subscription. */
  qos: QoS;
  /** `burst` (as fast as possible) or `paced` (fixed rate). */
  mode: "burst" | "paced";
  /** Messages measured. */
  count: number;
  /** Broker URL. */
  url: string;
  /** Topic of the run. */
  topic: string;
}

/** Reads the {@linkcode CommonArgs}; throws naming the bad argument. */
export function commonArgs(args: Map<string, string>): CommonArgs {
  const mode = arg(args, "mode");
  if (mode !== "burst" && mode !== "paced") throw new Error("--mode must be burst or paced");
  return {
    impl: implArg(args),
    qos: qosArg(args),
    mode,
    count: numArg(args, "count"),
    url: arg(args, "url"),
    topic: arg(args, "topic"),
  };
}
