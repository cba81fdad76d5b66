/**
 * The latest-frame hub: capture publishes into it, every consumer (HTTP viewers, the MQTT
 * publisher, capture requests) reads the newest frame from it. It holds exactly one frame;
 * a consumer that is slower than the camera simply gets the newest frame when it asks again,
 * skipping the ones in between, so memory does not grow with viewers or their speed.
 *
 * @module
 */
import type { JpegImage } from "./jpeg.ts";

/** A captured frame as consumers see it. */
export interface Frame extends JpegImage {
  /** 1, 2, 3, ... in capture order (across capture restarts). */
  readonly seq: number;
  /** When the frame was complete, epoch milliseconds. */
  readonly capturedAt: number;
}

/**
 * Holds the newest frame and wakes consumers waiting for a newer one.
 *
 * @example
 * ```ts ignore
 * const hub = new FrameHub();
 * let seq = 0;
 * for (let frame = await hub.next(seq); frame; frame = await hub.next(seq)) seq = frame.seq;
 * ```
 */
export class FrameHub {
  #latest: Frame | null = null;
  #seq = 0;
  #closed = false;
  #newFrame = Promise.withResolvers<void>();
  #waiting = 0;

  /** The newest frame, or null before the first. */
  get latest(): Frame | null {
    return this.#latest;
  }

  /** Frames published so far. */
  get published(): number {
    return this.#seq;
  }

  /** Consumers currently waiting in {@linkcode FrameHub.next}. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Whether {@linkcode FrameHub.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Makes `image` the newest frame and wakes every waiting consumer. */
  publish(image: JpegImage, capturedAt: number = Date.now()): Frame {
    const frame: Frame = {
      bytes: image.bytes,
      width: image.width,
      height: image.height,
      seq: ++this.#seq,
      capturedAt,
    };
    this.#latest = frame;
    this.#wake();
    return frame;
  }

  /**
   * Resolves with the newest frame once its `seq` is greater than `afterSeq` (at once if it
   * already is); `null` when `signal` aborts or the hub closes first.
   */
  async next(afterSeq: number, signal?: AbortSignal): Promise<Frame | null> {
    while (!this.#closed && !signal?.aborted) {
      const latest = this.#latest;
      if (latest && latest.seq > afterSeq) return latest;
      const woken = this.#newFrame.promise;
      this.#waiting++;
      try {
        if (!signal) await woken;
        else {
          const aborted = Promise.withResolvers<void>();
          const onAbort = () => aborted.resolve();
          signal.addEventListener("abort", onAbort, { once: true });
          try {
            await Promise.race([woken, aborted.promise]);
          } finally {
            signal.removeEventListener("abort", onAbort);
          }
        }
      } finally {
        this.#waiting--;
      }
    }
    return null;
  }

  /** Forgets the frame (e.g. the camera went away), so snapshots say "no frame". */
  clear(): void {
    this.#latest = null;
  }

  /** Wakes every waiter with `null`; later calls of `next` return `null` at once. */
  close(): void {
    this.#closed = true;
    this.#latest = null;
    this.#wake();
  }

  #wake(): void {
    const current = this.#newFrame;
    this.#newFrame = Promise.withResolvers<void>();
    current.resolve();
  }
}
