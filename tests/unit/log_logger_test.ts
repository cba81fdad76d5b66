/**
 * core/log's own logger (it replaced LogTape): records, templates, levels, categories, sink
 * failures, and JSON/text lines that are byte for byte what LogTape wrote. The expected lines
 * below were recorded from `@logtape/logtape@2.4.2` (`getJsonLinesFormatter()`,
 * `getAnsiColorFormatter({ timestamp: "time" })`) on the same calls.
 */
import assert from "node:assert/strict";
import { formatJsonLine } from "../../core/log/format_json.ts";
import { prettyFormatter } from "../../core/log/format_pretty.ts";
import { configureLogger, getLogger as getCategoryLogger } from "../../core/log/logger.ts";
import { getLogger, type LogRecord, setupLogging } from "../../core/log/mod.ts";

/** A template with every kind of value (and one missing), used by both formats' tests. */
const HELLO = "hello {who}: {n} at {url}! {flag} {nil} {undef} {missing}";
const helloValues = { who: "world", n: 3, url: "h:1", flag: true, nil: null, undef: undefined };

/** Runs `log` with every level on, returns the records with a fixed timestamp. */
function capture(log: () => void): LogRecord[] {
  const records: LogRecord[] = [];
  configureLogger((r) => records.push({ ...r, timestamp: 1700000000123 }), "trace");
  try {
    log();
  } finally {
    configureLogger(null);
  }
  return records;
}

function sampleError(): Error {
  const cause = new TypeError("inner");
  cause.stack = "TypeError: inner";
  const error = new Error("outer", { cause });
  error.stack = "Error: outer";
  (error as unknown as Record<string, unknown>).code = "E1";
  return error;
}

Deno.test("JSON lines are LogTape's: field order, levels, values in the message, errors, cycles", () => {
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  const boom = new Error("boom");
  boom.stack = "Error: boom\n    at x (file.ts:1:1)";
  const log = getCategoryLogger(["tars", "svc"]);
  const records = capture(() => {
    log.info("plain text");
    log.info(HELLO, helloValues);
    log.warn("failed: {error}", { error: boom });
    log.error("obj {o} arr {a} big {b}", { o: { x: 1, y: "s" }, a: [1, "two"], b: 10n });
    log.fatal("nested {error}", { error: sampleError(), when: new Date(0) });
    log.debug("braces {{literal}} and }} and {a.b} {open", { a: { b: 5 } });
    log.trace("ctl \u0085 \u007f {x}", { x: "\u0090" });
    log.warn("circular {c}", { c: circular });
    log.info("{ spaced } {*}", { spaced: 1 });
    log.getChild("child").warning("child {n}", { n: 1.5 });
    log.info("newline\nin text {s}", { s: "multi\nline" });
  });
  const expected = [
    '{"@timestamp":"2023-11-14T22:13:20.123Z","level":"INFO","message":"plain text","logger":"tars.svc","properties":{}}\n',
    '{"@timestamp":"2023-11-14T22:13:20.123Z","level":"INFO","message":"hello \\"world\\": 3 at \\"h:1\\"! true null undefined undefined","logger":"tars.svc","properties":{"who":"world","n":3,"url":"h:1","flag":true,"nil":null}}\n',
    '{"@timestamp":"2023-11-14T22:13:20.123Z","level":"WARN","message":"failed: {}","logger":"tars.svc","properties":{"error":{"name":"Error","message":"boom","stack":"Error: boom\\n    at x (file.ts:1:1)"}}}\n',
    '{"@timestamp":"2023-11-14T22:13:20.123Z","level":"ERROR","message":"obj {\\"x\\":1,\\"y\\":\\"s\\"} arr [1,\\"two\\"] big \\"10\\"","logger":"tars.svc","properties":{"o":{"x":1,"y":"s"},"a":[1,"two"],"b":"10"}}\n',
    '{"@timestamp":"2023-11-14T22:13:20.123Z","level":"FATAL","message":"nested {\\"code\\":\\"E1\\"}","logger":"tars.svc","properties":{"error":{"name":"Error","message":"outer","stack":"Error: outer","cause":{"name":"TypeError","message":"inner","stack":"TypeError: inner"},"code":"E1"},"when":"1970-01-01T00:00:00.000Z"}}\n',
    '{"@timestamp":"2023-11-14T22:13:20.123Z","level":"DEBUG","message":"braces {literal} and } and 5 {open","logger":"tars.svc","properties":{"a":{"b":5}}}\n',
    '{"@timestamp":"2023-11-14T22:13:20.123Z","level":"TRACE","message":"ctl \\u0085 \\u007f \\"\\u0090\\"","logger":"tars.svc","properties":{"x":"\\u0090"}}\n',
    '{"@timestamp":"2023-11-14T22:13:20.123Z","level":"WARN","message":"circular {\\"a\\":1,\\"self\\":\\"[Circular]\\"}","logger":"tars.svc","properties":{"c":{"a":1,"self":"[Circular]"}}}\n',
    '{"@timestamp":"2023-11-14T22:13:20.123Z","level":"INFO","message":"1 {\\"spaced\\":1}","logger":"tars.svc","properties":{"spaced":1}}\n',
    '{"@timestamp":"2023-11-14T22:13:20.123Z","level":"WARN","message":"child 1.5","logger":"tars.svc.child","properties":{"n":1.5}}\n',
    '{"@timestamp":"2023-11-14T22:13:20.123Z","level":"INFO","message":"newline\\nin text \\"multi\\\\nline\\"","logger":"tars.svc","properties":{"s":"multi\\nline"}}\n',
  ];
  assert.deepEqual(records.map(formatJsonLine), expected);
});

