/**
 * Secret redaction and size limits for log records and error messages.
 *
 * Everything here runs on untrusted text (MQTT payloads, provider error bodies) for every log
 * record, so it is a single forward scan, linear in the input: no backtracking regular
 * expression ever sees the text. What it hides:
 *
 * - the password of `scheme://user:password@host` URLs;
 * - the token after `Bearer` / `Basic`;
 * - the value after a secret-looking name in `name=value`, `name: value` and JSON
 *   `"name": "value"` (`api_key`, `password`, `token`, `secret`, `authorization`, ...);
 * - well-known API key shapes (`sk-...`, `ghp_...`, `xoxb-...`, `AKIA...`, `AIza...`,
 *   `hf_...`, `glpat-...`, JWTs);
 * - every value registered with {@linkcode registerSecret} (configured keys, tokens and
 *   passwords), wherever it appears.
 *
 * @module
 */

/** Longest string value a log record keeps (longer ones are cut and their length noted). */
export const LOG_STRING_LIMIT = 512;
/** Longest error stack a log record keeps. */
export const LOG_STACK_LIMIT = 2048;
/** Registered secrets shorter than this are not redacted by value (they would hide words). */
export const MIN_SECRET_LENGTH = 6;

const MASK = "***";
const MAX_SECRETS = 64;
const MAX_SECRET_LENGTH = 4096;
/** Array items and object keys a redacted copy keeps at most. */
const MAX_ITEMS = 100;

const secrets = new Set<string>();

/**
 * Registers a secret (an API key, token or password read from the configuration): from now on
 * every occurrence of it in a log record or in {@linkcode redactText} output is `***`. Values
 * shorter than {@linkcode MIN_SECRET_LENGTH} characters are ignored (only the key/URL rules
 * hide them); at most 64 secrets are kept (the oldest is forgotten first).
 */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value !== "string") return;
  const secret = value.trim();
  if (secret.length < MIN_SECRET_LENGTH || secret.length > MAX_SECRET_LENGTH) return;
  secrets.delete(secret);
  secrets.add(secret);
  if (secrets.size > MAX_SECRETS) secrets.delete(secrets.values().next().value as string);
}

/** Forgets every registered secret (tests). */
export function clearRegisteredSecrets(): void {
  secrets.clear();
}

// ------------------------------------------------------------------ character classes

/** `[A-Za-z0-9_-]`: characters of words, key names and API keys. */
function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 ||
    c === 45;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
}

function isQuote(c: number): boolean {
  return c === 34 || c === 39 || c === 96;
}

/** Ends an unquoted value: whitespace, quotes and `& , ; ) ] } < >`. */
function endsValue(c: number): boolean {
  return isSpace(c) || isQuote(c) || c === 38 || c === 44 || c === 59 || c === 41 ||
    c === 93 || c === 125 || c === 60 || c === 62;
}

const SLASH = 47;
const AT = 64;
const COLON = 58;
const EQUALS = 61;

// ------------------------------------------------------------------ key names

const SECRET_WORDS = new Set([
  "password",
  "passwd",
  "pwd",
  "pass",
  "passphrase",
  "secret",
  "token",
  "apikey",
  "authorization",
  "credential",
  "credentials",
  "cookie",
]);
const KEY_QUALIFIERS = new Set(["api", "access", "secret", "private", "auth", "signing"]);
const MAX_KEY_NAME = 64;
const SECRET_TAILS = [...SECRET_WORDS, "key"];
const LONGEST_TAIL = Math.max(...SECRET_TAILS.map((w) => w.length));

/** Cheap pre-check of {@linkcode isSecretName} for the scanner: does the word end like one? */
function mayBeSecretName(text: string, start: number, end: number): boolean {
  if (end - start < 3 || end - start > MAX_KEY_NAME) return false;
  const last = text.charCodeAt(end - 1) | 0x20; // lower case
  // last letters of the secret words: d s e t n y l
  if (
    last !== 100 && last !== 115 && last !== 101 && last !== 116 && last !== 110 &&
    last !== 121 && last !== 108
  ) {
    return false;
  }
  const tail = text.slice(Math.max(start, end - LONGEST_TAIL), end).toLowerCase();
  return SECRET_TAILS.some((word) => tail.endsWith(word));
}

/**
 * Whether a property or variable name names a secret: its last word (camelCase, snake_case,
 * kebab-case) is `password`, `token`, `secret`, `authorization`, `credentials`, ... or it
 * ends in `api key`, `access key`, `private key`. `maxTokens` and `key` alone are not.
 */
export function isSecretName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_KEY_NAME) return false;
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/)
    .filter((w) => w !== "");
  const last = words.at(-1);
  if (last === undefined) return false;
  if (SECRET_WORDS.has(last)) return true;
  return last === "key" && words.length > 1 && KEY_QUALIFIERS.has(words[words.length - 2]);
}

