/**
 * Typed environment parsing with zod that reports every bad variable at once.
 *
 * Each variable is described by a field schema from {@linkcode envVar}; {@linkcode parseEnv}
 * validates a whole env map against an object of them and throws one
 * {@linkcode ConfigError} naming every bad variable, its value and what is allowed.
 * An empty string counts as unset. Booleans accept `1/true/yes/on` and `0/false/no/off`
 * (any case); anything else is an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { envVar, parseEnv } from "./env.ts";
 * const config = parseEnv({
 *   UI_PORT: envVar.int(5010, { min: 1, max: 65535 }),
 *   UI_DEBUG: envVar.bool(false),
 * }, { UI_PORT: "8080" });
 * assert.deepEqual(config, { UI_PORT: 8080, UI_DEBUG: false });
 * ```
 *
 * @module
 */
import { z } from "zod";
import { isSecretName, registerSecret } from "../log/redact.ts";

/** One bad environment variable. */
export interface ConfigIssue {
  /** Variable name, e.g. `MQTT_KEEPALIVE`. */
  readonly variable: string;
  /** The value as given, with any password redacted. */
  readonly value: string;
  /** What is allowed, e.g. `an integer from 1 to 3600`. */
  readonly expected: string;
}

/** Thrown when environment variables are invalid; its message lists all of them. */
export class ConfigError extends Error {
  /** Every bad variable. */
  readonly issues: readonly ConfigIssue[];

