/**
 * De-duplication of envelopes within a time window, with a bounded cache.
 *
 * Keys follow py-tars: `type|id|seq=N` when `data.seq` is an integer (stream chunks share
 * one id), else `type|id|hash=H` of `data` with its keys sorted ({@linkcode canonicalHash});
 * never the id alone, because a request, its stream chunks and its response share one id.
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
  const state = new HashState();
  for (let i = 0; i < text.length; i++) state.code(text.charCodeAt(i));
  return state.digest();
}

/**
 * A 53-bit hash of `value` as if of its {@linkcode canonicalJson}, computed in one walk without
 * building the text: equal data (whatever its key order) gives equal hashes. Strings are fed
 * with their length, numbers by their 64 bits, so `["a,b"]` and `["a","b"]` differ.
 */
export function canonicalHash(value: unknown): string {
  const state = new HashState();
  state.value(value);
  return state.digest();
}

const NUMBER_BITS = new Float64Array(1);
const NUMBER_WORDS = new Uint32Array(NUMBER_BITS.buffer);

/** Nesting levels hashed by recursion; deeper values go through an explicit stack. */
const MAX_RECURSION = 64;

/** An object key on {@linkcode HashState.deepValue}'s stack (hashed as text, not a value). */
class ObjectKey {
  constructor(readonly key: string) {}
}

/** The two multiplicative lanes of {@linkcode hash53}, fed piece by piece. */
class HashState {
  h1 = 0xdeadbeef;
  h2 = 0x41c6ce57;

  code(ch: number): void {
    this.h1 = Math.imul(this.h1 ^ ch, 2654435761);
    this.h2 = Math.imul(this.h2 ^ ch, 1597334677);
  }

  text(text: string): void {
    // Same steps as code() per character, on locals: property writes per character cost 4×.
    const length = text.length;
    let h1 = Math.imul(this.h1 ^ length, 2654435761);
    let h2 = Math.imul(this.h2 ^ length, 1597334677);
    for (let i = 0; i < length; i++) {
      const ch = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    this.h1 = h1;
    this.h2 = h2;
  }

  /**
   * Hashes `value` depth first. Recursion stops at {@linkcode MAX_RECURSION}: a deeper value
   * (a hostile 50 000-level payload) is hashed by {@linkcode HashState.deepValue}, the same
   * steps on an explicit stack, so no payload can overflow the call stack.
   */
  value(value: unknown, depth = 0): void {
    if (depth > MAX_RECURSION && value !== null && typeof value === "object") {
      this.deepValue(value);
      return;
    }
    switch (typeof value) {
      case "string":
        this.code(0x73); // s
        this.text(value);
        return;
      case "number":
        if (!Number.isFinite(value)) break; // null, as JSON.stringify writes it
        // Equal JSON text ⇔ equal number (−0 is written "0"): hash its 64 bits, no text.
        NUMBER_BITS[0] = value === 0 ? 0 : value;
        this.code(0x6e); // n
        this.code(NUMBER_WORDS[0]);
        this.code(NUMBER_WORDS[1]);
        return;
      case "boolean":
        this.code(value ? 0x74 : 0x66); // t / f
        return;
      case "object":
        break;
      default:
        break; // undefined: null, as in canonicalJson
    }
    if (value === null || typeof value !== "object") {
      this.code(0x30);
      return;
    }
    if (Array.isArray(value)) {
      this.code(0x5b); // [
      this.code(value.length);
      for (const item of value) this.value(item, depth + 1);
      return;
    }
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).sort();
    this.code(0x7b); // {
    this.code(keys.length);
    for (const key of keys) {
      this.text(key);
      this.value(obj[key], depth + 1);
    }
  }

  /** {@linkcode HashState.value} without recursion: the same steps in the same order. */
  deepValue(root: unknown): void {
    // Work items: a value to hash, or (wrapped) an object key to hash as text.
    const stack: unknown[] = [root];
    while (stack.length > 0) {
      const item = stack.pop();
      if (item instanceof ObjectKey) {
        this.text(item.key);
        continue;
      }
      if (item === null || typeof item !== "object") {
        this.value(item); // a scalar: no recursion
        continue;
      }
      if (Array.isArray(item)) {
        this.code(0x5b); // [
        this.code(item.length);
        for (let i = item.length - 1; i >= 0; i--) stack.push(item[i]);
        continue;
      }
      const obj = item as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      this.code(0x7b); // {
      this.code(keys.length);
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push(obj[keys[i]], new ObjectKey(keys[i]));
      }
    }
  }

  /** The 53-bit hash as a number (exact in a double). */
  digestNumber(): number {
    let { h1, h2 } = this;
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return 4294967296 * (2097151 & h2) + (h1 >>> 0);
  }

  digest(): string {
    return this.digestNumber().toString(36);
  }
}