// ------------------------------------------------------------------ token shapes

/** Prefixes of well-known API keys and the characters that must follow at least. */
const KEY_PREFIXES: ReadonlyArray<readonly [string, number]> = [
  ["sk-", 16], // OpenAI, Anthropic (sk-ant-...), many OpenAI-compatible providers
  ["pk-", 16],
  ["rk-", 16],
  ["ghp_", 16], // GitHub
  ["gho_", 16],
  ["ghs_", 16],
  ["github_pat_", 16],
  ["glpat-", 16], // GitLab
  ["xoxb-", 10], // Slack
  ["xoxp-", 10],
  ["xoxa-", 10],
  ["AKIA", 12], // AWS access key id
  ["AIza", 20], // Google
  ["hf_", 16], // Hugging Face
  ["gsk_", 16], // Groq
  ["eyJ", 16], // JWT (each base64 part that starts like a JSON object)
];

const PREFIXES_BY_FIRST = new Map<number, Array<readonly [string, number]>>();
for (const entry of KEY_PREFIXES) {
  const first = entry[0].charCodeAt(0);
  PREFIXES_BY_FIRST.set(first, [...(PREFIXES_BY_FIRST.get(first) ?? []), entry]);
}

/** The length of the key prefix `word` starts with, or -1 when it is no key-shaped token. */
function keyPrefixLength(text: string, start: number, end: number): number {
  if (end - start < 14) return -1;
  const candidates = PREFIXES_BY_FIRST.get(text.charCodeAt(start));
  if (!candidates) return -1;
  for (const [prefix, minRest] of candidates) {
    if (end - start >= prefix.length + minRest && text.startsWith(prefix, start)) {
      return prefix.length;
    }
  }
  return -1;
}

function equalsIgnoreCase(text: string, start: number, end: number, word: string): boolean {
  return end - start === word.length && text.slice(start, end).toLowerCase() === word;
}

// ------------------------------------------------------------------ the scanner

/**
 * Hides secrets inside free text: URL passwords, `Bearer` tokens, values of secret-looking
 * `name=value` pairs, key-shaped tokens and registered secrets (see the module doc). Linear
 * in the length of `text`.
 */
export function redactText(text: string): string {
  let input = text;
  for (const secret of secrets) {
    if (input.includes(secret)) input = input.split(secret).join(MASK);
  }
  return scan(input);
}

function scan(text: string): string {
  const n = text.length;
  let out = "";
  let copied = 0; // text[copied, i) is still to be copied to `out`
  const mask = (from: number, to: number) => {
    out += text.slice(copied, from) + MASK;
    copied = to;
  };
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    // scheme://user:password@host → scheme://user:***@host
    if (c === COLON && text.charCodeAt(i + 1) === SLASH && text.charCodeAt(i + 2) === SLASH) {
      let j = i + 3;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === SLASH || d === AT || d === COLON || isSpace(d)) break;
        j++;
      }
      if (j < n && text.charCodeAt(j) === COLON) {
        let k = j + 1;
        while (k < n) {
          const d = text.charCodeAt(k);
          if (d === SLASH || d === AT || isSpace(d)) break;
          k++;
        }
        if (k < n && text.charCodeAt(k) === AT) {
          mask(j + 1, k);
          i = k;
          continue;
        }
      }
      i += 3; // the scans above stop at the next "/", so no text is scanned twice here
      continue;
    }
    if (!isWordChar(c)) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < n && isWordChar(text.charCodeAt(end))) end++;
    // A word: an API key by its shape?
    const prefix = keyPrefixLength(text, i, end);
    if (prefix > 0) {
      mask(i + prefix, end);
      i = end;
      continue;
    }
    // "Bearer <token>" / "Basic <credentials>" (8+ characters: "the bearer said" stays)
    if (
      end - i <= 6 &&
      (equalsIgnoreCase(text, i, end, "bearer") || equalsIgnoreCase(text, i, end, "basic"))
    ) {
      let j = end;
      while (j < n && j - end < 4 && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
      if (j > end) {
        let k = j;
        while (k < n && !endsValue(text.charCodeAt(k))) k++;
        if (k - j >= 8) {
          mask(j, k);
          i = k;
          continue;
        }
      }
      i = end;
      continue;
    }
    // secret_name = value, secret_name: value, "secret_name": "value"
    if (mayBeSecretName(text, i, end) && isSecretName(text.slice(i, end))) {
      const value = valueAfterName(text, end);
      if (value) {
        mask(value[0], value[1]);
        i = value[1];
        continue;
      }
    }
    i = end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * After a secret name ending at `at`: `[quote] [spaces] (= | :) [spaces] [quote] value`.
 * Returns the value's range, or null when no non-empty value follows (or it is a
 * `Bearer`/`Basic` scheme word, which the scanner handles next). Looks ahead a bounded
 * number of characters before the value, so the scan stays linear.
 */
