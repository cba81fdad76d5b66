/**
 * Text lines for a person at a terminal, as LogTape's `getAnsiColorFormatter({ timestamp:
 * "time" })` wrote them: `22:13:20.123 INF tars·mqtt: Connected to mqtt://h:1883`. The time is
 * UTC; values inside the message are shown by `Deno.inspect`; control characters of the text
 * are escaped (`\x1b`, `\x85`) except newlines, tabs and colour sequences.
 *
 * @module
 */
import type { LogLevel, LogRecord } from "./logger.ts";

const LEVEL_ABBREVIATIONS: Readonly<Record<LogLevel, string>> = {
  trace: "TRC",
  debug: "DBG",
  info: "INF",
  warning: "WRN",
  error: "ERR",
  fatal: "FTL",
};

const RESET = "\x1b[0m";
const DIM = "\x1b[2m";
const BOLD = "\x1b[1m";
const LEVEL_COLORS: Readonly<Record<LogLevel, string>> = {
  trace: "",
  debug: "\x1b[34m",
  info: "\x1b[32m",
  warning: "\x1b[33m",
  error: "\x1b[31m",
  fatal: "\x1b[35m",
};

/** Options of {@linkcode prettyFormatter}. */
export interface PrettyOptions {
  /** ANSI colours (time dim, level bold and coloured, category dim, values coloured). */
  readonly colors: boolean;
}

/** A formatter of one record as a text line (ending in `\n`). */
export function prettyFormatter(options: PrettyOptions): (record: LogRecord) => string {
  const { colors } = options;
  const inspectOptions = { colors, strAbbreviateSize: Infinity, iterableLimit: Infinity };
  return (record) => {
    let message = "";
    for (let i = 0; i < record.message.length; i++) {
      const part = record.message[i];
      message += i % 2 === 0 ? sanitize(String(part), true) : Deno.inspect(part, inspectOptions);
    }
    const time = formatTime(record.timestamp);
    const level = LEVEL_ABBREVIATIONS[record.level];
    const category = record.category.map((c) => sanitize(c, false)).join("·");
    if (!colors) return `${time} ${level} ${category}: ${message}\n`;
    return `${DIM}${time}${RESET} ${BOLD}${LEVEL_COLORS[record.level]}${level}${RESET} ` +
      `${DIM}${category}:${RESET} ${message}\n`;
  };
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** `HH:MM:SS.mmm`, UTC. */
function formatTime(timestamp: number): string {
  const d = new Date(timestamp);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${
    pad(d.getUTCMilliseconds(), 3)
  }`;
}

function escapeChar(code: number): string {
  if (code === 10) return "\\n";
  if (code === 13) return "\\r";
  if (code === 27) return "\\x1b";
  return `\\x${code.toString(16).padStart(2, "0")}`;
}

/** C0 controls other than tab, newline and carriage return; DEL; C1 controls. */
function isDangerous(code: number): boolean {
  if (code === 9 || code === 10 || code === 13) return false;
  return code < 32 || code === 127 || (code >= 128 && code <= 159);
}

/** What follows the ESC of a colour sequence: `[1;32m`. */
const SGR_AFTER_ESC = /\[([0-9;:]*)m/y;

/**
 * Escapes control characters so text cannot move the cursor or clear the terminal; colour
 * (SGR) sequences are kept when `keepColors`, and one left open is closed at the end.
 */
function sanitize(text: string, keepColors: boolean): string {
  let needsWork = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 27 || isDangerous(code)) {
      needsWork = true;
      break;
    }
  }
  if (!needsWork) return text;
  let out = "";
  let open = false;
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 27 && keepColors) {
      SGR_AFTER_ESC.lastIndex = i + 1;
      const sgr = SGR_AFTER_ESC.exec(text);
      if (sgr) {
        out += text[i] + sgr[0];
        open = !/^0*$/.test(sgr[1].replace(/[;:]/g, ""));
        i += 1 + sgr[0].length;
        continue;
      }
    }
    out += code === 27 || isDangerous(code) ? escapeChar(code) : text[i];
    i++;
  }
  return open ? out + RESET : out;
}