  /** Builds the error; `context` names what was being configured. */
  constructor(issues: readonly ConfigIssue[], context = "configuration") {
    const lines = issues.map((i) =>
      `  ${i.variable}=${JSON.stringify(i.value)}: expected ${i.expected}`
    );
    const count = `${issues.length} problem${issues.length === 1 ? "" : "s"}`;
    super(`Invalid ${context} (${count}); fix these environment variables:\n${lines.join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["0", "false", "no", "off"]);

/** Parses a boolean word (`1/true/yes/on`, `0/false/no/off`); `undefined` for anything else. */
export function parseBool(value: string): boolean | undefined {
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

/** Inclusive numeric bounds. */
export interface NumberRange {
  /** Smallest allowed value. */
  min?: number;
  /** Largest allowed value. */
  max?: number;
}

function describeRange(kind: string, range: NumberRange): string {
  const { min, max } = range;
  if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
  if (min !== undefined) return `${kind} >= ${min}`;
  if (max !== undefined) return `${kind} <= ${max}`;
  return kind;
}

/** Treats `""` (and whitespace only) as unset. */
function unsetIfEmpty(value: unknown): unknown {
  return typeof value === "string" && value.trim() === "" ? undefined : value;
}

/** A field schema: a string (or unset) in, a typed value out. */
export type EnvField<T> = z.ZodType<T, string | undefined>;

function field<T>(
  fallback: T,
  expected: string,
  convert: (text: string) => T | undefined,
): EnvField<T> {
  return z.preprocess(
    unsetIfEmpty,
    z.string().optional().transform((text, ctx): T => {
      if (text === undefined) return fallback;
      const value = convert(text.trim());
      if (value === undefined) {
        ctx.addIssue({ code: "custom", message: expected });
        return z.NEVER;
      }
      return value;
    }),
  ) as unknown as EnvField<T>;
}

function number(fallback: number, range: NumberRange, integer: boolean): EnvField<number> {
  const expected = describeRange(integer ? "an integer" : "a number", range);
  return field(fallback, expected, (text) => {
    const value = Number(text);
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) return undefined;
    if (range.min !== undefined && value < range.min) return undefined;
    if (range.max !== undefined && value > range.max) return undefined;
    return value;
  });
}

/** Field schemas for {@linkcode parseEnv}, one per kind of variable. */
export const envVar = {
  /** A string with a default. */
  string(fallback: string): EnvField<string> {
    return field(fallback, "a string", (text) => text);
  },
  /** A string, `undefined` when unset. */
  optionalString(): EnvField<string | undefined> {
    return field<string | undefined>(undefined, "a string", (text) => text);
  },
  /** A boolean: `1/true/yes/on` or `0/false/no/off`. */
  bool(fallback: boolean): EnvField<boolean> {
    return field(fallback, "a boolean: 1/true/yes/on or 0/false/no/off", parseBool);
  },
  /** An integer within `range`. */
  int(fallback: number, range: NumberRange = {}): EnvField<number> {
    return number(fallback, range, true);
  },
  /** A finite number within `range`. */
  float(fallback: number, range: NumberRange = {}): EnvField<number> {
    return number(fallback, range, false);
  },
  /** One of `choices`, case-insensitive; yields the choice as written in `choices`. */
  choice<const T extends string>(fallback: T, choices: readonly T[]): EnvField<T> {
    return field(
      fallback,
      `one of ${choices.join(", ")}`,
      (text) => choices.find((c) => c.toLowerCase() === text.toLowerCase()),
    );
  },
  /** A comma or `|` separated list of non-empty trimmed strings. */
  list(fallback: readonly string[], separator: RegExp = /[|,]/): EnvField<string[]> {
    return field(
      [...fallback],
      "a list",
      (text) => text.split(separator).map((s) => s.trim()).filter((s) => s !== ""),
    );
  },
} as const;

/** Options of {@linkcode parseEnv}. */
export interface ParseEnvOptions {
  /** Older names read when a variable is unset, e.g. `{ ROUTER_TTS_VOICE: ["PIPER_VOICE"] }`. */
  aliases?: Readonly<Record<string, readonly string[]>>;
  /** Names what is configured, for the error message. */
  context?: string;
  /** Rewrites a value before it appears in an error (to hide secrets). */
  redact?: (variable: string, value: string) => string;
}

/** Typed values of a shape of {@linkcode EnvField}s. */
export type EnvValues<S extends Record<string, EnvField<unknown>>> = {
  [K in keyof S]: z.output<S[K]>;
};

/** Result of {@linkcode readEnv}: the values (defaults where a value was bad) and the problems. */
export interface EnvReadResult<S extends Record<string, EnvField<unknown>>> {
  /** Every field; a bad variable yields its default so later checks can still run. */
  readonly values: EnvValues<S>;
  /** One entry per bad variable. */
  readonly issues: ConfigIssue[];
}

/**
 * Reads `env` against `shape` without throwing: bad variables are collected in `issues`
 * and take their default in `values`. Use it to add cross-field checks before reporting.
 */
export function readEnv<const S extends Record<string, EnvField<unknown>>>(
  shape: S,
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
  options: ParseEnvOptions = {},
): EnvReadResult<S> {
  // Values of secret-looking variables never appear in an error, whatever `redact` says.
  const redact = (variable: string, value: string) =>
    isSecretName(variable) && value !== ""
      ? "***"
      : options.redact
      ? options.redact(variable, value)
      : value;
  const values: Record<string, unknown> = {};
  const issues: ConfigIssue[] = [];
  for (const [key, schema] of Object.entries(shape)) {
    let variable = key;
    let raw: string | undefined;
    for (const name of [key, ...(options.aliases?.[key] ?? [])]) {
      const value = env[name];
      if (value !== undefined && value.trim() !== "") {
        variable = name;
        raw = value;
        break;
      }
    }
    // API keys, tokens, passwords: hidden from every log record of this process from now on.
    if (raw !== undefined && isSecretName(variable)) registerSecret(raw);
    const result = schema.safeParse(raw);
    if (result.success) {
      values[key] = result.data;
    } else {
      values[key] = schema.parse(undefined);
      const expected = result.error.issues.map((i) => i.message).join("; ");
      issues.push({ variable, value: redact(variable, raw ?? ""), expected });
    }
  }
  return { values: values as EnvValues<S>, issues };
}

/**
 * Validates `env` against `shape` and returns the typed values. Throws one
 * {@linkcode ConfigError} listing every invalid variable.
 */
export function parseEnv<const S extends Record<string, EnvField<unknown>>>(
  shape: S,
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
  options: ParseEnvOptions = {},
): EnvValues<S> {
  const { values, issues } = readEnv(shape, env, options);
  if (issues.length > 0) throw new ConfigError(issues, options.context);
  return values;
}
