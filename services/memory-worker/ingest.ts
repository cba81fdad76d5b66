/**
 * Turns bus messages into memories: a transcript (stt/final) is one user memory, a fact
 * (memory/store) one fact, and the sentences of one spoken reply (tts/say sharing an
 * `utt_id`) are joined into one assistant memory once the reply goes quiet, another reply
 * starts, or the service stops. Wake acknowledgements and system announcements are not
 * memories.
 *
 * @module
 */
import {
  type FinalTranscript,
  type MemoryStore,
  TEXT_LIMITS,
  type TtsSay,
} from "../../core/mod.ts";
import type { MemoryDocument, MemoryKind } from "./store.ts";

/** A memory about to be written. */
export interface NewMemory {
  /** Who it came from. */
  readonly kind: MemoryKind;
  /** Its text. */
  readonly text: string;
  /** The document returned by queries. */
  readonly document: MemoryDocument;
  /** When it was said, epoch ms. */
  readonly at: number;
}

/**
 * Arrival times in epoch ms, strictly increasing: two messages in the same millisecond
 * still get distinct times, so arrival order is kept (queries order memories by it).
 */
export class ArrivalClock {
  #last: number;
  readonly #now: () => number;

  /** Starts after `last` (the latest time stored). */
  constructor(last = 0, now: () => number = Date.now) {
    this.#last = last;
    this.#now = now;
  }

  /** The next arrival time. */
  next(): number {
    this.#last = Math.max(this.#now(), this.#last + 1);
    return this.#last;
  }
}

/** The memory of a transcript, or `null` for an empty or partial one. */
export function transcriptMemory(final: FinalTranscript, at = Date.now()): NewMemory | null {
  const text = final.text.trim();
  if (!text || final.is_final === false) return null;
  const document: MemoryDocument = { role: "user" };
  if (final.lang) document.lang = final.lang;
  if (typeof final.confidence === "number") document.confidence = final.confidence;
  if (final.utt_id) document.utt_id = final.utt_id;
  if (typeof final.ts === "number") document.ts = final.ts;
  return { kind: "user", text, document, at };
}

/** The memory of a memory/store fact. */
export function factMemory(fact: MemoryStore, at = Date.now()): NewMemory {
  const document: MemoryDocument = { role: "fact" };
  if (fact.source) document.source = fact.source;
  return { kind: "fact", text: fact.text.trim(), document, at };
}

/** Options of {@linkcode ReplyCollector}. */
export interface ReplyCollectorOptions {
  /** A reply is complete after this long without a new sentence, ms. */
  readonly idleMs: number;
  /** Receives each complete reply. */
  readonly onReply: (memory: NewMemory) => void;
}

/**
 * Characters of one collected reply at most (the contract's limit for what an LLM writes): a
 * longer reply is stored as several memories, so that each fits a memory/results document.
 */
export const MAX_REPLY_CHARS = TEXT_LIMITS.longText;

interface Pending {
  readonly sentences: string[];
  chars: number;
  readonly first: TtsSay;
  readonly at: number;
  timer: ReturnType<typeof setTimeout>;
}

/** Collects the streamed sentences of each reply into one memory. */
export class ReplyCollector {
  readonly #options: ReplyCollectorOptions;
  readonly #pending = new Map<string, Pending>();

  /** Creates the collector. */
  constructor(options: ReplyCollectorOptions) {
    this.#options = options;
  }

  /** Replies still collecting. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Takes one tts/say. Returns why it was skipped (`wake_ack`, `system_announce`, `empty`)
   * or `null` when it was taken.
   */
  add(say: TtsSay, at = Date.now()): string | null {
    if (say.wake_ack) return "wake_ack";
    if (say.system_announce) return "system_announce";
    const text = say.text.trim();
    if (!text) return "empty";
    const uttId = say.utt_id?.trim();
    if (!uttId) {
      this.#options.onReply(replyMemory([text], say, at));
      return null;
    }
    // A new reply means the others are over (one reply is spoken at a time).
    for (const id of [...this.#pending.keys()]) if (id !== uttId) this.#flush(id);
    let pending = this.#pending.get(uttId);
    if (pending && pending.chars + 1 + text.length > MAX_REPLY_CHARS) {
      this.#flush(uttId);
      pending = undefined;
    }
    if (pending) {
      clearTimeout(pending.timer);
      pending.sentences.push(text);
      pending.chars += 1 + text.length;
      pending.timer = setTimeout(() => this.#flush(uttId), this.#options.idleMs);
    } else {
      this.#pending.set(uttId, {
        sentences: [text],
        chars: text.length,
        first: say,
        at,
        timer: setTimeout(() => this.#flush(uttId), this.#options.idleMs),
      });
    }
    return null;
  }

  /** Completes every reply now (at shutdown). */
  flushAll(): void {
    for (const id of [...this.#pending.keys()]) this.#flush(id);
  }

  #flush(uttId: string): void {
    const pending = this.#pending.get(uttId);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending.delete(uttId);
    this.#options.onReply(replyMemory(pending.sentences, pending.first, pending.at));
  }
}

function replyMemory(sentences: readonly string[], first: TtsSay, at: number): NewMemory {
  const document: MemoryDocument = { role: "assistant" };
  if (first.utt_id) document.utt_id = first.utt_id;
  if (typeof first.stt_ts === "number") document.stt_ts = first.stt_ts;
  if (sentences.length > 1) document.sentences = sentences.length;
  return { kind: "assistant", text: sentences.join(" "), document, at };
}
