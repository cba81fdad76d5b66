/**
 * De-duplication of envelopes within a time window, with a bounded cache.
 *
 * Keys follow py-tars: `type|id|seq=N` when `data.seq` is an integer (stream chunks share
 * one id), else `type|id|hash=H` of the canonical (sorted-keys) JSON of `data`; never the
 * id alone, because a request, its stream chunks and its response share one id.
 *
 * @module
 */
import type { Envelope } from "../contracts/envelope.ts";

/** Serialises a JSON value with object keys sorted, so equal data gives equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  const obj = value as Record<string, unknown>;
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

/** A fast 53-bit string hash (two multiplicative 32-bit lanes), as a base-36 string. */
export function hash53(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/** The de-duplication key of an envelope (see the module doc). */
export function dedupeKey(envelope: Envelope): string {
  const seq = envelope.data.seq;
  if (typeof seq === "number" && Number.isInteger(seq)) {
    return `${envelope.type}|${envelope.id}|seq=${seq}`;
  }
  return `${envelope.type}|${envelope.id}|hash=${hash53(canonicalJson(envelope.data))}`;
}

/** Options of {@linkcode MessageDeduplicator}. */
export interface DeduplicatorOptions {
  /** How long a key is remembered after it was last seen, in ms (> 0). */
  ttlMs: number;
  /** Most keys kept; the least recently seen is evicted first (> 0). */
  maxEntries: number;
  /** Monotonic clock in ms; default `performance.now`. */
  now?: () => number;
}

/**
 * Remembers keys for a TTL; a key seen again within the TTL is a duplicate (and its TTL
 * restarts). Memory is bounded by `maxEntries`.
 */
export class MessageDeduplicator {
  readonly #ttl: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #seen = new Map<string, number>();

  /** Creates a deduplicator; throws on a non-positive TTL or size. */
  constructor(options: DeduplicatorOptions) {
    if (!(options.ttlMs > 0) || !(options.maxEntries > 0)) {
      throw new RangeError("MessageDeduplicator needs ttlMs > 0 and maxEntries > 0");
    }
    this.#ttl = options.ttlMs;
    this.#max = options.maxEntries;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.#seen.size;
  }

  /** Records `key` and says whether it was already seen within the TTL. */
  isDuplicate(key: string): boolean {
    const now = this.#now();
    for (const [oldKey, at] of this.#seen) {
      if (now - at <= this.#ttl) break;
      this.#seen.delete(oldKey);
    }
    const hit = this.#seen.has(key);
    this.#seen.delete(key);
    this.#seen.set(key, now);
    if (!hit && this.#seen.size > this.#max) {
      this.#seen.delete(this.#seen.keys().next().value as string);
    }
    return hit;
  }

  /** Forgets every key. */
  clear(): void {
    this.#seen.clear();
  }
}
