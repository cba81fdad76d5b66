/** Router streaming: sentence splitting, seq ordering, duplicates and final reconciliation. */
import assert from "node:assert/strict";
import type { StreamSplitConfig } from "../../services/router/config.ts";
import { reconcile, ReplyStream } from "../../services/router/reply_stream.ts";
import { SentenceSplitter } from "../../services/router/sentences.ts";

const BOUNDARY_ONLY: StreamSplitConfig = {
  boundaryChars: ".!?;:",
  boundaryOnly: true,
  minChars: 60,
  maxChars: 240,
  hardMaxChars: 2000,
};

function feed(splitter: SentenceSplitter, deltas: string[]): string[][] {
  return deltas.map((delta) => splitter.push(delta));
}

Deno.test("router sentences: a sentence is spoken by the delta that completes it", () => {
  const splitter = new SentenceSplitter(BOUNDARY_ONLY);
  assert.deepEqual(feed(splitter, ["Hello", " there", "!", " How are", " you?", " Fine"]), [
    [],
    [],
    ["Hello there!"],
    [],
    ["How are you?"],
    [],
  ]);
  assert.equal(splitter.flush(), "Fine");
  assert.equal(splitter.flush(), null);
});

Deno.test("router sentences: several sentences in one delta come out one by one", () => {
  const splitter = new SentenceSplitter(BOUNDARY_ONLY);
  assert.deepEqual(splitter.push("One. Two! Three? Four"), ["One.", "Two!", "Three?"]);
  assert.deepEqual(splitter.push('... "Quoted." Next'), ["Four...", '"Quoted."']);
  assert.equal(splitter.pending, "Next");
});

Deno.test("router sentences: never cut inside numbers or tokens", () => {
  const splitter = new SentenceSplitter(BOUNDARY_ONLY);
  assert.deepEqual(splitter.push("It costs 3."), []); // a digit before the boundary: wait
  assert.deepEqual(splitter.push("5 dollars, e.g.x or 10:30 sharp."), [
    "It costs 3.5 dollars, e.g.x or 10:30 sharp.",
  ]);
  assert.deepEqual(splitter.push("I am 42."), []);
  assert.deepEqual(splitter.push(" Yes."), ["I am 42.", "Yes."]);
});

Deno.test("router sentences: a boundary-less stream is cut at the hard maximum on a space", () => {
  const splitter = new SentenceSplitter({ ...BOUNDARY_ONLY, hardMaxChars: 20 });
  const out = splitter.push("aaaa bbbb cccc dddd eeee ffff");
  assert.deepEqual(out, ["aaaa bbbb cccc dddd"]);
  assert.equal(splitter.pending, "eeee ffff");
});

Deno.test("router sentences: min/max mode merges short sentences and cuts long text", () => {
  const splitter = new SentenceSplitter({
    ...BOUNDARY_ONLY,
    boundaryOnly: false,
    minChars: 15,
    maxChars: 30,
  });
  assert.deepEqual(splitter.push("Hi. Yes."), []); // too short yet
  assert.deepEqual(splitter.push(" Sure thing."), ["Hi. Yes. Sure thing."]);
  assert.deepEqual(splitter.push("word word word word word word word"), [
    "word word word word word word",
  ]);
  assert.equal(splitter.flush(), "word");
});

Deno.test("router stream: out-of-order chunks are held, duplicates dropped, nothing repeated", () => {
  const stream = new ReplyStream(BOUNDARY_ONLY);
  const r3 = stream.accept({ seq: 3, delta: " world." });
  assert.equal(r3.held, true);
  assert.deepEqual(r3.sentences, []);
  const r1 = stream.accept({ seq: 1, delta: "Hello" });
  assert.deepEqual(r1.sentences, []);
  const dup1 = stream.accept({ seq: 1, delta: "Hello" });
  assert.equal(dup1.duplicate, true);
  const dup3 = stream.accept({ seq: 3, delta: " world." });
  assert.equal(dup3.duplicate, true);
  const r2 = stream.accept({ seq: 2, delta: "," });
  assert.deepEqual(r2.sentences, ["Hello, world."]);
  const done = stream.accept({ seq: 5, done: true });
  assert.equal(done.completed, false); // seq 4 is still missing
  const r4 = stream.accept({ seq: 4, delta: " Bye" });
  assert.deepEqual(r4.sentences, ["Bye"]);
  assert.equal(r4.completed, true);
  assert.equal(stream.accept({ seq: 4, delta: " Bye" }).duplicate, true);
  assert.deepEqual(stream.spoken, ["Hello, world.", "Bye"]);
});

Deno.test("router stream: finish() takes held chunks across a lost one", () => {
  const stream = new ReplyStream(BOUNDARY_ONLY);
  stream.accept({ seq: 1, delta: "One." });
  stream.accept({ seq: 3, delta: " Three." }); // seq 2 lost (QoS 0)
  assert.deepEqual(stream.finish(), ["Three."]);
  assert.equal(stream.completed, true);
  assert.deepEqual(stream.finish(), []);
});

Deno.test("router stream: chunks without seq are taken in arrival order", () => {
  const stream = new ReplyStream(BOUNDARY_ONLY);
  assert.deepEqual(stream.accept({ delta: "A b." }).sentences, ["A b."]);
  const done = stream.accept({ delta: " C", done: true });
  assert.deepEqual(done.sentences, ["C"]);
  assert.equal(done.completed, true);
});

Deno.test("router stream: reconcile skips, speaks the residual or the full reply", () => {
  assert.deepEqual(reconcile("Hello there. How are you?", "Hello there. How are you?"), {
    kind: "skip",
  });
  assert.deepEqual(reconcile("Hello  there.\nHow are you?", "Hello there. How are you?"), {
    kind: "skip",
  });
  assert.deepEqual(reconcile("Hello there. How are you?", "Hello there."), {
    kind: "residual",
    text: "How are you?",
  });
  assert.deepEqual(reconcile("Something else.", "Hello there."), {
    kind: "full",
    text: "Something else.",
  });
  assert.deepEqual(reconcile("Hi.", ""), { kind: "full", text: "Hi." });
});
