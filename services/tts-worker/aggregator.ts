/**
 * Aggregation of tts/say sentences that share an utt_id (py-tars TTS_AGGREGATE): sentences
 * are collected until no new one arrived for the debounce time, or until a say with another
 * utt_id arrives, then handed over together. The debounce timer asks for
 * {@linkcode timerDelayFor} the setting, so the batch leaves when the setting says and not
 * the runtime's timer tick later (about 1.5 ms, all of it time the user waits for the answer).
 *
 * @module
 */
import { timerDelayFor } from "../../lib/async/mod.ts";

/** One batch of sentences of one utterance. */
export interface AggregatedSay<M> {
  /** The shared utt_id. */
  readonly uttId: string;
  /** The texts, in arrival order. */
  readonly texts: readonly string[];
  /** The metadata of the first say of the batch. */
  readonly meta: M;
}

/** Collects sentences per utt_id with a debounce. */
export class SayAggregator<M> {
  readonly #debounceMs: number;
  readonly #onFlush: (batch: AggregatedSay<M>) => void;
  #pending: { uttId: string; texts: string[]; meta: M } | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Builds the aggregator; `onFlush` receives every batch. */
  constructor(debounceMs: number, onFlush: (batch: AggregatedSay<M>) => void) {
    this.#debounceMs = debounceMs;
    this.#onFlush = onFlush;
  }

  /** The utt_id being collected, if any. */
  get pendingUttId(): string | null {
    return this.#pending?.uttId ?? null;
  }

  /** Adds a sentence; a pending batch of another utt_id is flushed first. */
  add(uttId: string, text: string, meta: M): void {
    if (this.#pending && this.#pending.uttId !== uttId) this.flush();
    if (!this.#pending) this.#pending = { uttId, texts: [], meta };
    this.#pending.texts.push(text);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.flush(), timerDelayFor(this.#debounceMs));
  }

  /** Hands the pending batch over now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const pending = this.#pending;
    this.#pending = null;
    if (pending) this.#onFlush(pending);
  }

  /** Drops the pending batch (a stop). Returns whether there was one. */
  clear(): boolean {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const had = this.#pending !== null;
    this.#pending = null;
    return had;
  }
}
