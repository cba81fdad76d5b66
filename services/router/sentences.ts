/**
 * Cuts a streamed LLM reply into sentences as the deltas arrive, the way py-tars' router
 * meant to: at boundary characters (`ROUTER_STREAM_BOUNDARY_CHARS`), with a hard maximum
 * for text without any, or (without `ROUTER_STREAM_BOUNDARY_ONLY`) merging sentences up to
 * a minimum and cutting boundary-less text at a maximum length. Unlike py-tars it never cuts
 * inside a token ("3.5", "e.g.x", "10:30"): a boundary counts when whitespace follows it, or
 * when it ends the text so far and is not right after a digit.
 *
 * @module
 */
import type { StreamSplitConfig } from "./config.ts";

/** Characters that may close a sentence after its boundary: quotes and brackets. */
const CLOSERS = new Set(['"', "'", "”", "’", ")", "]", "»"]);

function isSpace(char: string | undefined): boolean {
  return char !== undefined && /\s/.test(char);
}

function isDigit(char: string | undefined): boolean {
  return char !== undefined && char >= "0" && char <= "9";
}

/** Splits streamed text into speakable sentences. One instance per reply. */
export class SentenceSplitter {
  readonly #config: StreamSplitConfig;
  readonly #boundaries: Set<string>;
  #buffer = "";

  /** A splitter with the given rules. */
  constructor(config: StreamSplitConfig) {
    this.#config = config;
    this.#boundaries = new Set(config.boundaryChars);
  }

  /** Text received but not yet returned as a sentence. */
  get pending(): string {
    return this.#buffer;
  }

  /** Appends a delta and returns the sentences it completed (trimmed, non-empty). */
  push(delta: string): string[] {
    if (delta === "") return [];
    this.#buffer += delta;
    return this.#config.boundaryOnly ? this.#cutBoundaryOnly() : this.#cutMinMax();
  }

  /** Returns whatever is left (trimmed; `null` when nothing) and empties the buffer. */
  flush(): string | null {
    const rest = this.#buffer.trim();
    this.#buffer = "";
    return rest === "" ? null : rest;
  }

  /** End offsets (exclusive) of every sentence boundary in the buffer, in order. */
  #cuts(): number[] {
    const text = this.#buffer;
    const cuts: number[] = [];
    for (let i = 0; i < text.length; i++) {
      if (!this.#boundaries.has(text[i])) continue;
      let end = i + 1;
      while (end < text.length && (this.#boundaries.has(text[end]) || CLOSERS.has(text[end]))) {
        end++;
      }
      if (end === text.length) {
        if (!isDigit(text[i - 1])) cuts.push(end);
      } else if (isSpace(text[end])) {
        cuts.push(end);
      }
      i = end - 1;
    }
    return cuts;
  }

  #take(end: number): string | null {
    const sentence = this.#buffer.slice(0, end).trim();
    this.#buffer = this.#buffer.slice(end).replace(/^\s+/, "");
    return sentence === "" ? null : sentence;
  }

  /** Cuts at the last space before `limit` (or at `limit` when there is none). */
  #cutAtSpace(limit: number): string | null {
    const space = this.#buffer.lastIndexOf(" ", limit);
    return this.#take(space > 0 ? space : limit);
  }

  #cutBoundaryOnly(): string[] {
    const sentences: string[] = [];
    let start = 0;
    const cuts = this.#cuts();
    const text = this.#buffer;
    for (const end of cuts) {
      const sentence = text.slice(start, end).trim();
      if (sentence !== "") sentences.push(sentence);
      start = end;
    }
    this.#buffer = text.slice(start).replace(/^\s+/, "");
    while (this.#buffer.length > this.#config.hardMaxChars) {
      const cut = this.#cutAtSpace(this.#config.hardMaxChars);
      if (cut) sentences.push(cut);
    }
    return sentences;
  }

  #cutMinMax(): string[] {
    const sentences: string[] = [];
    const { minChars, maxChars } = this.#config;
    while (true) {
      const cuts = this.#cuts().filter((end) => end <= maxChars);
      const last = cuts.at(-1);
      if (last !== undefined && this.#buffer.slice(0, last).trim().length >= minChars) {
        const cut = this.#take(last);
        if (cut) sentences.push(cut);
        continue;
      }
      if (this.#buffer.length >= maxChars) {
        const cut = last !== undefined ? this.#take(last) : this.#cutAtSpace(maxChars);
        if (cut) sentences.push(cut);
        continue;
      }
      return sentences;
    }
  }
}
