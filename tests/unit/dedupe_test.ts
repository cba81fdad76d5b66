import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import {
  canonicalHash,
  canonicalJson,
  dedupeHash,
  dedupeKey,
  hash53,
  MessageDeduplicator,
} from "../../core/mqtt/dedupe.ts";

const env = (data: Record<string, unknown>, id = "a".repeat(32), type = "llm.stream") => ({
  id,
  type,
  ts: 1,
  source: "llm-worker",
  data,
});

Deno.test("dedupe keys: type|id|seq=N for stream chunks, a data hash otherwise", () => {
  assert.deepEqual(
    dedupeKey(env({ id: "r", seq: 3, delta: "x" })),
    `llm.stream|${"a".repeat(32)}|seq=3`,
  );
  const k1 = dedupeKey(env({ b: 1, a: 2 }, "x", "llm.response"));
  const k2 = dedupeKey(env({ a: 2, b: 1 }, "x", "llm.response"));
  assert.deepEqual(k1, k2, "key order does not matter");
  assert.notDeepEqual(k1, dedupeKey(env({ a: 2, b: 3 }, "x", "llm.response")));
  // the request, its chunks and its response share the id but not the key
  assert.notDeepEqual(dedupeKey(env({ seq: 1 })), dedupeKey(env({ seq: 2 })));
  assert.notDeepEqual(
    dedupeKey(env({ text: "hi" }, "x", "a")),
    dedupeKey(env({ text: "hi" }, "x", "b")),
  );
  assert.deepEqual(
    canonicalJson({ b: [1, { d: 1, c: 2 }], a: null }),
    '{"a":null,"b":[1,{"c":2,"d":1}]}',
  );
});

Deno.test("dedupeHash: equal numbers exactly where dedupeKey gives equal keys", () => {
  const cases = [
    env({ id: "r", seq: 3, delta: "x" }),
    env({ id: "r", seq: 3, delta: "y" }), // same chunk number: same key
    env({ id: "r", seq: 4, delta: "x" }),
    env({ seq: 3 }, "b".repeat(32)),
    env({ b: 1, a: 2 }, "x", "llm.response"),
    env({ a: 2, b: 1 }, "x", "llm.response"),
    env({ a: 2, b: 3 }, "x", "llm.response"),
    env({ a: 2, b: 1 }, "x", "llm.request"),
    env({ a: 2, b: 1 }, "y", "llm.response"),
    env({ v: 0 }, "x", "t"),
    env({ v: -0 }, "x", "t"), // JSON writes -0 as 0
    env({ v: 1.5 }, "x", "t"),
    env({ v: "1.5" }, "x", "t"),
    env({ v: null }, "x", "t"),
    env({ v: Number.NaN }, "x", "t"), // JSON writes NaN as null
    env({ v: [1, [2]] }, "x", "t"),
    env({ v: [[1], 2] }, "x", "t"),
    env({ seq: 1.5 }, "x", "t"), // not an integer: keyed by the data
  ];
  for (const a of cases) {
    for (const b of cases) {
      const sameKey = dedupeKey(a) === dedupeKey(b);
      assert.equal(dedupeHash(a) === dedupeHash(b), sameKey, `${dedupeKey(a)} / ${dedupeKey(b)}`);
    }
  }
  assert.ok(Number.isSafeInteger(dedupeHash(cases[0])));
});

Deno.test("canonicalHash: equal for equal data in any key order, different otherwise", () => {
  const a = { text: "hi", n: 1.5, ok: true, list: [1, null, { y: 2, x: "z" }], none: null };
  const b = { none: null, list: [1, null, { x: "z", y: 2 }], ok: true, n: 1.5, text: "hi" };
  assert.equal(canonicalHash(a), canonicalHash(b));
  const different: unknown[] = [
    { ...a, text: "ho" },
    { ...a, n: 2 },
    { ...a, ok: false },
    { ...a, list: [1, null] },
    { ...a, extra: 0 },
    ["a,b"],
    ["a", "b"],
    { a: "b" },
    { ab: "" },
    "1",
    1,
    [],
    {},
    null,
    true,
  ];
  const hashes = new Set(different.map(canonicalHash));
  assert.equal(hashes.size, different.length, "no two different values share a hash");
  assert.ok(!hashes.has(canonicalHash(a)));
  // as canonicalJson: undefined and non-finite numbers count as null
  assert.equal(canonicalHash([undefined, NaN]), canonicalHash([null, null]));
  assert.match(canonicalHash(a), /^[0-9a-z]+$/);
  assert.equal(hash53("abc"), hash53("abc"));
});

