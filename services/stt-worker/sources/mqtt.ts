/**
 * {@linkcode MqttAudioSource}: frames another machine or the browser publishes on
 * `audio/pcm/<AUDIO_MQTT_SOURCE>`, re-cut to whole frames.
 *
 * @module
 */
import { type MqttClient, type Subscription, topics } from "../../../core/mod.ts";
import { frameBytes, FrameChunker } from "../pcm.ts";
import { type AudioSource, type AudioSourceStats, FrameQueue, newStats } from "./source.ts";

/** Options of {@linkcode MqttAudioSource}. */
export interface MqttAudioSourceOptions {
  /** A connected client. */
  readonly client: MqttClient;
  /** `{source}` of `audio/pcm/{source}` to read. */
  readonly source: string;
  /** Frame length, ms (default 20). */
  readonly frameMs?: number;
}

/** Reads PCM another machine publishes on `audio/pcm/<source>` and re-cuts it into frames. */
export class MqttAudioSource implements AudioSource {
  /** Always "mqtt". */
  readonly kind = "mqtt" as const;
  readonly #options: Required<MqttAudioSourceOptions>;
  readonly #queue = new FrameQueue(256);
  readonly #stats = newStats();
  readonly #chunker: FrameChunker;
  #subscription: Subscription | undefined;

  /**
   * Makes a source that reads `audio/pcm/<options.source>` once {@linkcode open}ed.
   *
   * @param options client and topic.
   */
  constructor(options: MqttAudioSourceOptions) {
    this.#options = { frameMs: 20, ...options };
    this.#chunker = new FrameChunker(frameBytes(this.#options.frameMs));
  }

  /** "mqtt audio/pcm/<source>". */
  get label(): string {
    return `mqtt audio/pcm/${this.#options.source}`;
  }

  /** Counters. */
  get stats(): Readonly<AudioSourceStats> {
    this.#stats.dropped = this.#queue.dropped;
    return this.#stats;
  }

  /** Subscribes. */
  async open(): Promise<void> {
    this.#subscription = await this.#options.client.subscribeRaw(topics.audioPcm, (bytes) => {
      if (bytes.length % 2 !== 0) {
        this.#stats.rejected++; // half a sample would shift every later sample
        return;
      }
      for (const frame of this.#chunker.push(bytes)) {
        if (this.#queue.offer(frame)) this.#stats.frames++;
      }
    }, {
      params: { source: this.#options.source },
      queueSize: 512,
      overflow: "drop-oldest",
    });
  }

  /** The frames until {@linkcode close}. */
  frames(): AsyncIterable<Uint8Array> {
    return this.#queue;
  }

  /** Unsubscribes and ends the frames. */
  async close(): Promise<void> {
    this.#queue.end();
    const subscription = this.#subscription;
    this.#subscription = undefined;
    await subscription?.unsubscribe();
  }
}
