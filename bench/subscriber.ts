/**
 * Benchmark subscriber (a child process of `bench/core.ts`).
 *
 * `--mode=burst`: counts `--count` messages; the first `--warmup` of them warm the processes up
 * (their rate is reported as `coldRate`), the rate of the rest is measured from the send time
 * of the first of them to the arrival of the last (the publisher pauses in between, so the
 * measured part starts on an empty pipeline). `--mode=paced`: reports the latency (arrival
 * minus the send time in the payload) of every message from `--warmup` on.
 *
 * Prints `{"event":"ready"}` once subscribed, then one `{"event":"result",...}` and exits.
 * Gives up `--idle-ms` after the last message (lost QoS 0 messages show as a short count).
 * `--dedupe-max=N` (tars only) sets the de-duplication cache size, `--handler-timeout-ms=N`
 * the subscription's handler timeout (default 30 000; 0 = none).
 *
 * ```sh
 * deno run -A bench/subscriber.ts --impl=tars --qos=1 --mode=burst --count=20000 \
 *   --warmup=0 --url=mqtt://127.0.0.1:1883 --topic=bench/x --idle-ms=3000
 * ```
 *
 * @module
 */
import { type BenchData, benchTopic } from "./payload.ts";
import {
  type BurstResult,
  commonArgs,
  emit,
  epochMs,
  numArg,
  parseArgs,
  summarise,
} from "./protocol.ts";
import { connectRaw } from "./raw_client.ts";
import { DEDUPE_MAX_ENTRIES, newTarsClient } from "./tars_client.ts";

/** Runs the subscriber with `--key=value` arguments; resolves once the result is printed. */
export async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  const { impl, qos, mode, count, url, topic } = commonArgs(args);
  const warmup = numArg(args, "warmup");
  const idleMs = numArg(args, "idle-ms");

  const done = Promise.withResolvers<void>();
  let received = 0;
  let lastAt = 0;
  // burst: the warm-up messages (cold) and the measured ones (warm)
  let coldFirstSent = Infinity;
  let coldLastAt = 0;
  let coldReceived = 0;
  let warmFirstSent = Infinity;
  let warmReceived = 0;
  const latencies = new Float64Array(Math.max(0, count - warmup));
  let samples = 0;
  let finished = false;

  const onData = (data: BenchData): void => {
    const now = epochMs();
    received++;
    lastAt = now;
    if (mode === "burst") {
      if (data.n < warmup) {
        if (data.t < coldFirstSent) coldFirstSent = data.t;
        coldLastAt = now;
        coldReceived++;
      } else {
        if (data.t < warmFirstSent) warmFirstSent = data.t;
        warmReceived++;
      }
    } else if (data.n >= warmup && samples < latencies.length) {
      latencies[samples++] = now - data.t;
    }
    if (received >= count) done.resolve();
  };

  let close: () => Promise<void>;
  if (impl === "raw" || impl === "raw-envelope") {
    const client = await connectRaw(url, `bench-sub-raw-${crypto.randomUUID().slice(0, 8)}`);
    client.on("message", (_topic, payload) => {
      const value = JSON.parse(payload.toString());
      onData((impl === "raw" ? value : value.data) as BenchData);
    });
    await client.subscribeAsync(topic, { qos });
    close = () => client.endAsync();
  } else {
    const dedupeMaxEntries = Number(args.get("dedupe-max") ?? DEDUPE_MAX_ENTRIES);
    const client = newTarsClient(url, `bench-sub-tars-${crypto.randomUUID().slice(0, 8)}`, {
      dedupeMaxEntries,
    });
    await client.connect({ timeoutMs: 10_000 });
    const timeout = args.get("handler-timeout-ms");
    await client.subscribe(benchTopic(topic, qos), (data) => onData(data), {
      qos,
      ...(timeout === undefined ? {} : { handlerTimeoutMs: Number(timeout) }),
    });
    close = () => client.shutdown();
  }
  emit({ event: "ready" });

  // Finish on the last message, or idleMs after the last one (or after ready, if none came).
  const readyAt = epochMs();
  const idle = (async () => {
    while (!finished) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (epochMs() - Math.max(lastAt, readyAt) > idleMs) done.resolve();
    }
  })();
  await done.promise;
  finished = true;
  await idle;

  if (mode === "burst") {
    const elapsedMs = lastAt - warmFirstSent;
    const result: BurstResult = {
      received,
      expected: count,
      elapsedMs,
      rate: warmReceived > 0 ? warmReceived / (elapsedMs / 1000) : 0,
      coldRate: coldReceived > 0 ? coldReceived / ((coldLastAt - coldFirstSent) / 1000) : 0,
    };
    emit({ event: "result", ...result });
  } else {
    emit({ event: "result", ...summarise(latencies.subarray(0, samples), count - warmup) });
  }
  await close();
}

if (import.meta.main) {
  await main(Deno.args);
  Deno.exit(0);
}