Deno.test("text lines are LogTape's coloured ones; without colours the same words", () => {
  const log = getCategoryLogger(["tars", "svc"]);
  const records = capture(() => {
    log.info(HELLO, helloValues);
    log.error("obj {o} arr {a} big {b}", { o: { x: 1, y: "s" }, a: [1, "two"], b: 10n });
    log.getChild("child").warning("child {n}", { n: 1.5 });
  });
  assert.deepEqual(records.map(prettyFormatter({ colors: true })), [
    '\x1b[2m22:13:20.123\x1b[0m \x1b[1m\x1b[32mINF\x1b[0m \x1b[2mtars·svc:\x1b[0m hello \x1b[32m"world"\x1b[39m: \x1b[33m3\x1b[39m at \x1b[32m"h:1"\x1b[39m! \x1b[33mtrue\x1b[39m \x1b[1mnull\x1b[22m \x1b[90mundefined\x1b[39m \x1b[90mundefined\x1b[39m\n',
    '\x1b[2m22:13:20.123\x1b[0m \x1b[1m\x1b[31mERR\x1b[0m \x1b[2mtars·svc:\x1b[0m obj { x: \x1b[33m1\x1b[39m, y: \x1b[32m"s"\x1b[39m } arr [ \x1b[33m1\x1b[39m, \x1b[32m"two"\x1b[39m ] big \x1b[33m10n\x1b[39m\n',
    "\x1b[2m22:13:20.123\x1b[0m \x1b[1m\x1b[33mWRN\x1b[0m \x1b[2mtars·svc·child:\x1b[0m child \x1b[33m1.5\x1b[39m\n",
  ]);
  assert.deepEqual(records.map(prettyFormatter({ colors: false })), [
    '22:13:20.123 INF tars·svc: hello "world": 3 at "h:1"! true null undefined undefined\n',
    '22:13:20.123 ERR tars·svc: obj { x: 1, y: "s" } arr [ 1, "two" ] big 10n\n',
    "22:13:20.123 WRN tars·svc·child: child 1.5\n",
  ]);
});

