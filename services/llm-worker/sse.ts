/**
 * An incremental decoder of server-sent events (the `text/event-stream` format of the
 * WHATWG HTML standard, as OpenAI-compatible servers stream chat completions), with a size
 * limit: bytes go in as they arrive, in chunks cut anywhere, and complete events come out.
 *
 * Lines end with LF, CRLF or CR (a CRLF split between two chunks is one line end). A line
 * starting with `:` is a comment (keep-alive) and is skipped. `data:` lines of one event are
 * joined with LF; `event:` names the event; `id:`, `retry:` and unknown fields are ignored.
 * A blank line dispatches the event; an event without `data` is dropped, and so is an event
 * the stream ended in the middle of (the standard's rule).
 *
 * A line longer than `maxEventBytes` bytes, or the data of one event longer than that many
 * characters, throws {@linkcode SseLimitError} as soon as the limit is passed: a broken or hostile server cannot
 * make the reader buffer without bound.
 *
 * @module
 */

/** One dispatched event. */
export interface SseEvent {
  /** The `event:` field; `"message"` when absent. */
  readonly event: string;
  /** The `data:` lines joined with LF. */
  readonly data: string;
}

/** A line or an event passed the decoder's size limit. */
export class SseLimitError extends Error {
  /** The limit that was passed, bytes. */
  readonly limitBytes: number;

  /** Creates the error. */
  constructor(limitBytes: number) {
    super(`a server-sent event is longer than ${limitBytes} bytes`);
    this.name = "SseLimitError";
    this.limitBytes = limitBytes;
  }
}

const LF = 0x0a;
const CR = 0x0d;

/** Decodes a byte stream of server-sent events incrementally. */
export class SseDecoder {
  readonly #maxEventBytes: number;
  readonly #text = new TextDecoder();
  /** Bytes of the line not ended yet. */
  #partial: Uint8Array[] = [];
  #partialBytes = 0;
  /** The previous chunk ended with CR: an LF starting the next one belongs to it. */
  #afterCr = false;
  #event = "";
  #data: string[] = [];
  #dataBytes = 0;

  /** Creates a decoder rejecting any line or event over `maxEventBytes` bytes. */
  constructor(options: { readonly maxEventBytes: number }) {
    this.#maxEventBytes = options.maxEventBytes;
  }

  /**
   * Feeds the next bytes; returns the events they completed, in order (often none).
   * Throws {@linkcode SseLimitError} when a line or an event gets too long.
   */
  push(chunk: Uint8Array): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    if (this.#afterCr && chunk.length > 0) {
      this.#afterCr = false;
      if (chunk[0] === LF) start = 1;
    }
    for (let i = start; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte !== LF && byte !== CR) continue;
      this.#line(this.#takeLine(chunk, start, i), events);
      if (byte === CR) {
        if (i + 1 === chunk.length) this.#afterCr = true;
        else if (chunk[i + 1] === LF) i++;
      }
      start = i + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#partialBytes += rest.length;
      if (this.#partialBytes > this.#maxEventBytes) throw new SseLimitError(this.#maxEventBytes);
      this.#partial.push(rest);
    }
    return events;
  }

  /** The bytes of a line ending at `end` of `chunk` (with any earlier part), as text. */
  #takeLine(chunk: Uint8Array, start: number, end: number): string {
    const length = this.#partialBytes + end - start;
    if (this.#partial.length === 0 && length <= this.#maxEventBytes) {
      return this.#text.decode(chunk.subarray(start, end));
    }
    if (length > this.#maxEventBytes) throw new SseLimitError(this.#maxEventBytes);
    const line = new Uint8Array(length);
    let offset = 0;
    for (const part of this.#partial) {
      line.set(part, offset);
      offset += part.length;
    }
    line.set(chunk.subarray(start, end), offset);
    this.#partial = [];
    this.#partialBytes = 0;
    return this.#text.decode(line);
  }

  #line(line: string, events: SseEvent[]): void {
    if (line.length === 0) {
      if (this.#data.length > 0) {
        events.push({ event: this.#event || "message", data: this.#data.join("\n") });
      }
      this.#event = "";
      this.#data = [];
      this.#dataBytes = 0;
      return;
    }
    if (line.charCodeAt(0) === 0x3a /* ":" comment */) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    if (field === "data") {
      this.#dataBytes += value.length + 1;
      if (this.#dataBytes > this.#maxEventBytes) throw new SseLimitError(this.#maxEventBytes);
      this.#data.push(value);
    } else if (field === "event") {
      this.#event = value;
    }
  }
}
