/**
 * The audio source interface (AUDIO_SOURCE): PCM16LE mono 16 kHz frames of
 * CHUNK_DURATION_MS, plus the frame queue and counters the implementations
 * share.
 *
 * @module
 */
import type { AudioSourceKind } from "../config.ts";

/** Counters every source keeps. */
export interface AudioSourceStats {
  /** Frames delivered to the queue. */
  frames: number;
  /** Frames dropped because the consumer was too slow (live sources). */
  dropped: number;
  /** Input messages/chunks rejected as malformed (odd byte counts). */
  rejected: number;
  /** Capture restarts (alsa). */
  restarts: number;
}

/** A microphone-like stream of fixed-size PCM16LE mono 16 kHz frames. */
export interface AudioSource {
  /** Which implementation. */
  readonly kind: AudioSourceKind;
  /** Human description for logs ("file x.wav", "arecord -D hw:1"). */
  readonly label: string;
  /** Counters. */
  readonly stats: Readonly<AudioSourceStats>;
  /** Starts capturing (reads the file, spawns arecord, subscribes). Throws when it cannot. */
  open(): Promise<void>;
  /** The frames, in order, until the source ends or is closed. One consumer only. */
  frames(): AsyncIterable<Uint8Array>;
  /** Stops capturing and ends {@linkcode frames}. Idempotent. */
  close(): Promise<void>;
}

/** Called with a problem a live source recovers from (logged by the service). */
export type SourceErrorHandler = (error: Error) => void;

/**
 * A bounded FIFO of frames with one async consumer: `offer` drops the oldest frame when full
 * (live audio), `put` waits for room (file playback).
 */
export class FrameQueue implements AsyncIterable<Uint8Array> {
  readonly #capacity: number;
  readonly #items: Uint8Array[] = [];
  #ended = false;
  #wakeConsumer: (() => void) | undefined;
  #wakeProducer: (() => void) | undefined;
  /** Frames dropped by {@linkcode offer}. */
  dropped = 0;

  /**
   * Makes an empty queue.
   *
   * @param capacity frames kept at most.
   */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Adds a frame, dropping the oldest when full. Returns false when the queue has ended. */
  offer(frame: Uint8Array): boolean {
    if (this.#ended) return false;
    if (this.#items.length >= this.#capacity) {
      this.#items.shift();
      this.dropped++;
    }
    this.#items.push(frame);
    this.#wake();
    return true;
  }

  /** Adds a frame, waiting while full. Returns false when the queue has ended. */
  async put(frame: Uint8Array): Promise<boolean> {
    while (!this.#ended && this.#items.length >= this.#capacity) {
      await new Promise<void>((resolve) => this.#wakeProducer = resolve);
    }
    return this.offer(frame);
  }

  /** Ends the stream: the consumer gets what is queued, then stops. */
  end(): void {
    this.#ended = true;
    this.#wake();
    this.#wakeProducer?.();
  }

  /** Whether {@linkcode end} was called. */
  get ended(): boolean {
    return this.#ended;
  }

  #wake(): void {
    const wake = this.#wakeConsumer;
    this.#wakeConsumer = undefined;
    wake?.();
  }

  /**
   * Yields the queued frames in order, waiting for more, until the queue has ended and is
   * empty. One consumer only.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    while (true) {
      const next = this.#items.shift();
      if (next) {
        const producer = this.#wakeProducer;
        this.#wakeProducer = undefined;
        producer?.();
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => this.#wakeConsumer = resolve);
    }
  }
}

/** Zeroed counters for a new source. */
export function newStats(): AudioSourceStats {
  return { frames: 0, dropped: 0, rejected: 0, restarts: 0 };
}
