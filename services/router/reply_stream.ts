/**
 * One streamed LLM reply: puts llm/stream chunks back in `seq` order (duplicates dropped,
 * early chunks held until the gap is filled), feeds them to a {@linkcode SentenceSplitter},
 * remembers what was spoken and reconciles the final llm/response with it.
 *
 * @module
 */
import type { StreamSplitConfig } from "./config.ts";
import { SentenceSplitter } from "./sentences.ts";

/** A stream chunk as the router uses it (the fields of `LLMStreamDelta`). */
export interface StreamChunk {
  /** 1-based chunk number; the done marker is n+1. Chunks without one are taken as they come. */
  readonly seq?: number | null;
  /** Text of the chunk. */
  readonly delta?: string | null;
  /** Marks the end of the stream. */
  readonly done?: boolean;
}

/** What one chunk did. */
export interface ChunkResult {
  /** Sentences completed by this chunk (and any held chunks it released), in order. */
  readonly sentences: string[];
  /** The chunk's seq was already taken: ignored. */
  readonly duplicate: boolean;
  /** The chunk came before an earlier one and is held until the gap is filled. */
  readonly held: boolean;
  /** The stream is complete (done marker and every chunk before it taken). */
  readonly completed: boolean;
}

/** How the final reply relates to what was already spoken. */
export type Reconciliation =
  | { readonly kind: "skip" }
  | { readonly kind: "residual"; readonly text: string }
  | { readonly kind: "full"; readonly text: string };

function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/**
 * Compares the final reply with the text already spoken (whitespace-tolerant prefix match),
 * as py-tars' router intends: everything spoken → skip; spoken is a prefix → speak the
 * residual; anything else (a desync) → speak the full reply.
 */
export function reconcile(reply: string, spoken: string): Reconciliation {
  const full = collapse(reply);
  const said = collapse(spoken);
  if (full === "" || full === said) return { kind: "skip" };
  if (said === "") return { kind: "full", text: full };
  if (full.startsWith(said)) {
    const residual = full.slice(said.length).trim();
    return residual === "" ? { kind: "skip" } : { kind: "residual", text: residual };
  }
  return { kind: "full", text: full };
}

/** The stream of one reply. */
export class ReplyStream {
  readonly #splitter: SentenceSplitter;
  readonly #held = new Map<number, StreamChunk>();
  readonly #spoken: string[] = [];
  #nextSeq = 1;
  #taken = 0;
  #doneSeq: number | null = null;
  #completed = false;

  /** A stream split by `config`. */
  constructor(config: StreamSplitConfig) {
    this.#splitter = new SentenceSplitter(config);
  }

  /** Whether the stream is complete. */
  get completed(): boolean {
    return this.#completed;
  }

  /** The sentences returned so far, in order. */
  get spoken(): readonly string[] {
    return this.#spoken;
  }

  /** The sentences returned so far, joined with spaces. */
  get spokenText(): string {
    return this.#spoken.join(" ");
  }

  /** Takes one chunk. */
  accept(chunk: StreamChunk): ChunkResult {
    const none = { sentences: [], duplicate: false, held: false };
    if (this.#completed) return { ...none, duplicate: true, completed: true };
    const seq = chunk.seq ?? null;
    if (seq === null) {
      const sentences = this.#take(chunk);
      if (chunk.done) sentences.push(...this.#finish());
      return { ...none, sentences, completed: this.#completed };
    }
    if (this.#taken === 0 && seq === 0 && this.#nextSeq === 1) this.#nextSeq = 0;
    if (
      seq < this.#nextSeq || this.#held.has(seq) || (this.#doneSeq !== null && seq > this.#doneSeq)
    ) {
      return { ...none, duplicate: true, completed: false };
    }
    if (chunk.done) this.#doneSeq = seq;
    if (seq > this.#nextSeq) {
      this.#held.set(seq, chunk);
      return { ...none, held: true, completed: false };
    }
    const sentences = this.#take(chunk);
    this.#nextSeq++;
    while (this.#held.has(this.#nextSeq)) {
      const next = this.#held.get(this.#nextSeq)!;
      this.#held.delete(this.#nextSeq);
      sentences.push(...this.#take(next));
      this.#nextSeq++;
    }
    if (this.#doneSeq !== null && this.#nextSeq > this.#doneSeq) sentences.push(...this.#finish());
    return { ...none, sentences, completed: this.#completed };
  }

  /**
   * Ends the stream now: held chunks are taken in order (gaps skipped) and the rest of the
   * text is returned as a last sentence. Returns the sentences this produced.
   */
  finish(): string[] {
    if (this.#completed) return [];
    const sentences: string[] = [];
    for (const seq of [...this.#held.keys()].sort((a, b) => a - b)) {
      sentences.push(...this.#take(this.#held.get(seq)!));
    }
    this.#held.clear();
    sentences.push(...this.#finish());
    return sentences;
  }

  /** Marks the stream complete without speaking what is left (barge-in, final reply). */
  abandon(): void {
    this.#held.clear();
    this.#splitter.flush();
    this.#completed = true;
  }

  #take(chunk: StreamChunk): string[] {
    this.#taken++;
    const sentences = chunk.delta ? this.#splitter.push(chunk.delta) : [];
    this.#spoken.push(...sentences);
    return sentences;
  }

  #finish(): string[] {
    this.#completed = true;
    const rest = this.#splitter.flush();
    if (rest === null) return [];
    this.#spoken.push(rest);
    return [rest];
  }
}
