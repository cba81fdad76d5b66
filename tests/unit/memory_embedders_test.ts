import assert from "node:assert/strict";
import { OnnxEmbedder, OpenAiEmbedder } from "../../services/memory-worker/embedders/mod.ts";
import { WordPieceTokenizer } from "../../services/memory-worker/embedders/wordpiece.ts";
import { embedderSuite } from "../helpers/memory_embedder_suite.ts";
import {
  startEmbeddingServer,
  TINY_VOCAB,
  writeTinySentenceModel,
} from "../helpers/memory_embedders.ts";

embedderSuite("openai (local /v1/embeddings server)", () => {
  const server = startEmbeddingServer();
  const embedder = new OpenAiEmbedder({
    baseUrl: server.baseUrl,
    model: "text-embedding-3-small",
    apiKey: "sk-test",
  });
  return Promise.resolve({
    embedder,
    [Symbol.asyncDispose]: () => server.close(),
  });
});

for (const tokenizer of ["vocab", "json"] as const) {
  embedderSuite(
    `onnx (tiny model, ${tokenizer === "vocab" ? "vocab.txt" : "tokenizer.json"})`,
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "tars-embed-" });
      await writeTinySentenceModel(dir, { tokenizer, nested: tokenizer === "json" });
      const embedder = await OnnxEmbedder.load({ modelDir: dir, maxLength: 64 });
      return {
        embedder,
        [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
      };
    },
  );
}

Deno.test("openai embedder: sends the model and key, reports HTTP errors with the status", async () => {
  await using server = startEmbeddingServer();
  const embedder = new OpenAiEmbedder({ baseUrl: server.baseUrl + "/", model: "m1", apiKey: "k" });
  await embedder.embed(["hello"]);
  assert.deepEqual(server.requests[0], {
    model: "m1",
    input: ["hello"],
    authorization: "Bearer k",
  });
  server.failNext(1);
  await assert.rejects(embedder.embed(["x"]), /HTTP 503/);
  const unreachable = new OpenAiEmbedder({ baseUrl: "http://127.0.0.1:9/v1", model: "m" });
  await assert.rejects(
    unreachable.embed(["x"]),
    /Embedding request to http:\/\/127\.0\.0\.1:9\/v1\/embeddings failed/,
  );
});

Deno.test("openai embedder: an endless answer is refused at the size limit, not buffered", async () => {
  let cancelled = false;
  const chunk = new TextEncoder().encode("[" + "0.125,".repeat(10_000));
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (r) => {
    await r.arrayBuffer();
    return new Response(
      new ReadableStream({
        pull: (controller) => controller.enqueue(chunk),
        cancel: () => void (cancelled = true),
      }),
      { headers: { "content-type": "application/json" } },
    );
  });
  const embedder = new OpenAiEmbedder({
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    model: "m",
  });
  await assert.rejects(embedder.embed(["a", "b"]), /answered more than \d+ bytes for 2 texts/);
  for (let i = 0; i < 100 && !cancelled; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cancelled, "the endless answer was cancelled");
});

Deno.test("onnx embedder: clear errors for a directory without a model or tokenizer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tars-embed-" });
  try {
    await assert.rejects(OnnxEmbedder.load({ modelDir: dir }), /No ONNX model in .*model\.onnx/);
    await writeTinySentenceModel(dir);
    await Deno.remove(`${dir}/vocab.txt`);
    await assert.rejects(
      OnnxEmbedder.load({ modelDir: dir }),
      /No tokenizer .*tokenizer\.json.*vocab\.txt/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("onnx embedder: works with a model without token_type_ids and truncates long input", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tars-embed-" });
  try {
    const { buildTinySentenceModel } = await import("../helpers/memory_embedders.ts");
    await Deno.writeFile(`${dir}/model.onnx`, buildTinySentenceModel(8, false));
    await Deno.writeTextFile(`${dir}/vocab.txt`, TINY_VOCAB.join("\n"));
    const embedder = await OnnxEmbedder.load({ modelDir: dir, maxLength: 8 });
    try {
      const long = "my dog is rex ".repeat(50) + "pizza";
      const [a, b] = await embedder.embed([long, "my dog is rex my dog is"]);
      assert.equal(a.length, 8);
      // Truncated to 8 tokens ([CLS] + 6 words + [SEP]): the trailing "pizza" is cut off.
      assert.deepEqual([...a].map((v) => v.toFixed(5)), [...b].map((v) => v.toFixed(5)));
    } finally {
      await embedder.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wordpiece: lowercases, strips accents, splits punctuation and word pieces", () => {
  const tokenizer = new WordPieceTokenizer({
    vocab: new Map(TINY_VOCAB.map((token, id) => [token, id])),
  });
  const id = (token: string) => TINY_VOCAB.indexOf(token);
  assert.deepEqual(tokenizer.preTokenize("Rex's DOG, running!"), [
    "rex",
    "'",
    "s",
    "dog",
    ",",
    "running",
    "!",
  ]);
  assert.deepEqual(tokenizer.preTokenize("Café\u0000 ANNA"), ["cafe", "anna"]);
  assert.deepEqual(tokenizer.wordPieces("running"), [id("run"), id("##ning")]);
  assert.deepEqual(tokenizer.wordPieces("dogs"), [id("dogs")]);
  assert.deepEqual(tokenizer.wordPieces("unknown"), [id("un"), id("##known")]);
  assert.deepEqual(tokenizer.wordPieces("zebra"), [id("[UNK]")]);
  assert.deepEqual(tokenizer.encode("My dog?", 16).ids, [
    id("[CLS]"),
    id("my"),
    id("dog"),
    id("?"),
    id("[SEP]"),
  ]);
  assert.deepEqual(tokenizer.encode("my dog is rex", 4).ids, [
    id("[CLS]"),
    id("my"),
    id("dog"),
    id("[SEP]"),
  ]);
  assert.throws(
    () => new WordPieceTokenizer({ vocab: new Map([["[UNK]", 0]]) }),
    /no \[CLS\] token/,
  );
  assert.throws(
    () => WordPieceTokenizer.fromTokenizerJson({ model: { type: "BPE", vocab: {} } }),
    /only WordPiece/,
  );
});