Deno.test("text lines escape control characters of text and category, keep colours", () => {
  const [line] = capture(() => {
    getCategoryLogger(["tars", "a\x1b[31mb"]).info("x \x1b[1mbold\x1b[2J \x07 end");
  }).map(prettyFormatter({ colors: false }));
  // ESC, BEL escaped (in the category even the colour); the open colour is closed at the end.
  assert.equal(line, "22:13:20.123 INF tars·a\\x1b[31mb: x \x1b[1mbold\\x1b[2J \\x07 end\x1b[0m\n");
});

Deno.test("templates: missing keys are undefined, {{ }} are braces, an unclosed { is text", () => {
  const [record] = capture(() => {
    getCategoryLogger(["tars"]).info("{{a}} {b} }} {missing} {c.d} { e } {open", {
      b: 2,
      c: { d: "deep" },
      e: "spaced",
    });
  });
  assert.deepEqual(record.message, [
    "{a} ",
    2,
    " } ",
    undefined,
    " ",
    "deep",
    " ",
    "spaced",
    " {open",
  ]);
  assert.equal(record.rawMessage, "{{a}} {b} }} {missing} {c.d} { e } {open");
  assert.deepEqual(record.properties, { b: 2, c: { d: "deep" }, e: "spaced" });
  const [plain] = capture(() => getCategoryLogger(["tars"]).info("no braces"));
  assert.deepEqual([plain.message, plain.properties], [["no braces"], {}]);
});

Deno.test("levels below the configured one are dropped; warn and warning are one level", () => {
  const records: LogRecord[] = [];
  setupLogging({ level: "warning", sink: (r) => records.push(r) });
  const log = getLogger("levels");
  log.trace("t");
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.warning("w2");
  log.error("e");
  log.fatal("f");
  assert.deepEqual(records.map((r) => [r.level, r.rawMessage]), [
    ["warning", "w"],
    ["warning", "w2"],
    ["error", "e"],
    ["fatal", "f"],
  ]);
});

Deno.test("getChild adds a category; a logger taken before setup writes after it", () => {
  configureLogger(null);
  const early = getLogger("svc");
  const child = early.getChild("mqtt");
  early.info("before setup");
  const records: LogRecord[] = [];
  setupLogging({ level: "info", sink: (r) => records.push(r) });
  early.info("after setup");
  child.info("child");
  assert.deepEqual(child.category, ["tars", "svc", "mqtt"]);
  assert.deepEqual(records.map((r) => [r.category.join("."), r.rawMessage]), [
    ["tars.svc", "after setup"],
    ["tars.svc.mqtt", "child"],
  ]);
  // Calling setupLogging again replaces the sink.
  const second: LogRecord[] = [];
  setupLogging({ level: "info", sink: (r) => second.push(r) });
  early.info("again");
  assert.deepEqual([records.length, second.length], [2, 1]);
});

Deno.test("a sink that logs does not recurse: the inner record is dropped", () => {
  const seen: string[] = [];
  const log = getLogger("recursive");
  setupLogging({
    level: "info",
    sink: (r) => {
      seen.push(String(r.rawMessage));
      log.info("from inside the sink");
    },
  });
  log.info("outer");
  log.info("second");
  assert.deepEqual(seen, ["outer", "second"]);
});

Deno.test("a throwing sink does not crash the process; the loss is reported once on stderr", async () => {
  const script = 'import { getLogger, setupLogging } from "./core/mod.ts";' +
    'setupLogging({ sink: () => { throw new Error("disk full"); } });' +
    'const log = getLogger("x"); log.info("one"); log.error("two"); log.fatal("three");' +
    'console.log("still running");';
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    cwd: new URL("../../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "still running");
  const reports = stderr.split("\n").filter((l) => l.includes("log record was lost"));
  assert.equal(reports.length, 1, stderr);
  assert.match(reports[0], /its sink failed: Error: disk full/);
});