Deno.test("dedupe remembers keys for the TTL, refreshed on every hit", async () => {
  const clock = FakeTimers.install({ toFake: ["performance", "Date", "setTimeout"] });
  try {
    const d = new MessageDeduplicator({ ttlMs: 1000, maxEntries: 10 });
    assert.deepEqual(d.isDuplicate("k"), false);
    await clock.tickAsync(900);
    assert.deepEqual(d.isDuplicate("k"), true); // hit refreshes
    await clock.tickAsync(900);
    assert.deepEqual(d.isDuplicate("k"), true);
    await clock.tickAsync(1001);
    assert.deepEqual(d.isDuplicate("k"), false, "expired after the TTL");
    assert.deepEqual(d.size, 1);
  } finally {
    clock.uninstall();
  }
});

Deno.test("dedupe evicts the least recently seen key beyond max entries", () => {
  let now = 0;
  const d = new MessageDeduplicator({ ttlMs: 60_000, maxEntries: 3, now: () => now });
  for (const k of ["a", "b", "c"]) {
    now++;
    d.isDuplicate(k);
  }
  now++;
  assert.deepEqual(d.isDuplicate("a"), true); // a becomes most recent
  now++;
  assert.deepEqual(d.isDuplicate("d"), false); // evicts b
  assert.deepEqual(d.size, 3);
  assert.deepEqual(d.isDuplicate("b"), false, "b was evicted");
  for (let i = 0; i < 10_000; i++) d.isDuplicate(`k${i}`);
  assert.deepEqual(d.size, 3, "memory stays bounded");
});

Deno.test("dedupe rejects a zero TTL or size", () => {
  assert.throws(() => new MessageDeduplicator({ ttlMs: 0, maxEntries: 1 }), RangeError);
  assert.throws(() => new MessageDeduplicator({ ttlMs: 1, maxEntries: 0 }), RangeError);
});

Deno.test("dedupe stays bounded and exact under churn and repeated hits", () => {
  let now = 0;
  const d = new MessageDeduplicator({ ttlMs: 1_000_000, maxEntries: 100, now: () => now });
  for (let i = 0; i < 20_000; i++) {
    now++;
    assert.equal(d.isDuplicate(`k${i}`), false);
    assert.equal(d.isDuplicate("hot"), i > 0, "the hot key is always remembered");
  }
  assert.equal(d.size, 100);
  assert.equal(d.isDuplicate("k19990"), true, "a recent key is still known");
  assert.equal(d.isDuplicate("k100"), false, "an evicted key is forgotten");
});

Deno.test("dedupeHash: a 50 000-level payload is hashed without overflowing the stack", () => {
  const nested = (depth: number, inner: unknown, asObject: boolean): unknown => {
    let value = inner;
    for (let i = 0; i < depth; i++) value = asObject ? { a: value, b: i % 3 } : [value, i % 3];
    return value;
  };
  const envelope = (data: unknown) => ({
    id: "x",
    type: "t",
    ts: 1,
    source: "s",
    data: { deep: data },
  });
  for (const asObject of [false, true]) {
    const a = dedupeHash(envelope(nested(50_000, "leaf", asObject)));
    assert.equal(a, dedupeHash(envelope(nested(50_000, "leaf", asObject))), "deterministic");
    assert.notEqual(a, dedupeHash(envelope(nested(50_000, "leaf2", asObject))), "the leaf counts");
    assert.notEqual(a, dedupeHash(envelope(nested(49_999, "leaf", asObject))), "the depth counts");
  }
  // Past the recursion limit the explicit stack still hashes by value, not by identity.
  const deep = nested(100, { x: [1, "two", null] }, true);
  assert.equal(
    dedupeHash(envelope(deep)),
    dedupeHash(envelope(JSON.parse(JSON.stringify(deep)))),
  );
});
