import assert from "node:assert/strict";
import { z } from "zod";
import { topics, TtsSay } from "../../core/mod.ts";
import { builtSchema, lazySchema } from "../../core/contracts/lazy_schema.ts";

function counted() {
  let builds = 0;
  const schema = lazySchema(() => {
    builds++;
    return z.strictObject({ ok: z.boolean(), n: z.int().default(1) }).meta({
      title: "Ping",
      description: "A test payload.",
    });
  });
  return { schema, builds: () => builds };
}

Deno.test("lazySchema: builds on first use, once", () => {
  const { schema, builds } = counted();
  assert.equal(builds(), 0);
  assert.deepEqual(schema.parse({ ok: true }), { ok: true, n: 1 });
  assert.equal(schema.safeParse({ ok: "no" }).success, false);
  assert.equal(builds(), 1);
  schema.parse({ ok: false });
  assert.equal(builds(), 1);
});

Deno.test("lazySchema: the stand-in behaves as the schema", () => {
  const { schema } = counted();
  assert.ok(schema instanceof z.ZodObject);
  assert.deepEqual(Object.keys(schema.shape), ["ok", "n"]);
  assert.equal(z.globalRegistry.get(schema)?.title, "Ping");
  // Nested in another schema (parse) and extended.
  const outer = z.strictObject({ inner: schema, list: z.array(schema) });
  assert.deepEqual(outer.parse({ inner: { ok: true }, list: [{ ok: false, n: 2 }] }), {
    inner: { ok: true, n: 1 },
    list: [{ ok: false, n: 2 }],
  });
  assert.throws(() => outer.parse({ inner: { ok: 1 }, list: [] }));
  assert.deepEqual(schema.extend({ x: z.string() }).parse({ ok: true, x: "y" }), {
    ok: true,
    n: 1,
    x: "y",
  });
});

Deno.test("lazySchema: builtSchema gives the real schema for z.toJSONSchema", () => {
  const { schema } = counted();
  const real = builtSchema(schema);
  assert.notEqual(real, schema);
  assert.equal(builtSchema(real), real); // not a stand-in: as it is
  assert.equal(builtSchema(schema), real); // built once
  const eager = z.strictObject({ ok: z.boolean(), n: z.int().default(1) }).meta({
    title: "Ping",
    description: "A test payload.",
  });
  assert.deepEqual(z.toJSONSchema(real), z.toJSONSchema(eager));
});

Deno.test("lazySchema: the topic table's payload schemas are stand-ins that parse", () => {
  assert.equal(topics.ttsSay.schema, TtsSay);
  assert.notEqual(builtSchema(TtsSay), TtsSay);
  assert.equal(topics.ttsSay.schema!.parse({ text: "hi" }).text, "hi");
});
