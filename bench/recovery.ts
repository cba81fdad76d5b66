/**
 * Subscriber of the broker-restart benchmark (a child of `bench/core.ts`). It stays
 * subscribed across broker restarts and prints `{"event":"msg","round":R,"at":ms}` for the
 * first message of every round `R` (the payload's `n`) that reaches its handler.
 *
 * `--impl=tars`: an `MqttClient` (health and de-duplication on, its own reconnect backoff
 * from `--min-delay` seconds). `--impl=raw`: MQTT.js reconnecting every `--period` ms and
 * re-subscribing by itself (the baseline).
 *
 * @module
 */
import { type BenchData, benchTopic } from "./payload.ts";
import { arg, emit, epochMs, numArg, parseArgs } from "./protocol.ts";
import { connectRaw } from "./raw_client.ts";
import { newTarsClient } from "./tars_client.ts";

/** Runs the subscriber with `--key=value` arguments; returns once subscribed. */
export async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  const impl = arg(args, "impl");
  const url = arg(args, "url");
  const topic = arg(args, "topic");
  const id = crypto.randomUUID().slice(0, 8);
  const seen = new Set<number>();
  const onData = (data: BenchData) => {
    const at = epochMs();
    if (seen.has(data.n)) return;
    seen.add(data.n);
    emit({ event: "msg", round: data.n, at });
  };
  if (impl === "tars") {
    const client = newTarsClient(url, `bench-rec-tars-${id}`, {
      reconnectMinDelay: numArg(args, "min-delay"),
    });
    await client.connect({ timeoutMs: 10_000 });
    await client.subscribe(benchTopic(topic, 1), onData);
  } else if (impl === "raw") {
    const client = await connectRaw(url, `bench-rec-raw-${id}`, {
      reconnectPeriod: numArg(args, "period"),
    });
    client.on("error", () => {}); // refused reconnects while the broker is down
    client.on("message", (_topic, payload) => {
      const envelope = JSON.parse(payload.toString()) as { data: BenchData };
      onData(envelope.data);
    });
    await client.subscribeAsync(topic, { qos: 1 });
  } else {
    throw new Error("--impl must be raw or tars");
  }
  emit({ event: "ready" });
}

if (import.meta.main) await main(Deno.args);