function valueAfterName(text: string, at: number): [number, number] | null {
  const n = text.length;
  let j = at;
  if (j < n && isQuote(text.charCodeAt(j))) j++;
  for (let s = 0; s < 4 && j < n && isSpace(text.charCodeAt(j)); s++) j++;
  const op = text.charCodeAt(j);
  if (op !== EQUALS && op !== COLON) return null;
  if (op === COLON && text.charCodeAt(j + 1) === SLASH) return null; // a URL scheme
  j++;
  for (let s = 0; s < 4 && j < n && isSpace(text.charCodeAt(j)); s++) j++;
  if (j >= n) return null;
  const quote = text.charCodeAt(j);
  if (isQuote(quote)) {
    const close = text.indexOf(text[j], j + 1);
    const stop = close < 0 ? n : close;
    return stop > j + 1 ? [j + 1, stop] : null;
  }
  let k = j;
  while (k < n && !endsValue(text.charCodeAt(k))) k++;
  if (k === j) return null;
  if (
    k - j <= 6 &&
    (equalsIgnoreCase(text, j, k, "bearer") || equalsIgnoreCase(text, j, k, "basic"))
  ) {
    return null;
  }
  if (equalsIgnoreCase(text, j, k, "null") || equalsIgnoreCase(text, j, k, "undefined")) {
    return null;
  }
  return [j, k];
}

// ------------------------------------------------------------------ size limits

/**
 * Cuts `text` to `limit` characters, noting the original length:
 * `aaaa… [truncated, 60000 chars]`. Shorter text is returned as is.
 */
export function truncateText(text: string, limit = LOG_STRING_LIMIT): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}… [truncated, ${text.length} chars]`;
}

/**
 * Redacts then truncates one string for a log record. Only a bounded prefix is scanned: a
 * secret that straddles the cut is still hidden, since the prefix scanned is longer than the
 * part kept by more than the longest registered secret.
 */
export function redactForLog(text: string, limit = LOG_STRING_LIMIT): string {
  if (text.length <= limit) return redactText(text);
  const head = redactText(text.slice(0, limit + MAX_SECRET_LENGTH));
  return `${head.slice(0, limit)}… [truncated, ${text.length} chars]`;
}

// ------------------------------------------------------------------ values

/** Options of {@linkcode redactSecrets}. */
export interface RedactOptions {
  /** Longest string kept (longer ones are cut, with their length noted); default: no limit. */
  readonly maxString?: number;
  /** Longest error stack kept; default: `maxString`. */
  readonly maxStack?: number;
}

/**
 * Returns a copy of `value` in which properties whose name looks secret (see
 * {@linkcode isSecretName}) are `***` and secrets inside strings are hidden
 * ({@linkcode redactText}). Objects are walked up to `depth` levels (deeper objects become
 * `"[…]"`); arrays and objects keep their first 100 entries.
 */
export function redactSecrets(value: unknown, depth = 4, options: RedactOptions = {}): unknown {
  const text = (s: string, limit = options.maxString) =>
    limit === undefined ? redactText(s) : redactForLog(s, limit);
  if (typeof value === "string") return text(value);
  if (value === null || typeof value !== "object") return value;
  if (ArrayBuffer.isView(value) || value instanceof Date) return value;
  if (depth <= 0) return "[…]";
  if (value instanceof Error) {
    const copy = new Error(text(value.message));
    copy.name = value.name;
    copy.stack = value.stack ? text(value.stack, options.maxStack ?? options.maxString) : undefined;
    if (value.cause !== undefined) copy.cause = redactSecrets(value.cause, depth - 1, options);
    const own = copy as unknown as Record<string, unknown>;
    for (const [key, v] of Object.entries(value).slice(0, MAX_ITEMS)) {
      if (key === "message" || key === "stack" || key === "name" || key === "cause") continue;
      own[key] = isSecretName(key) && v !== undefined && v !== null && v !== ""
        ? MASK
        : redactSecrets(v, depth - 1, options);
    }
    return copy;
  }
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => redactSecrets(v, depth - 1, options));
    if (value.length > MAX_ITEMS) items.push(`… [${value.length - MAX_ITEMS} more items]`);
    return items;
  }
  const out: Record<string, unknown> = {};
  let count = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (++count > MAX_ITEMS) {
      out["…"] = "[more keys]";
      break;
    }
    const v = (value as Record<string, unknown>)[key];
    out[key] = isSecretName(key) && v !== undefined && v !== null && v !== ""
      ? MASK
      : redactSecrets(v, depth - 1, options);
  }
  return out;
}
