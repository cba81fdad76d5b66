/**
 * Redaction of log records: key-shaped tokens, `Bearer` tokens, secret `name=value` pairs,
 * URL passwords and registered secrets are hidden; every string value is cut to
 * LOG_STRING_LIMIT with its length noted; the scan is linear (hostile 1M-character inputs
 * finish far below a second, where a backtracking regex took minutes).
 */
import assert from "node:assert/strict";
import {
  getLogger,
  LOG_STRING_LIMIT,
  type LogRecord,
  redactSecrets,
  redactText,
  registerSecret,
  setupLogging,
} from "../../core/log/mod.ts";
import { clearRegisteredSecrets, isSecretName, truncateText } from "../../core/log/redact.ts";
import { envVar, parseEnv, parseMqttUrl, readEnv } from "../../core/config/mod.ts";

const OPENAI_KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z";

Deno.test("redactText hides key-shaped tokens, Bearer tokens and secret name=value pairs", () => {
  const cases: Array<[string, string]> = [
    [
      `Incorrect API key provided: ${OPENAI_KEY}. You can find your API key at ...`,
      "Incorrect API key provided: sk-***. You can find your API key at ...",
    ],
    ["Authorization: Bearer abc.DEF-123_456~xyz", "Authorization: Bearer ***"],
    ["header authorization=basic dXNlcjpwYXNz", "header authorization=basic ***"],
    ["GET /v1?api_key=abcd1234&model=x", "GET /v1?api_key=***&model=x"],
    ['{"password": "hunter22", "user": "tars"}', '{"password": "***", "user": "tars"}'],
    ["OPENAI_API_KEY='whatever-it-is' set", "OPENAI_API_KEY='***' set"],
    ["x-api-key: 12345678", "x-api-key: ***"],
    [
      "connect mqtt://tars:hunter2@broker:1883 failed",
      "connect mqtt://tars:***@broker:1883 failed",
    ],
    ["ws://u:p@host/mqtt and wss://a:b@c/", "ws://u:***@host/mqtt and wss://a:***@c/"],
    ["token ghp_abcdefghijklmnopqrstuvwxyz0123", "token ghp_***"],
  ];
  for (const [input, expected] of cases) assert.equal(redactText(input), expected, input);
});

Deno.test("redactText keeps ordinary text: ids, counts, words that only contain secret words", () => {
  const keep = [
    "max_tokens=256 temperature=0.7",
    "task-manager disk-cache-size 3 tokens used",
    "message 0123456789abcdef0123456789abcdef from tars-llm",
    "mqtt://127.0.0.1:1883 and http://host/path:x@y",
    "bypass the password check? no: key=value is fine",
    "token: null",
    "the bearer said hello",
  ];
  for (const text of keep) assert.equal(redactText(text), text);
});

Deno.test("isSecretName: the last word decides", () => {
  for (const name of ["password", "apiKey", "OPENAI_API_KEY", "accessToken", "x-api-key"]) {
    assert.ok(isSecretName(name), name);
  }
  for (const name of ["maxTokens", "key", "tokens", "passed", "keyboard", "url"]) {
    assert.ok(!isSecretName(name), name);
  }
});

Deno.test("registered secrets are hidden wherever they appear; short ones are ignored", () => {
  clearRegisteredSecrets();
  try {
    registerSecret("plain-secret-value");
    registerSecret("pw");
    registerSecret(undefined);
    assert.equal(
      redactText("the provider said: key plain-secret-value is wrong"),
      "the provider said: key *** is wrong",
    );
    assert.equal(redactText("pw stays"), "pw stays");
    const records: LogRecord[] = [];
    setupLogging({ level: "debug", sink: (r) => records.push(r) });
    getLogger("test").error("Request failed: {error}", {
      error: new Error("HTTP 401: Incorrect API key provided: plain-secret-value"),
      detail: { body: { message: "echo plain-secret-value" } },
    });
    const text = JSON.stringify(records.map((r) => [r.message.map(String), r.properties]));
    assert.ok(!text.includes("plain-secret-value"), text);
    const error = records[0].properties.error as Error;
    assert.ok(!error.message.includes("plain-secret-value"));
    assert.ok(!(error.stack ?? "").includes("plain-secret-value"));
  } finally {
    clearRegisteredSecrets();
  }
});

