/**
 * The preflight block of `deno task dev` (ops/preflight.ts) and the permissions the launcher
 * gives (ops/services.ts devPermissions): what is found, what is missing, what that turns off
 * and the command that fixes it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { findExecutable, formatPreflight, preflight, tcpReachable } from "../../ops/preflight.ts";
import { devEnvFor, devPermissions, serviceTable } from "../../ops/services.ts";

const nothing = { which: () => null, reachable: () => Promise.resolve(false) };
const everything = {
  which: (name: string) => name.startsWith("/") ? name : `/usr/bin/${name}`,
  reachable: () => Promise.resolve(true),
};

Deno.test("preflight: a bare machine gets one line per missing piece, its effect and its fix", async () => {
  const lines = formatPreflight(await preflight({}, nothing));
  const text = lines.join("\n");
  assert.equal(lines[0], "preflight (optional programs and servers):");
  assert.match(text, /MISSING {2}espeak-ng {2}espeak-ng not found: TARS does not speak/);
  assert.match(text, /fix: sudo apt-get install -y --no-install-recommends espeak-ng\n/);
  assert.match(text, /MISSING {2}ffmpeg {5}ffmpeg not found: no camera picture/);
  assert.match(text, /fix: sudo apt-get install -y --no-install-recommends ffmpeg, then restart/);
  assert.match(text, /MISSING {2}LLM {8}not configured: TARS cannot answer/);
  assert.match(text, /fix: LLM_BASE_URL=http:\/\/127\.0\.0\.1:11434\/v1 LLM_MODEL=/);
  assert.match(text, /MISSING {2}STT {8}not configured: speech is not transcribed/);
  assert.match(text, /fix: STT_BASE_URL=http:\/\/127\.0\.0\.1:8000\/v1 deno task dev/);
  assert.equal(
    lines.at(-1),
    '  4 missing: the rest runs; see README "Get started" for what each one enables',
  );
  assert.ok(lines.length <= 14, "one short block");
});

Deno.test("preflight: everything found and reachable", async () => {
  const env = {
    LLM_BASE_URL: "http://127.0.0.1:11434/v1",
    LLM_MODEL: "llama3.2",
    STT_BASE_URL: "http://127.0.0.1:8000/v1",
  };
  const checks = await preflight(env, everything);
  assert.deepEqual(checks.map((c) => [c.name, c.ok]), [
    ["espeak-ng", true],
    ["ffmpeg", true],
    ["LLM", true],
    ["STT", true],
  ]);
  const text = formatPreflight(checks).join("\n");
  assert.match(text, /ok {7}ffmpeg {5}\/usr\/bin\/ffmpeg \(camera-service's test pattern\)/);
  assert.match(text, /ok {7}LLM {8}http:\/\/127\.0\.0\.1:11434\/v1 \(model llama3\.2\)/);
  assert.match(text, /everything found$/);
});

Deno.test("preflight: a configured server that does not answer, a key for OpenAI, camera off", async () => {
  const probed: string[] = [];
  const checks = await preflight({
    CAMERA_ENABLED: "false",
    LLM_BASE_URL: "http://127.0.0.1:11434/v1",
    OPENAI_API_KEY: "sk-test",
    STT_BACKEND: "ws",
  }, {
    which: everything.which,
    reachable: (url) => {
      probed.push(url.href);
      return Promise.resolve(false);
    },
  });
  assert.deepEqual(checks.map((c) => c.name), ["espeak-ng", "LLM", "STT"], "no ffmpeg check");
  const [, llm, stt] = checks;
  assert.equal(llm.ok, false);
  assert.equal(llm.detail, "http://127.0.0.1:11434/v1 does not answer");
  assert.match(llm.fix ?? "", /ollama serve/);
  assert.equal(stt.detail, "ws://127.0.0.1:9000/stt does not answer");
  assert.deepEqual(probed, ["http://127.0.0.1:11434/v1", "ws://127.0.0.1:9000/stt"]);
  // With only a key, OpenAI itself: nothing is probed over the internet.
  const cloud = await preflight({ OPENAI_API_KEY: "sk-test" }, nothing);
  assert.deepEqual(cloud.slice(2).map((c) => [c.name, c.ok]), [["LLM", true], ["STT", true]]);
});

Deno.test("preflight: OPENAI_BASE_URL alone serves both LLM and STT, and says so", async () => {
  const checks = await preflight({ OPENAI_BASE_URL: "http://127.0.0.1:8080/v1" }, everything);
  assert.match(checks[3].detail, /shared with the LLM/);
});

Deno.test("preflight: findExecutable and tcpReachable look at the real machine", async () => {
  const dir = await Deno.makeTempDir({ prefix: "preflight-" });
  try {
    await Deno.writeTextFile(join(dir, "tool"), "#!/bin/sh\n", { mode: 0o755 });
    await Deno.writeTextFile(join(dir, "data"), "", { mode: 0o644 });
    assert.equal(findExecutable("tool", `/nonexistent:${dir}`), join(dir, "tool"));
    assert.equal(findExecutable("data", dir), null, "not executable");
    assert.equal(findExecutable("tool", undefined), null);
    assert.equal(findExecutable(join(dir, "tool"), ""), join(dir, "tool"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  assert.equal(await tcpReachable(new URL(`http://127.0.0.1:${port}/v1`)), true);
  listener.close();
  assert.equal(await tcpReachable(new URL(`http://127.0.0.1:${port}/v1`)), false);
});

Deno.test("dev permissions: camera-service may run the ffmpeg found at launch (or CAMERA_FFMPEG's)", () => {
  const camera = serviceTable["camera-service"];
  const found = (path: string) => (name: string) => name === "ffmpeg" ? path : null;
  assert.ok(
    devPermissions(camera, {}, found("/usr/bin/ffmpeg")).includes("--allow-run=/usr/bin/ffmpeg"),
  );
  assert.ok(
    devPermissions(camera, { CAMERA_FFMPEG: "/opt/ff/ffmpeg" }, (name) => name).includes(
      "--allow-run=/opt/ff/ffmpeg",
    ),
  );
  // Not installed: the name, as before (camera-service then says how to fix it).
  assert.ok(devPermissions(camera, {}, () => null).includes("--allow-run=ffmpeg"));
  // Other flags and other services are untouched.
  assert.deepEqual(
    devPermissions(serviceTable.router, {}, () => "/x"),
    serviceTable.router.permissions,
  );
});

Deno.test("dev env: ui-web relays the camera where CAMERA_HTTP_HOST/PORT put it", () => {
  const ui = serviceTable["ui-web"];
  assert.deepEqual(devEnvFor(ui, {}), { UI_CAMERA_URL: "http://127.0.0.1:8080/stream" });
  assert.deepEqual(devEnvFor(ui, { CAMERA_HTTP_PORT: "18080" }), {
    UI_CAMERA_URL: "http://127.0.0.1:18080/stream",
  });
  assert.equal(
    devEnvFor(ui, { CAMERA_HTTP_HOST: "0.0.0.0", CAMERA_HTTP_PORT: "9090" }).UI_CAMERA_URL,
    "http://127.0.0.1:9090/stream",
  );
  assert.equal(
    devEnvFor(ui, { CAMERA_HTTP_HOST: "::" }).UI_CAMERA_URL,
    "http://[::1]:8080/stream",
  );
  // An explicit UI_CAMERA_URL wins (the launcher's env comes after devEnvFor).
  assert.deepEqual(devEnvFor(ui, { UI_CAMERA_URL: "http://cam:1/stream" }), {});
  assert.deepEqual(devEnvFor(serviceTable["memory-worker"], {}), { MEMORY_DIR: "data/memory" });
});