/** The de-duplication key of an envelope (see the module doc). */
export function dedupeKey(envelope: Envelope): string {
  const seq = envelope.data.seq;
  if (typeof seq === "number" && Number.isInteger(seq)) {
    return `${envelope.type}|${envelope.id}|seq=${seq}`;
  }
  return `${envelope.type}|${envelope.id}|hash=${canonicalHash(envelope.data)}`;
}

/**
 * The de-duplication key of an envelope as one 53-bit number: a hash of exactly what
 * {@linkcode dedupeKey} spells out (type, id, and `seq` or the canonical data), so two
 * envelopes get equal numbers when they get equal keys. The client keys its cache with it: no
 * key text to build and a number to look up instead of a string. Two different keys share a
 * number with a probability of about n²/2⁵⁴ for n cached keys (below 10⁻⁶ at 100 000).
 */
export function dedupeHash(envelope: Envelope): number {
  const state = new HashState();
  state.text(envelope.type);
  state.text(envelope.id);
  const seq = envelope.data.seq;
  if (typeof seq === "number" && Number.isInteger(seq)) {
    state.code(0x71); // q: a stream chunk, keyed by its sequence number
    state.value(seq);
  } else {
    state.code(0x68); // h: keyed by the data
    state.value(envelope.data);
  }
  return state.digestNumber();
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
  /** Key → sequence number of its latest sighting (its live entry in the ring). */
  readonly #seen = new Map<string | number, number>();
  // Sightings in time order, oldest at #head; an entry whose sequence number is no longer the
  // key's latest is stale and skipped. A ring instead of Map iteration: deleting from the front
  // of a Map leaves tombstones that every later iteration walks over.
  #ringKeys: Array<string | number> = [];
  #ringTimes: number[] = [];
  #ringSeqs: number[] = [];
  #head = 0;
  #seq = 0;

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

  /**
   * Records `key` (a {@linkcode dedupeKey} string, or a {@linkcode dedupeHash} number) and says
   * whether it was already seen within the TTL.
   */
  isDuplicate(key: string | number): boolean {
    const now = this.#now();
    while (this.#head < this.#ringKeys.length && now - this.#ringTimes[this.#head] > this.#ttl) {
      this.#dropHead();
    }
    const hit = this.#seen.has(key); // a live entry lies at or after #head: within the TTL
    const seq = ++this.#seq;
    this.#seen.set(key, seq);
    this.#ringKeys.push(key);
    this.#ringTimes.push(now);
    this.#ringSeqs.push(seq);
    while (this.#seen.size > this.#max) this.#dropHead();
    this.#compact();
    return hit;
  }

  #dropHead(): void {
    const i = this.#head++;
    const key = this.#ringKeys[i];
    if (this.#seen.get(key) === this.#ringSeqs[i]) this.#seen.delete(key);
  }

  #compact(): void {
    const length = this.#ringKeys.length;
    if (length - this.#head > 2 * this.#max + 1024) {
      // Mostly stale entries (many hits on few keys): keep only the live ones.
      const keep: number[] = [];
      for (let i = this.#head; i < length; i++) {
        if (this.#seen.get(this.#ringKeys[i]) === this.#ringSeqs[i]) keep.push(i);
      }
      this.#ringKeys = keep.map((i) => this.#ringKeys[i]);
      this.#ringTimes = keep.map((i) => this.#ringTimes[i]);
      this.#ringSeqs = keep.map((i) => this.#ringSeqs[i]);
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > length) {
      this.#ringKeys = this.#ringKeys.slice(this.#head);
      this.#ringTimes = this.#ringTimes.slice(this.#head);
      this.#ringSeqs = this.#ringSeqs.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Forgets every key. */
  clear(): void {
    this.#seen.clear();
    this.#ringKeys = [];
    this.#ringTimes = [];
    this.#ringSeqs = [];
    this.#head = 0;
  }
}
