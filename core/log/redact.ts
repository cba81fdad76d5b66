/**
 * Secret redaction for log records and error messages.
 *
 * @module
 */

const SECRET_KEY = /pass(word|wd)?|secret|token|api[_-]?key|authorization|credential/i;
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*):[^/@\s]*@/gi;

/** Hides `user:password@` credentials inside any URL in `text`. */
export function redactText(text: string): string {
  return text.replace(URL_CREDENTIALS, "$1:***@");
}

/**
 * Returns a copy of `value` in which properties whose key looks secret (password, token,
 * secret, api key, authorization) are `***` and URL credentials in strings are hidden.
 * Objects are walked up to `depth` levels.
 */
export function redactSecrets(value: unknown, depth = 4): unknown {
  if (typeof value === "string") return redactText(value);
  if (depth <= 0 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) {
    const copy = new Error(redactText(value.message));
    copy.name = value.name;
    copy.stack = value.stack ? redactText(value.stack) : undefined;
    return copy;
  }
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth - 1));
  if (ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && v !== undefined && v !== null && v !== ""
      ? "***"
      : redactSecrets(v, depth - 1);
  }
  return out;
}
