/**
 * The project's own small logger: loggers by category, six levels, message templates
 * (`"Connected to {url}"` + a properties object) and one process-wide sink. Records have the
 * shape LogTape gave them (this replaced `@logtape/logtape`, of which only this part was used).
 *
 * A logger only holds its category: the sink and the lowest level are looked up on every call,
 * so loggers taken at module load write once {@linkcode configureLogger} ran. A sink that
 * throws loses its record, nothing more: the failure is reported on stderr (at most once a
 * minute, with the count of failures since), never logged through the sink again.
 *
 * @module
 */
import { RateLimitedLog } from "./rate_limited.ts";

/** Severity of a record, lowest first: `trace`, `debug`, `info`, `warning`, `error`, `fatal`. */
export type LogLevel = "trace" | "debug" | "info" | "warning" | "error" | "fatal";

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = {
  trace: 0,
  debug: 1,
  info: 2,
  warning: 3,
  error: 4,
  fatal: 5,
};

/** One log record, as a sink receives it. */
export interface LogRecord {
  /** Category of the logger, root first: `["tars", "mqtt"]`. */
  readonly category: readonly string[];
  /** Severity. */
  readonly level: LogLevel;
  /**
   * The rendered message: text and values alternating, always text first and last
   * (`["Connected to ", "mqtt://h:1883", ""]`).
   */
  readonly message: readonly unknown[];
  /** The template as written: `"Connected to {url}"`. */
  readonly rawMessage: string;
  /** When it was logged, milliseconds since the epoch. */
  readonly timestamp: number;
  /** The properties passed with the message. */
  readonly properties: Record<string, unknown>;
}

/** Receives every record at or above the configured level. */
export type Sink = (record: LogRecord) => void;

/**
 * Writes records of one category. A message is a template: `{key}` is replaced by
 * `properties[key]` (`{a.b}` reads a nested property, `{*}` all properties, `{{` and `}}`
 * are literal braces); the properties also travel with the record as they are.
 */
export interface Logger {
  /** Category, root first. */
  readonly category: readonly string[];
  /** A logger of the sub-category `[...category, subcategory]`. */
  getChild(subcategory: string): Logger;
  /** Logs at `trace`. */
  trace(message: string, properties?: Record<string, unknown>): void;
  /** Logs at `debug`. */
  debug(message: string, properties?: Record<string, unknown>): void;
  /** Logs at `info`. */
  info(message: string, properties?: Record<string, unknown>): void;
  /** Logs at `warning`. */
  warn(message: string, properties?: Record<string, unknown>): void;
  /** Logs at `warning` (same as {@linkcode Logger.warn}). */
  warning(message: string, properties?: Record<string, unknown>): void;
  /** Logs at `error`. */
  error(message: string, properties?: Record<string, unknown>): void;
  /** Logs at `fatal`. */
  fatal(message: string, properties?: Record<string, unknown>): void;
}

interface Configuration {
  readonly sink: Sink;
  readonly rank: number;
}

let configuration: Configuration | null = null;
let dispatching = false;
const sinkFailures = new RateLimitedLog(60_000, 1);

/**
 * Sends every record of level `lowestLevel` or above, of every logger, to `sink`;
 * replaces the previous configuration. `null` turns logging off.
 */
export function configureLogger(sink: Sink | null, lowestLevel: LogLevel = "info"): void {
  configuration = sink ? { sink, rank: LEVEL_RANK[lowestLevel] } : null;
}

/** The logger of `category` (root first). Cheap: it holds only its category. */
export function getLogger(category: readonly string[]): Logger {
  return new CategoryLogger(category);
}

class CategoryLogger implements Logger {
  readonly category: readonly string[];

  constructor(category: readonly string[]) {
    this.category = category;
  }

  getChild(subcategory: string): Logger {
    return new CategoryLogger([...this.category, subcategory]);
  }