Deno.test("the config loader registers API keys, tokens and the MQTT password as secrets", () => {
  clearRegisteredSecrets();
  try {
    const shape = {
      EXAMPLE_API_KEY: envVar.optionalString(),
      UI_TOKEN: envVar.optionalString(),
      LLM_MAX_TOKENS: envVar.int(1),
    };
    readEnv(shape, {
      EXAMPLE_API_KEY: "abcdef-123456",
      UI_TOKEN: "ui-token-123456",
      LLM_MAX_TOKENS: "123456",
    });
    parseMqttUrl("mqtt://tars:broker%2Fpass-987@h:1883");
    assert.equal(
      redactText("abcdef-123456 ui-token-123456 broker/pass-987 broker%2Fpass-987 123456"),
      "*** *** *** *** 123456",
    );
    // A bad value of a secret variable is never echoed in the configuration error.
    assert.throws(
      () => parseEnv({ SOME_TOKEN: envVar.int(1) }, { SOME_TOKEN: "not-a-number-but-secret" }),
      (error: Error) => !error.message.includes("not-a-number") && /SOME_TOKEN/.test(error.message),
    );
  } finally {
    clearRegisteredSecrets();
  }
});

Deno.test("every logged string value is cut to LOG_STRING_LIMIT with its length noted", () => {
  const records: LogRecord[] = [];
  setupLogging({ level: "debug", sink: (r) => records.push(r) });
  const long = "a".repeat(60_000);
  getLogger("test").warn("movement {command} failed: {error}", {
    command: long,
    error: new Error(`bad ${long}`),
    nested: { list: [long] },
  });
  getLogger("test").warn(`plain ${long}`);
  const [templated, plain] = records;
  const command = templated.properties.command as string;
  assert.ok(command.length < LOG_STRING_LIMIT + 40, `${command.length}`);
  assert.match(command, /\[truncated, 60000 chars\]$/);
  assert.match(String(templated.message[1]), /\[truncated, 60000 chars\]$/);
  const error = templated.properties.error as Error;
  assert.match(error.message, /\[truncated, 60004 chars\]$/);
  assert.ok((error.stack ?? "").length < 2100);
  const nested = templated.properties.nested as { list: string[] };
  assert.ok(nested.list[0].length < LOG_STRING_LIMIT + 40);
  assert.ok(String(plain.message[0]).length < LOG_STRING_LIMIT + 40);
  assert.ok(String(plain.rawMessage).length < LOG_STRING_LIMIT + 40);
  assert.equal(truncateText("short"), "short");
});

Deno.test("redactSecrets: objects deeper than depth are replaced, big arrays are cut", () => {
  const deep = { a: { b: { c: { password: "hunter22" } } } };
  assert.deepEqual(redactSecrets(deep, 2), { a: { b: "[…]" } });
  const list = redactSecrets(Array.from({ length: 150 }, (_, i) => i)) as unknown[];
  assert.equal(list.length, 101);
  assert.equal(list.at(-1), "… [50 more items]");
});

/** Inputs that make a backtracking URL/key regex quadratic or worse. */
function hostileInputs(size: number): Record<string, string> {
  const fill = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  return {
    "url-ish run": fill("a"),
    "scheme-like": fill("a+.-"),
    "many schemes": fill("a://"),
    "user no @": fill("http://u:p"),
    "colons": fill("a:"),
    "key names": fill("password="),
    "bearer words": fill("Bearer "),
    "sk run": "sk-" + fill("A"),
    "quote open": 'token: "' + fill("x"),
  };
}

Deno.test("redaction is linear: 1M-character hostile inputs take far less than a second", () => {
  registerSecret("registered-secret-for-the-timing-test");
  try {
    for (const [name, input] of Object.entries(hostileInputs(1_000_000))) {
      const start = performance.now();
      const out = redactText(input);
      const ms = performance.now() - start;
      assert.ok(out.length > 0);
      // Expected: a few ms (bench/log.ts). A backtracking regex needed minutes here.
      assert.ok(ms < 1000, `${name}: ${ms.toFixed(0)} ms for 1M chars`);
    }
  } finally {
    clearRegisteredSecrets();
  }
});
