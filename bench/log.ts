/**
 * `deno task bench log`: the cost of redacting log text (`core/log/redact.ts`) against the
 * input length, for ordinary text and for inputs that make a backtracking regex quadratic
 * (a long run of URL-ish characters, many `scheme://user:pass` fragments without `@`).
 *
 * For each input shape and length (1k, 10k, 100k, 1M characters) it reports the median time of
 * `redactText` and its cost per character; linear means the per-character cost stays flat, so
 * the last column (cost per character relative to the 1k input) stays near 1. The log pipeline
 * (`redactingSink`) is measured too: it only scans a bounded prefix, so its cost is flat in the
 * input length. For comparison, the regex the module used before (issue #15) is timed on the
 * small inputs only: it grows with the square of the length.
 *
 * Runs in a few seconds, in-process: `deno run -A bench/log.ts`.
 *
 * @module
 */
import { type LogRecord, redactingSink, redactText } from "../core/mod.ts";

const SIZES = [1_000, 10_000, 100_000, 1_000_000];
/** The pre-#15 regex, for the comparison rows only. */
const OLD_URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*):[^/@\s]*@/gi;

function fill(unit: string, size: number): string {
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

const SHAPES: Record<string, (size: number) => string> = {
  "log text": (n) => fill("Rejected a message on movement/test: command wave; ", n),
  "url-ish run (aaaa…)": (n) => fill("a", n),
  "http://u:p without @": (n) => fill("http://u:p", n),
  "api_key=… pairs": (n) => fill("api_key=abcdefgh ", n),
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Median ms of `f` over enough repetitions to take ~`budgetMs` (at least 3). */
function time(f: () => unknown, budgetMs = 200): number {
  f(); // warm-up
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 3 || (performance.now() - start < budgetMs && samples.length < 200)) {
    const t = performance.now();
    f();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

/** One measured row. */
export interface RedactRow {
  /** Input shape. */
  shape: string;
  /** What ran: `redactText`, `redactingSink` or `old regex`. */
  what: string;
  /** Input length, characters. */
  chars: number;
  /** Median time, ms. */
  ms: number;
  /** Cost per character, ns. */
  nsPerChar: number;
  /** `nsPerChar` relative to the same shape's 1k input (≈1 when linear). */
  ratio: number;
}

/** Measures every shape and size. */
export function measure(): RedactRow[] {
  const rows: RedactRow[] = [];
  let sink = 0;
  const logSink = redactingSink((record: LogRecord) => {
    sink += (record.properties.value as string).length;
  });
  for (const [shape, make] of Object.entries(SHAPES)) {
    const runs: Array<[string, (s: string) => unknown, number[]]> = [
      ["redactText", (s) => redactText(s).length, SIZES],
      ["redactingSink", (s) =>
        logSink({
          category: ["tars", "bench"],
          level: "warning",
          message: ["value ", s],
          rawMessage: "value {value}",
          timestamp: Date.now(),
          properties: { value: s },
        }), SIZES],
      ["old regex", (s) => s.replace(OLD_URL_CREDENTIALS, "$1:***@").length, [1_000, 10_000]],
    ];
    for (const [what, f, sizes] of runs) {
      let base = 0;
      for (const chars of sizes) {
        const input = make(chars);
        const ms = time(() => f(input));
        const nsPerChar = (ms * 1e6) / chars;
        if (base === 0) base = nsPerChar;
        rows.push({ shape, what, chars, ms, nsPerChar, ratio: nsPerChar / base });
      }
    }
  }
  if (sink < 0) console.log(sink);
  return rows;
}

/** Runs the benchmark and returns its Markdown section. */
export function run(): Promise<string> {
  const rows = measure();
  const lines = [
    "Redaction cost by input length (median; ratio = cost per char / cost per char at 1k).",
    "",
    "| input | function | chars | ms | ns/char | ratio |",
    "| --- | --- | ---: | ---: | ---: | ---: |",
    ...rows.map((r) =>
      `| ${r.shape} | ${r.what} | ${r.chars} | ${r.ms.toFixed(3)} | ${r.nsPerChar.toFixed(1)} | ${
        r.ratio.toFixed(2)
      } |`
    ),
  ];
  return Promise.resolve(lines.join("\n"));
}

if (import.meta.main) console.log(await run());
