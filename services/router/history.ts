/**
 * The bounded conversation history sent with every llm/request: user turns and the
 * assistant's replies (fully streamed ones included, which py-tars forgot), newest last,
 * at most `maxMessages` of them (py-tars' list grew without bound).
 *
 * @module
 */
import type { ConversationMessage } from "../../core/mod.ts";

interface Entry {
  readonly requestId: string;
  readonly role: "user" | "assistant";
  content: string;
  readonly timestamp: number;
}

/** User and assistant turns keyed by request id. */
export class ConversationHistory {
  readonly #max: number;
  #entries: Entry[] = [];

  /** A history that keeps at most `maxMessages` messages (0 = none). */
  constructor(maxMessages: number) {
    this.#max = maxMessages;
  }

  /** Number of messages kept. */
  get size(): number {
    return this.#entries.length;
  }

  /** Records what the user asked in request `requestId`. */
  addUser(requestId: string, content: string, epochSeconds: number): void {
    this.#push({ requestId, role: "user", content, timestamp: epochSeconds });
  }

  /** Records (or replaces) the assistant's reply to request `requestId`. */
  setAssistant(requestId: string, content: string, epochSeconds: number): void {
    const text = content.trim();
    if (text === "") return;
    const existing = this.#entries.find((e) => e.requestId === requestId && e.role === "assistant");
    if (existing) existing.content = text;
    else this.#push({ requestId, role: "assistant", content: text, timestamp: epochSeconds });
  }

  /** The messages, oldest first, as llm/request carries them. */
  messages(): ConversationMessage[] {
    return this.#entries.map(({ role, content, timestamp }) => ({ role, content, timestamp }));
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries = [];
  }

  #push(entry: Entry): void {
    if (this.#max === 0) return;
    this.#entries.push(entry);
    if (this.#entries.length > this.#max) this.#entries.splice(0, this.#entries.length - this.#max);
  }
}
