/**
 * The benchmark payload: a 100-byte JSON object, its zod schema and its topic row.
 *
 * @module
 */
import { z } from "zod";
import { defineTopic, type QoS, type TopicSpec } from "../core/mod.ts";

/** Size of the application payload (the JSON of {@linkcode BenchData}) in bytes. */
export const PAYLOAD_BYTES = 100;

/** Event type of the benchmark envelopes. */
export const BENCH_EVENT_TYPE = "bench.sample";

/**
 * The benchmark payload: sequence number, send time (epoch ms from `epochMs()`) and padding
 * up to {@linkcode PAYLOAD_BYTES}. The sequence field is deliberately not called `seq`: the
 * de-duplication key then hashes the canonical JSON of the data, as it does for most real
 * payloads, instead of taking the cheap `seq=N` shortcut of stream chunks.
 */
export const BenchData = z.strictObject({
  n: z.number().int().nonnegative(),
  t: z.number(),
  pad: z.string(),
});

/** A parsed {@linkcode BenchData}. */
export type BenchData = z.output<typeof BenchData>;

/**
 * The topic row the `MqttClient` processes use: envelope wire, {@linkcode BenchData} checked
 * by the publisher and the subscriber, as for a row of the TARS topic table.
 */
export function benchTopic(topic: string, qos: QoS): TopicSpec<typeof BenchData> {
  return defineTopic({
    name: "bench",
    topic,
    eventType: BENCH_EVENT_TYPE,
    schema: BenchData,
    qos,
    publishers: [],
    subscribers: [],
    description: "Benchmark samples.",
  });
}

const PAD = "x".repeat(PAYLOAD_BYTES);

/** Builds sample `n` stamped `t`, padded so that its JSON is exactly {@linkcode PAYLOAD_BYTES}. */
export function makeData(n: number, t: number): BenchData {
  const bare = 20 + String(n).length + String(t).length; // {"n":N,"t":T,"pad":""}
  return { n, t, pad: PAD.slice(0, Math.max(0, PAYLOAD_BYTES - bare)) };
}
