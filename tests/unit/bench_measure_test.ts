import assert from "node:assert/strict";
import { llmHeld, p99Rank, sttHandling } from "../../bench/loop.ts";
import { parseProcMemory } from "../../bench/memory.ts";

const request = (text: string, firstChunkMs: number | null) => ({
  body: {
    model: "m",
    messages: [{ role: "system", content: "persona" }, { role: "user", content: text }],
  },
  firstChunkMs,
});

Deno.test("bench loop: each turn gets the first-token hold of its own LLM request", () => {
  const turns = [{ turn_id: "a", text: "tell me" }, { turn_id: "b", text: "talk to me" }];
  assert.deepEqual(
    llmHeld(turns, [request("tell me", 101.5), request("talk to me", 130.2)]),
    [101.5, 130.2],
  );
});

Deno.test("bench loop: requests out of step with the turns are refused, not paired", () => {
  const turns = [{ turn_id: "a", text: "tell me" }, { turn_id: "b", text: "talk to me" }];
  assert.throws(
    () => llmHeld(turns, [request("talk to me", 100), request("tell me", 100)]),
    /out of step/,
  );
  assert.throws(() => llmHeld(turns, [request("tell me", 100)]), /only 1 LLM requests/);
  assert.throws(
    () => llmHeld(turns, [request("tell me", 100), request("talk to me", null)]),
    /sent no content/,
  );
});

Deno.test("bench loop: each turn gets its transcription request's handling time", () => {
  const turns = [{ turn_id: "a", text: "tell me" }, { turn_id: "b", text: "talk to me" }];
  const received = [{ handlingMs: 1.5 }, { handlingMs: 0.7 }, {}];
  assert.deepEqual(sttHandling(turns, received, ["tell me", "talk to me", "x"]), [1.5, 0.7]);
  assert.throws(
    () => sttHandling(turns, received, ["talk to me", "tell me"]),
    /out of step/,
  );
  assert.throws(() => sttHandling(turns, [{ handlingMs: 1 }], ["tell me"]), /only 1/);
  assert.throws(
    () => sttHandling(turns, [{ handlingMs: 1 }, {}], ["tell me", "talk to me"]),
    /not answered/,
  );
});

Deno.test("bench loop: the report names which turn its p99 is", () => {
  assert.equal(p99Rank(50), "the worst of 50");
  assert.equal(p99Rank(100), "the 2nd worst of 100");
  assert.equal(p99Rank(300), "the 4th worst of 300"); // rank 297, not 298 (0.99 × 300 in floats)
});

Deno.test("bench memory: RSS, PSS and anonymous memory from /proc", () => {
  const status = "Name:\tdeno\nVmPeak:\t 900000 kB\nVmRSS:\t   84420 kB\nRssAnon:\t 30000 kB\n";
  const rollup = "55d4-7fff ---p 00000000 00:00 0 [rollup]\nRss:               84420 kB\n" +
    "Pss:               50512 kB\nPss_Anon:          30476 kB\nAnonymous:         30500 kB\n";
  assert.deepEqual(parseProcMemory(status, rollup), {
    rss: 84420,
    pss: 50512,
    anonymous: 30500,
  });
  assert.throws(() => parseProcMemory("Name:\tdeno\n", rollup), /no VmRSS/);
});
