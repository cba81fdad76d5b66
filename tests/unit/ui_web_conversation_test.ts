import assert from "node:assert/strict";
import { Conversation } from "../../services/ui-web/conversation.ts";

Deno.test("conversation: chunks accumulate, repeats and late chunks are ignored", () => {
  const c = new Conversation(10, () => 42);
  assert.equal(c.replyChunk("r1", 1, "It ", false, "tars-llm")?.text, "It ");
  assert.equal(c.replyChunk("r1", 2, "is", false, null)?.text, "It is");
  assert.equal(c.replyChunk("r1", 2, "is", false, null), null); // repeat
  assert.equal(c.replyChunk("r1", 1, "It ", false, null), null); // older
  const end = c.replyChunk("r1", 3, "", true, null);
  assert.equal(end?.done, true);
  const final = c.replyFinished("r1", "It is noon.", null, null);
  assert.deepEqual({ ...final }, {
    key: "assistant:r1",
    kind: "assistant",
    id: "r1",
    text: "It is noon.",
    source: "tars-llm",
    error: null,
    done: true,
    ts: 42,
  });
  assert.equal(c.replyChunk("r1", 4, "late", false, null), null);
});

Deno.test("conversation: chunks without seq append; an error keeps the streamed text", () => {
  const c = new Conversation(10);
  c.replyChunk("r2", undefined, "Hel", false, null);
  c.replyChunk("r2", null, "lo", false, null);
  const failed = c.replyFinished("r2", null, "rate limited", null);
  assert.equal(failed.text, "Hello");
  assert.equal(failed.error, "rate limited");
});

Deno.test("conversation: user, assistant and tts entries; bounded history", () => {
  const c = new Conversation(3);
  c.userSaid("u1", "hi", "tars-stt");
  c.replyFinished("r1", "hello", null, null);
  c.spoken("t1", "hello", "tars-router");
  c.userSaid("u2", "bye", "ui-web");
  assert.deepEqual(c.entries().map((e) => e.key), ["assistant:r1", "tts:t1", "user:u2"]);
  // Entries handed out are frozen snapshots.
  const [first] = c.entries();
  assert.ok(Object.isFrozen(first));
});

Deno.test("conversation: the sentences of one spoken reply (one utt_id) are joined", () => {
  const c = new Conversation(10);
  c.spoken("r1", "Hello there.", "tars-router");
  c.spoken("r1", "I am TARS.", "tars-router");
  const last = c.spoken("r1", "Humor is at seventy five percent.", "tars-router");
  assert.equal(last.text, "Hello there. I am TARS. Humor is at seventy five percent.");
  assert.equal(c.spoken("r2", "Another reply.", null).text, "Another reply.");
  assert.deepEqual(c.entries().map((e) => e.key), ["tts:r1", "tts:r2"]);
});
