import assert from "node:assert/strict";
import {
  getLogger,
  type LogRecord,
  parseLogLevel,
  RateLimitedLog,
  redactSecrets,
  setupLogging,
} from "../../core/log/mod.ts";

Deno.test("secrets never reach a sink", () => {
  const records: LogRecord[] = [];
  setupLogging({ level: "debug", sink: (r) => records.push(r) });
  getLogger("test").info("Connecting to {url}", {
    url: "mqtt://tars:hunter2@h:1883",
    password: "hunter2",
    nested: { apiKey: "sk-123", keep: "visible" },
  });
  const text = JSON.stringify(records.map((r) => [r.message, r.properties]));
  assert.ok(!text.includes("hunter2"), text);
  assert.ok(!text.includes("sk-123"), text);
  assert.ok(text.includes("mqtt://tars:***@h:1883"));
  assert.ok(text.includes("visible"));
});

Deno.test("LOG_LEVEL words map to log levels", () => {
  assert.equal(parseLogLevel("INFO"), "info");
  assert.equal(parseLogLevel("warn"), "warning");
  assert.equal(parseLogLevel("Debug"), "debug");
  assert.equal(parseLogLevel("loud"), undefined);
});

Deno.test("redactSecrets keeps structure and binary data", () => {
  const bytes = new Uint8Array([1, 2]);
  assert.deepEqual(redactSecrets({ token: "t", list: [{ secret: "s" }], bytes }), {
    token: "***",
    list: [{ secret: "***" }],
    bytes,
  });
});

Deno.test("rate-limited log emits once per interval and counts the rest", () => {
  const limiter = new RateLimitedLog(1000);
  const lines: number[] = [];
  for (let t = 0; t < 2500; t += 100) limiter.maybe("k", (n) => lines.push(n), t);
  assert.deepEqual(lines, [0, 9, 9]);
});

Deno.test("LOG_FORMAT picks JSON or text for the stderr writer", async () => {
  const script = 'import { getLogger, setupLogging } from "./core/mod.ts"; setupLogging(); ' +
    'getLogger("fmt").info("hello {who}: {n} at {url}!", { who: "world", n: 3, url: "h:1" });';
  const line = async (format: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      cwd: new URL("../../", import.meta.url),
      env: { LOG_FORMAT: format },
      stdout: "null",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stderr).trim();
  };
  // String values read as text (not `hello "world"`); other values as LogTape renders them.
  const json = JSON.parse(await line("json"));
  assert.equal(json.message, "hello world: 3 at h:1!");
  assert.deepEqual(json.properties, { who: "world", n: 3, url: "h:1" });
  // deno-lint-ignore no-control-regex -- strips the ANSI colours of the text format
  const text = (await line("text")).replace(/\x1b\[[0-9;]*m/g, "");
  assert.throws(() => JSON.parse(text));
  assert.match(text, /hello world: 3 at h:1!/);
  const bad = await line("xml");
  assert.match(bad, /LOG_FORMAT="xml" is not auto, json, pretty or text; using auto/);
});
