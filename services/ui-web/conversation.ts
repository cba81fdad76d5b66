/**
 * The conversation as the page shows it: user utterances (stt/final), assistant replies
 * assembled from llm/stream chunks and finished by llm/response, and what TTS was asked to
 * say. Every change yields the whole updated entry, so the browser only ever upserts entries
 * by key and a page opened mid-reply starts from the same text as one that saw every chunk.
 *
 * @module
 */

/** Who an entry is from. */
export type EntryKind = "user" | "assistant" | "tts";

/** One line of the conversation. */
export interface ConversationEntry {
  /** `<kind>:<id>`, unique; the browser upserts by it. */
  readonly key: string;
  /** Who it is from. */
  readonly kind: EntryKind;
  /** The correlation id (llm request id, transcript id, utterance id). */
  readonly id: string;
  /** The text so far. */
  readonly text: string;
  /** Envelope source of the message (`tars-stt`, `ui-web`, ...). */
  readonly source: string | null;
  /** Error text (an LLM error), shown plainly. */
  readonly error: string | null;
  /** Whether the entry is complete (a reply still streaming is not). */
  readonly done: boolean;
  /** When the entry started, epoch ms. */
  readonly ts: number;
}

interface MutableEntry {
  key: string;
  kind: EntryKind;
  id: string;
  text: string;
  source: string | null;
  error: string | null;
  done: boolean;
  ts: number;
  lastSeq: number;
}

/** Keeps the last `maxEntries` entries and applies messages to them. */
export class Conversation {
  readonly #max: number;
  readonly #now: () => number;
  readonly #entries: MutableEntry[] = [];

  /** Builds an empty conversation that keeps at most `maxEntries` entries. */
  constructor(maxEntries: number, now: () => number = Date.now) {
    this.#max = maxEntries;
    this.#now = now;
  }

  /** A finished utterance (stt/final). */
  userSaid(id: string, text: string, source: string | null): ConversationEntry {
    const entry = this.#upsert("user", id, source);
    entry.text = text;
    entry.done = true;
    return freeze(entry);
  }

  /**
   * A chunk of a streamed reply (llm/stream). Chunks with a `seq` at or below the last one
   * applied are repeats and ignored (`null`).
   */
  replyChunk(
    id: string,
    seq: number | null | undefined,
    delta: string | null | undefined,
    done: boolean,
    source: string | null,
  ): ConversationEntry | null {
    const entry = this.#upsert("assistant", id, source);
    if (typeof seq === "number") {
      if (seq <= entry.lastSeq) return null;
      entry.lastSeq = seq;
    }
    if (entry.done && !done) return null; // a late chunk after the final response
    entry.text += delta ?? "";
    if (done) entry.done = true;
    return freeze(entry);
  }

  /** The final reply or error of a request (llm/response); replaces the streamed text. */
  replyFinished(
    id: string,
    reply: string | null | undefined,
    error: string | null | undefined,
    source: string | null,
  ): ConversationEntry {
    const entry = this.#upsert("assistant", id, source);
    if (reply) entry.text = reply;
    entry.error = error ?? null;
    entry.done = true;
    return freeze(entry);
  }

  /**
   * Text sent to TTS (tts/say). The router speaks a reply sentence by sentence, each with the
   * reply's `utt_id`: the sentences of one id are joined, so the whole reply stays visible.
   */
  spoken(id: string, text: string, source: string | null): ConversationEntry {
    const entry = this.#upsert("tts", id, source);
    entry.text = entry.text ? `${entry.text} ${text}` : text;
    entry.done = true;
    return freeze(entry);
  }

  /** Every entry, oldest first. */
  entries(): ConversationEntry[] {
    return this.#entries.map(freeze);
  }

  #upsert(kind: EntryKind, id: string, source: string | null): MutableEntry {
    const key = `${kind}:${id}`;
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      if (this.#entries[i].key === key) return this.#entries[i];
    }
    const entry: MutableEntry = {
      key,
      kind,
      id,
      text: "",
      source,
      error: null,
      done: false,
      ts: this.#now(),
      lastSeq: -Infinity,
    };
    this.#entries.push(entry);
    while (this.#entries.length > this.#max) this.#entries.shift();
    return entry;
  }
}

function freeze(entry: MutableEntry): ConversationEntry {
  const { lastSeq: _lastSeq, ...rest } = entry;
  return Object.freeze(rest);
}