  trace(message: string, properties?: Record<string, unknown>): void {
    log(this.category, "trace", message, properties);
  }
  debug(message: string, properties?: Record<string, unknown>): void {
    log(this.category, "debug", message, properties);
  }
  info(message: string, properties?: Record<string, unknown>): void {
    log(this.category, "info", message, properties);
  }
  warn(message: string, properties?: Record<string, unknown>): void {
    log(this.category, "warning", message, properties);
  }
  warning(message: string, properties?: Record<string, unknown>): void {
    log(this.category, "warning", message, properties);
  }
  error(message: string, properties?: Record<string, unknown>): void {
    log(this.category, "error", message, properties);
  }
  fatal(message: string, properties?: Record<string, unknown>): void {
    log(this.category, "fatal", message, properties);
  }
}

function log(
  category: readonly string[],
  level: LogLevel,
  rawMessage: string,
  properties: Record<string, unknown> | undefined,
): void {
  const config = configuration;
  if (config === null || LEVEL_RANK[level] < config.rank) return;
  // A sink that logs would call itself without end: records logged from inside a sink are dropped.
  if (dispatching) return;
  const props = properties ? { ...properties } : {};
  const record: LogRecord = {
    category,
    level,
    message: parseMessageTemplate(rawMessage, props),
    rawMessage,
    timestamp: Date.now(),
    properties: props,
  };
  dispatching = true;
  try {
    config.sink(record);
  } catch (error) {
    reportSinkFailure(error);
  } finally {
    dispatching = false;
  }
}

function reportSinkFailure(error: unknown): void {
  sinkFailures.maybe("sink", (suppressed) => {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const more = suppressed > 0 ? ` (${suppressed} more failures since the last report)` : "";
    try {
      Deno.stderr.writeSync(
        new TextEncoder().encode(
          `tars.log: a log record was lost, its sink failed: ${reason}${more}\n`,
        ),
      );
    } catch {
      // stderr itself is gone: nothing left to tell.
    }
  });
}

// ------------------------------------------------------------------ message templates

/**
 * Splits a template into text and values, as LogTape did: `{key}` (spaces around the key are
 * ignored), `{a.b}` for a nested own property, `{*}` for all properties; `{{` and `}}` are
 * literal braces; a `{` without a closing `}` stays text. Unknown keys give `undefined`.
 */
export function parseMessageTemplate(
  template: string,
  properties: Record<string, unknown>,
): unknown[] {
  if (!template.includes("{")) return [template];
  const message: unknown[] = [];
  const length = template.length;
  let start = 0;
  for (let i = 0; i < length; i++) {
    const char = template[i];
    if (char === "{") {
      if (template[i + 1] === "{") {
        i++;
        continue;
      }
      const close = template.indexOf("}", i + 1);
      if (close === -1) continue;
      message.push(unescapeBraces(template.slice(start, i)));
      message.push(lookUp(properties, template.slice(i + 1, close)));
      i = close;
      start = i + 1;
    } else if (char === "}" && template[i + 1] === "}") {
      i++;
    }
  }
  message.push(unescapeBraces(template.slice(start)));
  return message;
}

function unescapeBraces(text: string): string {
  return text.replaceAll("{{", "{").replaceAll("}}", "}");
}

function lookUp(properties: Record<string, unknown>, key: string): unknown {
  const trimmed = key.trim();
  if (trimmed === "*") {
    return key in properties ? properties[key] : "*" in properties ? properties["*"] : properties;
  }
  const value = key !== trimmed && !(key in properties) ? properties[trimmed] : properties[key];
  if (value !== undefined || !(trimmed.includes(".") || trimmed.includes("?."))) return value;
  let current: unknown = properties;
  for (const segment of trimmed.split(/\??\./)) {
    if (
      current === null || typeof current !== "object" || segment === "" ||
      segment === "__proto__" || segment === "prototype" || segment === "constructor" ||
      !Object.hasOwn(current, segment)
    ) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
