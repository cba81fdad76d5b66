import assert from "node:assert/strict";
import {
  BodyTooLargeError,
  HostAllowList,
  parseAllowedHosts,
  parseHostName,
  readBodyLimited,
  tokenMatches,
} from "../../core/mod.ts";

Deno.test("http guard: Host values are parsed strictly", () => {
  assert.deepEqual(parseHostName("LocalHost:5010"), { name: "localhost", port: 5010 });
  assert.deepEqual(parseHostName("[::1]:80"), { name: "::1", port: 80 });
  assert.deepEqual(parseHostName("robot.local."), { name: "robot.local" });
  for (const bad of ["", " ", "a b", "host:99999", "http://x", "x/y", "[zz]", "user@host"]) {
    assert.equal(parseHostName(bad), undefined, bad);
  }
  assert.deepEqual(parseAllowedHosts(" a.local,,b:1 x/y").invalid, ["x/y"]);
});

Deno.test("http guard: the allow-list answers loopback, the bind IP and the extra names", () => {
  const list = new HostAllowList({
    bindHost: "192.168.1.5",
    extra: parseAllowedHosts("robot.local, cam:8080").entries,
  });
  for (const host of ["localhost", "localhost:1", "127.0.0.1:5010", "127.9.9.9", "[::1]:5010"]) {
    assert.equal(list.allows(host), true, host);
  }
  for (const host of ["192.168.1.5:5010", "robot.local:5010", "cam:8080"]) {
    assert.equal(list.allows(host), true, host);
  }
  for (
    const host of [null, "", "evil.example", "cam:8081", "sub.robot.local", "localhost.evil:1"]
  ) {
    assert.equal(list.allows(host), false, String(host));
  }
  // A wildcard bind address is not a name anyone can be sent to.
  assert.equal(new HostAllowList({ bindHost: "0.0.0.0" }).allows("0.0.0.0:5010"), false);
  assert.equal(new HostAllowList({ bindHost: "::" }).allows("[::]:5010"), false);
  assert.equal(new HostAllowList({ bindHost: "fe80::1" }).allows("[fe80::1]:5010"), true);
});

Deno.test("http guard: tokens compare whole", () => {
  assert.equal(tokenMatches("abcdefgh", "abcdefgh"), true);
  assert.equal(tokenMatches("abcdefg", "abcdefgh"), false);
  assert.equal(tokenMatches("abcdefghi", "abcdefgh"), false);
  assert.equal(tokenMatches(null, "abcdefgh"), false);
});

Deno.test("http guard: bodies are read up to the limit", async () => {
  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    new Request("http://x/", { method: "POST", body, headers });
  assert.equal(new TextDecoder().decode(await readBodyLimited(post("hello"), 5)), "hello");
  await assert.rejects(readBodyLimited(post("hello!"), 5), BodyTooLargeError);
  await assert.rejects(
    readBodyLimited(post("hi", { "content-length": "999" }), 5),
    BodyTooLargeError,
  );
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(1024));
    },
  });
  await assert.rejects(readBodyLimited(post(endless), 4096), BodyTooLargeError);
  assert.ok(pulled <= 6, `stopped pulling after the limit (${pulled})`);
});
