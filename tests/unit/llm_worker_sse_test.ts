/** SseDecoder: the same events whatever the chunking, the standard's line rules, the limit. */
import assert from "node:assert/strict";
import { SseDecoder, type SseEvent, SseLimitError } from "../../services/llm-worker/sse.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

/** Feeds `data` cut at every `step` bytes; returns all events. */
function decode(data: Uint8Array, step: number, maxEventBytes = 1024): SseEvent[] {
  const decoder = new SseDecoder({ maxEventBytes });
  const events: SseEvent[] = [];
  for (let i = 0; i < data.length; i += step) {
    events.push(...decoder.push(data.subarray(i, i + step)));
  }
  return events;
}

const stream = [
  ": comment\n",
  "data: one\n\n",
  "event: error\r\ndata: two a\r\ndata:two b\r\n\r\n",
  "data: thr€e\r\rid: 1\nretry: 5\nfield-only\ndata\n\n",
  "data: [DONE]\n\n",
  "data: unfinished",
].join("");

const expected: SseEvent[] = [
  { event: "message", data: "one" },
  { event: "error", data: "two a\ntwo b" },
  { event: "message", data: "thr€e" },
  { event: "message", data: "" },
  { event: "message", data: "[DONE]" },
];

Deno.test("sse: the same events for every chunk size, one byte up to all at once", () => {
  const data = bytes(stream);
  for (const step of [1, 2, 3, 5, 7, 13, data.length]) {
    assert.deepEqual(decode(data, step), expected, `chunks of ${step}`);
  }
});

Deno.test("sse: a CRLF split between chunks is one line end", () => {
  const decoder = new SseDecoder({ maxEventBytes: 1024 });
  assert.deepEqual(decoder.push(bytes("data: a\r")), []);
  assert.deepEqual(decoder.push(bytes("\ndata: b\r")), []);
  assert.deepEqual(decoder.push(bytes("\n\r")), [{ event: "message", data: "a\nb" }]);
  assert.deepEqual(decoder.push(bytes("\n")), [], "the LF of that CRLF is no second blank line");
  assert.deepEqual(decoder.push(bytes("data: c\n\n")), [{ event: "message", data: "c" }]);
});

Deno.test("sse: a line over the limit throws as soon as it passes, even unfinished", () => {
  const decoder = new SseDecoder({ maxEventBytes: 100 });
  decoder.push(bytes("data: " + "x".repeat(90)));
  assert.throws(() => decoder.push(bytes("x".repeat(20))), SseLimitError);
  // In one chunk, with its line end, too.
  assert.throws(
    () => new SseDecoder({ maxEventBytes: 100 }).push(bytes(`data: ${"y".repeat(200)}\n`)),
    SseLimitError,
  );
  // At the limit is fine.
  const line = `data: ${"z".repeat(94)}`;
  assert.equal(line.length, 100);
  assert.deepEqual(new SseDecoder({ maxEventBytes: 100 }).push(bytes(`${line}\n\n`)), [
    { event: "message", data: "z".repeat(94) },
  ]);
});

Deno.test("sse: the data of one event is limited across its lines", () => {
  const decoder = new SseDecoder({ maxEventBytes: 100 });
  assert.throws(() => {
    for (let i = 0; i < 20; i++) decoder.push(bytes(`data: ${"d".repeat(10)}\n`));
  }, SseLimitError);
  // Dispatched events reset the count.
  const steady = new SseDecoder({ maxEventBytes: 100 });
  for (let i = 0; i < 50; i++) {
    assert.equal(steady.push(bytes(`data: ${"e".repeat(50)}\n\n`)).length, 1);
  }
});
