/**
 * In-process micro-benchmark of the per-message steps of `MqttClient` (what the dispatch and
 * publish paths call for every message), on the benchmark's envelope. It explains where the
 * end-to-end difference to raw MQTT.js goes; run it alone with
 * `deno run -A bench/micro.ts` or as the last part of `deno task bench`.
 *
 * In a loop the JIT keeps everything hot, so inside the real client each step costs more
 * (about 2-3x, judged from the subscriber's CPU time); the ranking is what matters.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { dedupeHash } from "../core/mqtt/dedupe.ts";
import {
  assertTopicName,
  canonicalJson,
  dedupeKey,
  Envelope,
  HandlerQueue,
  hash53,
  MessageDeduplicator,
  topicMatches,
} from "../core/mod.ts";
import { BENCH_EVENT_TYPE, BenchData, makeData } from "./payload.ts";
import { epochMs } from "./protocol.ts";

/** One measured step: name and cost per call in µs. */
export interface MicroResult {
  /** What was measured. */
  step: string;
  /** Mean cost per call, in µs. */
  micros: number;
}

const SAMPLES = 1000;

/** Runs every step `iterations` times (after a warm-up) and returns the cost per call. */
export function runMicro(iterations = 50_000): MicroResult[] {
  const wires: Buffer[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const env = Envelope.new({
      eventType: BENCH_EVENT_TYPE,
      data: makeData(i, epochMs()),
      source: "bench-pub-tars-0123abcd",
    });
    wires.push(Buffer.from(Envelope.toJson(env)));
  }
  const parsed = wires.map((w) => JSON.parse(w.toString()) as unknown);
  const envelopes = parsed.map((p) => Envelope.fromValue(p) as Envelope);
  const decoder = new TextDecoder();
  let sink = 0;
  const results: MicroResult[] = [];
  const measure = (step: string, f: (i: number) => unknown) => {
    for (let i = 0; i < Math.min(iterations, 10_000); i++) f(i % SAMPLES) && sink++;
    const start = performance.now();
    for (let i = 0; i < iterations; i++) f(i % SAMPLES) && sink++;
    results.push({ step, micros: ((performance.now() - start) * 1000) / iterations });
  };

  // Raw MQTT.js subscribers do this too.
  measure("JSON.parse(payload) (raw does it too)", (i) => JSON.parse(wires[i].toString()));
  // Dispatch steps, in their order.
  measure(
    "new TextDecoder() per message (old dispatch)",
    (i) => new TextDecoder().decode(wires[i]),
  );
  measure("shared TextDecoder (dispatch)", (i) => decoder.decode(wires[i]));
  measure(
    "topicMatches × 2 registrations (dispatch caches it)",
    () => topicMatches("system/health/bench-sub", "bench/t") || topicMatches("bench/t", "bench/t"),
  );
  measure(
    "Envelope.fromValue (zod; dispatch: unusual envelopes only)",
    (i) => Envelope.fromValue(parsed[i]),
  );
  measure(
    "hash53(canonicalJson(data)) (old dedupe key)",
    (i) => hash53(canonicalJson(envelopes[i].data)),
  );
  measure("dedupeKey (streaming canonicalHash, key text)", (i) => dedupeKey(envelopes[i]));
  measure("dedupeHash (the client's key: one number)", (i) => dedupeHash(envelopes[i]));
  let key = 0;
  const growing = new MessageDeduplicator({ ttlMs: 30_000, maxEntries: 10_000_000 });
  measure("isDuplicate, text keys, cache not full", () => growing.isDuplicate(`k${key++}`));
  // the client's keys: 53-bit numbers
  const numberKey = () => 2 ** 40 + 7919 * key++;
  const growingNumbers = new MessageDeduplicator({ ttlMs: 30_000, maxEntries: 10_000_000 });
  measure(
    "isDuplicate, number keys, cache not full",
    () => growingNumbers.isDuplicate(numberKey()),
  );
  for (const size of [1_000, 10_000]) {
    const full = new MessageDeduplicator({ ttlMs: 30_000, maxEntries: size });
    for (let i = 0; i < size; i++) full.isDuplicate(numberKey());
    measure(
      `isDuplicate, number keys, full cache of ${size} (evicts)`,
      () => full.isDuplicate(numberKey()),
    );
  }
  measure("payload schema safeParse", (i) => BenchData.safeParse(envelopes[i].data).success);
  for (const timeoutMs of [30_000, 0]) {
    let ran = 0;
    const queue = new HandlerQueue<number>({
      maxSize: 256,
      concurrency: 1,
      overflow: "drop-oldest",
      timeoutMs,
      run: (n, signal) => {
        if (!signal.aborted) ran += n;
      },
    });
    const note = timeoutMs ? "a timer only for async handlers" : "no time limit";
    measure(
      `HandlerQueue push + sync handler, timeoutMs ${timeoutMs} (${note})`,
      (i) => queue.push(i),
    );
    sink += ran;
  }
  measure("setTimeout + clearTimeout", () => clearTimeout(setTimeout(() => {}, 30_000)));
  // Publish steps.
  measure("assertTopicName (publish caches it)", () => assertTopicName("bench/t"));
  measure("outgoing schema safeParse", (i) => BenchData.safeParse(envelopes[i].data).success);
  measure(
    "Envelope.new + toJson",
    (i) => Envelope.toJson(Envelope.new({ eventType: BENCH_EVENT_TYPE, data: envelopes[i].data })),
  );
  if (sink < 0) console.log(sink); // keeps the results alive
  return results;
}

if (import.meta.main) {
  for (const r of runMicro()) console.log(`${r.micros.toFixed(2).padStart(7)} µs  ${r.step}`);
}
