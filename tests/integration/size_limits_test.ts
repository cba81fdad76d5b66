/**
 * Payload size limits of the MQTT client with a real broker: an oversized message is dropped
 * before it is parsed, counted as `oversized` and logged once per filter; publishing one fails
 * with a clear error and sends nothing.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Envelope } from "../../core/contracts/envelope.ts";
import { topics } from "../../core/contracts/topics.ts";
import { TEXT_LIMITS } from "../../core/contracts/payloads/common.ts";
import { type LogRecord, setupLogging } from "../../core/log/logging.ts";
import { startBroker } from "../helpers/broker.ts";
import { collect, rawClient, testClient as client, waitFor } from "../helpers/wait.ts";

const MIB = 1024 * 1024;

function captureLogs(): LogRecord[] {
  const records: LogRecord[] = [];
  setupLogging({ level: "debug", sink: (record) => records.push(record) });
  return records;
}

function oversizedLines(records: readonly LogRecord[]): LogRecord[] {
  return records.filter((r) => r.message.join("").includes("unread: the limit of"));
}

function finalEnvelope(text: string): string {
  return Envelope.toJson(Envelope.new({ eventType: "stt.final", data: { text } }));
}

Deno.test("a 2 MB stt/final is dropped unparsed, counted and logged once; a normal one arrives", async () => {
  const logs = captureLogs();
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  const got: string[] = [];
  await c.subscribe(topics.sttFinal, (final) => {
    got.push(final.text);
  });
  await using raw = await rawClient(broker.url);
  const huge = finalEnvelope("x".repeat(2 * MIB));
  await raw.publishAsync("stt/final", huge, { qos: 1 });
  await raw.publishAsync("stt/final", huge, { qos: 1 });
  // Not even JSON: it must not reach the parser (it would count as invalid).
  await raw.publishAsync("stt/final", "{".repeat(2 * MIB), { qos: 1 });
  await raw.publishAsync("stt/final", finalEnvelope("hello"), { qos: 1 });
  await waitFor(() => got.length === 1, "the normal transcript arrived");
  assert.deepEqual(got, ["hello"]);
  const metrics = c.metrics();
  assert.equal(metrics.oversized, 3);
  assert.equal(metrics.invalid, 0);
  assert.equal(metrics.duplicates, 0);
  const lines = oversizedLines(logs);
  assert.equal(lines.length, 1, "one line for the filter, the rest held back");
  assert.equal(lines[0].level, "warning");
  assert.equal(lines[0].properties.filter, "stt/final");
  assert.equal(lines[0].properties.limit, topics.sttFinal.maxBytes);
  assert.equal(c.connected, true);
});

Deno.test("a message at the row's limit still arrives; one byte more is dropped", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  const got: number[] = [];
  await c.subscribeRaw(topics.audioPcm, (bytes) => {
    got.push(bytes.byteLength);
  });
  await using raw = await rawClient(broker.url);
  const limit = topics.audioPcm.maxBytes;
  await raw.publishAsync("audio/pcm/mic", Buffer.alloc(limit + 1), { qos: 1 });
  await raw.publishAsync("audio/pcm/mic", Buffer.alloc(limit), { qos: 1 });
  await waitFor(() => got.length === 1, "the frame at the limit arrived");
  assert.deepEqual(got, [limit]);
  assert.equal(c.metrics().oversized, 1);
});

Deno.test("subscribeRaw to a plain filter takes a maxBytes option; other handlers keep the message", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  const small: number[] = [];
  const big: number[] = [];
  await c.subscribeRaw("lim/raw", (bytes) => {
    small.push(bytes.byteLength);
  }, { maxBytes: 10 });
  await c.subscribeRaw("lim/#", (bytes) => {
    big.push(bytes.byteLength);
  });
  await using raw = await rawClient(broker.url);
  await raw.publishAsync("lim/raw", Buffer.alloc(11), { qos: 1 });
  await raw.publishAsync("lim/raw", Buffer.alloc(10), { qos: 1 });
  await waitFor(() => small.length === 1 && big.length === 2, "both handlers ran");
  assert.deepEqual(small, [10]);
  assert.deepEqual(big, [11, 10]);
  assert.equal(c.metrics().oversized, 1);
});

Deno.test("publishing over the row's limit fails with a clear error and sends nothing", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url);
  await c.connect();
  await using raw = await rawClient(broker.url);
  const seen: number[] = [];
  raw.on("message", (_topic, payload) => seen.push(payload.byteLength));
  await raw.subscribeAsync(["audio/pcm/#", "stt/final"], { qos: 1 });
  const limit = topics.audioPcm.maxBytes;
  await assert.rejects(
    c.publishRaw(topics.audioPcm, new Uint8Array(limit + 1), { params: { source: "mic" } }),
    new RegExp(
      `^Error: Cannot publish ${limit + 1} bytes on audio/pcm/mic: the limit is ${limit} bytes ` +
        "\\(topic table\\)",
    ),
  );
  // A plain topic string of the table gets its row's limit too.
  await assert.rejects(
    c.publishEvent("stt/final", { text: "x".repeat(topics.sttFinal.maxBytes) }, {
      eventType: "stt.final",
    }),
    /Cannot publish \d+ bytes on stt\/final: the limit is 65536 bytes/,
  );
  // Multi-byte text is measured in bytes, not characters.
  await assert.rejects(
    c.publishEvent("stt/final", { text: "語".repeat(30_000) }, { eventType: "stt.final" }),
    /Cannot publish 9\d{4} bytes on stt\/final/,
  );
  await c.publishRaw(topics.audioPcm, new Uint8Array(8), { params: { source: "mic" }, qos: 1 });
  await waitFor(() => seen.length === 1, "the marker frame arrived");
  assert.deepEqual(seen, [8]);
  assert.equal(c.metrics().publishFailed, 3);
});

Deno.test("publishHealth clips an over-long error text instead of failing", async () => {
  await using broker = await startBroker();
  await using c = client(broker.url, { clientId: "tars-clip", enableHealth: true });
  await c.connect();
  await using raw = await rawClient(broker.url);
  const got = await collect(raw, "system/health/tars-clip");
  await c.publishHealth({ ok: false, event: "storage_error", err: "e".repeat(20_000) });
  await waitFor(
    () => got.some((m) => JSON.parse(m.text).data.event === "storage_error"),
    "the degraded health arrived",
  );
  const data = JSON.parse(got.at(-1)!.text).data;
  // Cut like a log line (redacted, 512 characters and the original length), within the limit.
  assert.ok(data.err.length <= TEXT_LIMITS.detail, `${data.err.length}`);
  assert.match(data.err, /^e{512}… \[truncated, 20000 chars\]$/);
});
