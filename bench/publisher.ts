/**
 * Benchmark publisher (a child process of `bench/core.ts`).
 *
 * `--mode=burst`: publishes `--count` samples as fast as it can with at most `--window`
 * publishes unfinished (QoS 0: not yet written; QoS 1: not yet acknowledged); with
 * `--warmup=N`, samples 0..N-1 first, then a pause of `--pause-ms` (500), then the rest.
 * `--mode=paced`: publishes `--count` samples at `--rate` per second. Deno's timers tick
 * every ~2 ms, so each tick sends the samples that are due, each stamped just before its
 * publish call.
 *
 * Prints `{"event":"ready"}` once connected and `{"event":"done",...}` when finished.
 *
 * @module
 */
import type { MqttClient } from "../core/mod.ts";
import type { MqttClient as MqttJsClient } from "mqtt";
import { BENCH_EVENT_TYPE, benchTopic, makeData } from "./payload.ts";
import { commonArgs, emit, epochMs, numArg, parseArgs, sleep } from "./protocol.ts";
import { connectRaw } from "./raw_client.ts";
import { newTarsClient } from "./tars_client.ts";

/** Runs the publisher with `--key=value` arguments; resolves once every sample is sent. */
export async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  const { impl, qos, mode, count, url, topic } = commonArgs(args);

  let send: (n: number) => Promise<unknown>;
  let close: () => Promise<void>;
  if (impl === "raw" || impl === "raw-envelope") {
    const client: MqttJsClient = await connectRaw(
      url,
      `bench-pub-raw-${crypto.randomUUID().slice(0, 8)}`,
    );
    const opts = { qos, retain: false } as const;
    send = (n) =>
      new Promise<void>((resolve, reject) => {
        const data = makeData(n, epochMs());
        const body = impl === "raw" ? data : {
          id: crypto.randomUUID().replaceAll("-", ""),
          type: BENCH_EVENT_TYPE,
          ts: epochMs() / 1000,
          source: "bench",
          data,
        };
        client.publish(topic, JSON.stringify(body), opts, (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
    close = () => client.endAsync();
  } else {
    const client: MqttClient = newTarsClient(
      url,
      `bench-pub-tars-${crypto.randomUUID().slice(0, 8)}`,
    );
    await client.connect({ timeoutMs: 10_000 });
    const spec = benchTopic(topic, qos);
    send = (n) => client.publishEvent(spec, makeData(n, epochMs()));
    close = () => client.shutdown();
  }
  emit({ event: "ready" });

  const started = epochMs();
  if (mode === "burst") {
    const warmup = Number(args.get("warmup") ?? 0);
    if (warmup > 0) {
      // Warm the processes up, then let the subscriber drain what is left before the
      // measured part starts on an empty pipeline.
      await burst(send, 0, warmup, numArg(args, "window"));
      await sleep(Number(args.get("pause-ms") ?? 500));
    }
    await burst(send, warmup, count, numArg(args, "window"));
  } else {
    await paced(send, count, numArg(args, "rate"));
  }
  emit({ event: "done", sent: count, elapsedMs: epochMs() - started });
  await close();
}

/** Sends samples `from` to `to - 1` as fast as possible with at most `window` unfinished. */
async function burst(
  send: (n: number) => Promise<unknown>,
  from: number,
  to: number,
  window: number,
): Promise<void> {
  let inFlight = 0;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const settled = () => {
    inFlight--;
    const w = wake;
    wake = null;
    w?.();
  };
  const failed = (error: unknown) => {
    failure ??= error;
    settled();
  };
  for (let n = from; n < to; n++) {
    while (inFlight >= window) await new Promise<void>((resolve) => wake = resolve);
    if (failure) throw failure;
    inFlight++;
    send(n).then(settled, failed);
  }
  while (inFlight > 0) await new Promise<void>((resolve) => wake = resolve);
  if (failure) throw failure;
}

/** Sends `count` samples at `rate` per second (catching up after a late timer tick). */
async function paced(
  send: (n: number) => Promise<unknown>,
  count: number,
  rate: number,
): Promise<void> {
  const pending: Promise<unknown>[] = [];
  const start = performance.now();
  const intervalMs = 1000 / rate;
  let n = 0;
  while (n < count) {
    const due = Math.min(count, Math.floor((performance.now() - start) / intervalMs) + 1);
    while (n < due) pending.push(send(n++));
    if (n < count) await sleep(Math.max(0, start + n * intervalMs - performance.now()));
  }
  await Promise.all(pending);
}

if (import.meta.main) {
  await main(Deno.args);
  Deno.exit(0);
}
