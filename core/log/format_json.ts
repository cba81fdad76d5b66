/**
 * JSON lines, byte for byte as LogTape's default `getJsonLinesFormatter()` wrote them:
 *
 * ```json
 * {"@timestamp":"2023-11-14T22:13:20.000Z","level":"INFO","message":"Hello","logger":"tars.mqtt","properties":{"key":"value"}}
 * ```
 *
 * Values inside the message are JSON (`"text"`, `3`, `{"a":1}`; an error is `{}` plus its own
 * fields), properties are JSON with errors as `{name, message, stack, cause, ...}`, bigints as
 * decimal strings, cycles as `"[Circular]"`, and DEL and C1 control characters escaped.
 *
 * @module
 */
import type { LogRecord } from "./logger.ts";

/** Formats one record as a JSON line (ending in `\n`). */
export function formatJsonLine(record: LogRecord): string {
  const level = record.level === "warning" ? "WARN" : record.level.toUpperCase();
  const message = stringifyField("message", renderMessage(record.message));
  const properties = stringifyField("properties", record.properties);
  let line = `{"@timestamp":${JSON.stringify(new Date(record.timestamp).toISOString())},"level":${
    JSON.stringify(level)
  }`;
  if (message !== undefined) line += `,"message":${message}`;
  line += `,"logger":${JSON.stringify(record.category.join("."))}`;
  if (properties !== undefined) line += `,"properties":${properties}`;
  return `${line}}`.replace(/[\u007f-\u009f]/g, escapeControl) + "\n";
}

function escapeControl(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

function renderMessage(message: readonly unknown[]): unknown {
  if (message.length === 1) return message[0];
  let rendered = String(message[0]);
  for (let i = 1; i < message.length; i++) {
    rendered += i & 1 ? stringifyMessageValue(message[i]) : message[i];
  }
  return rendered;
}

function stringifyMessageValue(value: unknown): string | undefined {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return JSON.stringify(value);
  }
  try {
    return JSON.stringify(value, bigintReplacer);
  } catch {
    return JSON.stringify(value, circularReplacer(bigintReplacer));
  }
}

function stringifyField(key: string, value: unknown): string | undefined {
  if (
    value != null &&
    (typeof value === "object" || typeof value === "function" || typeof value === "bigint")
  ) {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") value = toJSON.call(value, key);
  }
  return JSON.stringify(jsonReplacer(key, value), circularReplacer(jsonReplacer));
}

type Replacer = (this: unknown, key: string, value: unknown) => unknown;

function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** Bigints as strings; errors as plain objects with their name, message, stack and fields. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (!(value instanceof Error)) return value;
  const serialized: Record<string, unknown> = { name: value.name, message: value.message };
  if (typeof value.stack === "string") serialized.stack = value.stack;
  if (value.cause !== undefined) serialized.cause = value.cause;
  if (value instanceof AggregateError) serialized.errors = value.errors;
  for (const key of Object.keys(value)) {
    if (!(key in serialized)) serialized[key] = (value as unknown as Record<string, unknown>)[key];
  }
  return serialized;
}

/** A replacer (for one `JSON.stringify` call) that writes `"[Circular]"` for a cycle. */
function circularReplacer(inner: Replacer): Replacer {
  const sources: unknown[] = [];
  const results: unknown[] = [];
  return function (this: unknown, key: string, value: unknown): unknown {
    const result = inner.call(this, key, value);
    if (typeof result !== "object" || result === null) return result;
    while (results.length > 0 && results[results.length - 1] !== this) {
      results.pop();
      sources.pop();
    }
    for (let i = 0; i < results.length; i++) {
      if (results[i] === result || sources[i] === value) return "[Circular]";
    }
    sources.push(value);
    results.push(result);
    return result;
  };
}
