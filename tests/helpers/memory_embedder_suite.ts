/**
 * The one test suite every memory-worker embedder runs through: unit vectors of one size,
 * deterministic, batch = single, related texts nearer than unrelated ones, empty input.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Embedder } from "../../services/memory-worker/embedders/mod.ts";

/** One embedder under test; disposing it frees what the factory made (servers, temp dirs). */
export interface EmbedderFixture extends AsyncDisposable {
  /** The embedder. */
  readonly embedder: Embedder;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot;
}

/**
 * Registers the shared embedder tests for `name`. Every case gets a fresh fixture; the suite
 * closes the embedder, then disposes the fixture.
 */
export function embedderSuite(name: string, make: () => Promise<EmbedderFixture>): void {
  const test = (title: string, fn: (embedder: Embedder) => Promise<void>) =>
    Deno.test(`embedder ${name}: ${title}`, async () => {
      await using fixture = await make();
      try {
        await fn(fixture.embedder);
      } finally {
        await fixture.embedder.close();
      }
    });

  test("unit vectors of one size, one per text, in order", async (embedder) => {
    const texts = ["my dog is rex", "the weather is sunny today", "coffee in the morning"];
    const vectors = await embedder.embed(texts);
    assert.equal(vectors.length, 3);
    const size = vectors[0].length;
    assert.ok(size > 0);
    for (const vector of vectors) {
      assert.ok(vector instanceof Float32Array);
      assert.equal(vector.length, size);
      assert.ok(Math.abs(cosine(vector, vector) - 1) < 1e-4, "unit length");
    }
    assert.ok(cosine(vectors[0], vectors[1]) < 0.999, "different texts differ");
  });

  test("deterministic, and a batch equals single calls", async (embedder) => {
    const [a1, b1] = await embedder.embed(["my dog likes pizza", "my sister anna lives in berlin"]);
    const [a2] = await embedder.embed(["my dog likes pizza"]);
    const [b2] = await embedder.embed(["my sister anna lives in berlin"]);
    assert.ok(cosine(a1, a2) > 0.9999);
    assert.ok(cosine(b1, b2) > 0.9999);
  });

  test("a related text is nearer than an unrelated one", async (embedder) => {
    const [query, related, unrelated] = await embedder.embed([
      "what is my dog name",
      "my dog is rex",
      "the weather tomorrow is rain",
    ]);
    assert.ok(cosine(query, related) > cosine(query, unrelated));
  });

  test("empty input gives no vectors; an id names the model", async (embedder) => {
    assert.deepEqual(await embedder.embed([]), []);
    assert.match(embedder.id, /^\w+:.+/);
  });
}
