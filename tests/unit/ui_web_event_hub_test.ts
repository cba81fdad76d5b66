import assert from "node:assert/strict";
import { EventHub, frame } from "../../services/ui-web/event_hub.ts";

async function readSome(response: Response, events: number): Promise<string[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (text.split("data: ").length - 1 < events) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel();
  return text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
}

Deno.test("event hub: hello first, then broadcasts; one data line per event", async () => {
  const hub = new EventHub({ maxClients: 2 });
  const response = hub.connect({ type: "hello" });
  assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  hub.broadcast({ type: "partial", text: "multi\nline" });
  const lines = await readSome(response, 2);
  assert.deepEqual(lines.map((l) => JSON.parse(l)), [
    { type: "hello" },
    { type: "partial", text: "multi\nline" },
  ]);
  assert.equal(frame({ a: "x\ny" }), 'data: {"a":"x\\ny"}\n\n');
  assert.equal(hub.size, 0); // the reader cancelled
  hub.close();
});

Deno.test("event hub: full hub answers 503; close ends every stream", async () => {
  const hub = new EventHub({ maxClients: 1 });
  const first = hub.connect({ type: "hello" });
  const second = hub.connect({ type: "hello" });
  assert.equal(second.status, 503);
  await second.body?.cancel();
  hub.close();
  const text = await first.text();
  assert.match(text, /"hello"/);
  assert.equal(hub.connect({}).status, 503);
});

Deno.test("event hub: a browser that stops reading is dropped, others are not", async () => {
  const hub = new EventHub({ maxClients: 4, maxQueuedBytes: 4_096 });
  const stuck = hub.connect({ type: "hello" }); // never read
  const big = { type: "entry", text: "x".repeat(1_000) };
  for (let i = 0; i < 20; i++) hub.broadcast(big);
  assert.equal(hub.dropped, 1);
  assert.equal(hub.size, 0);
  await assert.rejects(stuck.text(), /too slow/);
  hub.close();
});
