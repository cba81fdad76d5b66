/**
 * Logging for every service: JSON lines when stderr is not a terminal (journald, compose,
 * CI), text otherwise (coloured on a terminal), level from `LOG_LEVEL`, secrets always
 * redacted.
 *
 * @module
 */
import { formatJsonLine } from "./format_json.ts";
import { prettyFormatter } from "./format_pretty.ts";
import {
  configureLogger,
  getLogger as getCategoryLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
  type Sink,
} from "./logger.ts";
import { LOG_STACK_LIMIT, LOG_STRING_LIMIT, redactForLog, redactSecrets } from "./redact.ts";

export type { Logger, LogLevel, LogRecord, Sink };

/** Output format: `auto` = JSON lines unless stderr is a terminal. */
export type LogFormat = "auto" | "json" | "pretty";

/** Root category of every logger of this project. */
export const ROOT_CATEGORY = "tars";

/** Options of {@linkcode setupLogging}. */
export interface LoggingOptions {
  /** Lowest level written; default from `LOG_LEVEL`, else `info`. */
  level?: LogLevel;
  /** Output format; default from `LOG_FORMAT` (`auto`, `json`, `pretty`/`text`), else `auto`. */
  format?: LogFormat;
  /** Where records go; default a stderr writer. Tests pass their own sink. */
  sink?: Sink;
  /** Environment to read `LOG_LEVEL` and `LOG_FORMAT` from; default the process environment. */
  env?: Readonly<Record<string, string | undefined>>;
}

const LEVEL_WORDS: Record<string, LogLevel> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  information: "info",
  warn: "warning",
  warning: "warning",
  error: "error",
  critical: "fatal",
  fatal: "fatal",
};

/**
 * Parses a `LOG_LEVEL` value (`DEBUG`, `info`, `WARN`, `warning`, `error`, ... any case).
 * Returns `undefined` for unknown words.
 */
export function parseLogLevel(value: string | undefined): LogLevel | undefined {
  if (value === undefined) return undefined;
  return LEVEL_WORDS[value.trim().toLowerCase()];
}

const encoder = new TextEncoder();

function stderrSink(format: "json" | "pretty"): Sink {
  const formatter = format === "json"
    ? formatJsonLine
    : prettyFormatter({ colors: Deno.stderr.isTerminal() && !Deno.noColor });
  return (record: LogRecord) => {
    Deno.stderr.writeSync(
      encoder.encode(formatter({ ...record, message: inlineStrings(record.message) })),
    );
  };
}

/**
 * Folds the string values of a rendered message into its text, so that a person reads
 * `Serving http://127.0.0.1:8080/stream`, not `Serving http://"127.0.0.1":8080/stream` (the
 * formatters quote string values). Other values (numbers, objects, errors) stay values. The
 * structured `properties` keep every value as it was.
 */
function inlineStrings(message: readonly unknown[]): unknown[] {
  const out: unknown[] = [message[0] ?? ""];
  for (let i = 1; i < message.length; i += 2) {
    const value = message[i];
    const text = String(message[i + 1] ?? "");
    if (typeof value === "string") out[out.length - 1] += value + text;
    else out.push(value, text);
  }
  return out;
}

const LOG_LIMITS = { maxString: LOG_STRING_LIMIT, maxStack: LOG_STACK_LIMIT } as const;

/**
 * Wraps a sink so that secrets never reach it (secret-looking properties, URL passwords,
 * key-shaped tokens, registered secrets: see `redactSecrets`) and every string value is cut
 * to {@linkcode LOG_STRING_LIMIT} characters (error stacks to {@linkcode LOG_STACK_LIMIT}),
 * with the original length noted. Its cost is bounded per value, whatever the input size.
 */
export function redactingSink(sink: Sink): Sink {
  return (record: LogRecord) => {
    sink({
      ...record,
      message: record.message.map((part) => redactSecrets(part, 4, LOG_LIMITS)),
      rawMessage: redactForLog(record.rawMessage),
      properties: redactSecrets(record.properties, 4, LOG_LIMITS) as Record<string, unknown>,
    });
  };
}

const FORMAT_WORDS: Record<string, LogFormat> = {
  auto: "auto",
  json: "json",
  pretty: "pretty",
  text: "pretty",
};

function formatFromEnv(env: LoggingOptions["env"]): LogFormat {
  const raw = env ? env.LOG_FORMAT : Deno.env.get("LOG_FORMAT");
  if (raw === undefined || raw === "") return "auto";
  const format = FORMAT_WORDS[raw.trim().toLowerCase()];
  if (format) return format;
  console.error(`LOG_FORMAT=${JSON.stringify(raw)} is not auto, json, pretty or text; using auto`);
  return "auto";
}

/**
 * Configures logging for the whole process (call once, at start; calling again replaces
 * the configuration). Every logger under `tars` writes through one redacting sink.
 */
export function setupLogging(options: LoggingOptions = {}): void {
  let level = options.level;
  if (level === undefined) {
    const fromEnv = options.env ? options.env.LOG_LEVEL : Deno.env.get("LOG_LEVEL");
    level = parseLogLevel(fromEnv);
    if (fromEnv && level === undefined) {
      console.error(
        `LOG_LEVEL=${JSON.stringify(fromEnv)} is not a level ` +
          "(trace, debug, info, warning, error, fatal); using info",
      );
    }
  }
  const format = options.format ?? formatFromEnv(options.env);
  const resolved = format === "auto" ? (Deno.stderr.isTerminal() ? "pretty" : "json") : format;
  configureLogger(redactingSink(options.sink ?? stderrSink(resolved)), level ?? "info");
}

/**
 * A logger under the project's root category, e.g. `getLogger("mqtt")` → `tars.mqtt`.
 * It writes nothing until {@linkcode setupLogging} ran.
 */
export function getLogger(...category: string[]): Logger {
  return getCategoryLogger([ROOT_CATEGORY, ...category]);
}
