/**
 * Audio sources (AUDIO_SOURCE): one {@linkcode AudioSource} interface yielding PCM16LE mono
 * 16 kHz frames of CHUNK_DURATION_MS, with three implementations:
 * - {@linkcode FileAudioSource}: a WAV file (any rate/channels), resampled and paced in real
 *   time (or faster, for tests and demos);
 * - {@linkcode AlsaAudioSource}: an `arecord` subprocess (AUDIO_DEVICE_NAME), restarted with
 *   backoff when it dies;
 * - {@linkcode MqttAudioSource}: frames another machine or the browser publishes on
 *   `audio/pcm/<AUDIO_MQTT_SOURCE>`, re-cut to whole frames.
 *
 * @module
 */
import { ExponentialBackoff, type MqttClient, type Subscription, topics } from "../../core/mod.ts";
import type { AudioSourceKind } from "./config.ts";
import { frameBytes, FrameChunker, wavToPcm16k } from "./pcm.ts";

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

  /** @param capacity frames kept at most. */
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

/** A sleep that {@linkcode AbortSignal} cuts short. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function newStats(): AudioSourceStats {
  return { frames: 0, dropped: 0, rejected: 0, restarts: 0 };
}

/** Options of {@linkcode FileAudioSource}. */
export interface FileAudioSourceOptions {
  /** The WAV file. */
  readonly path: string;
  /** Frame length, ms (default 20). */
  readonly frameMs?: number;
  /** 1 = real time, 4 = four times as fast, 0 = as fast as the consumer takes them. */
  readonly speed?: number;
  /** Replay forever (default false). */
  readonly loop?: boolean;
}

/** Plays a WAV file (any rate and channels) as 16 kHz mono frames, paced like a microphone. */
export class FileAudioSource implements AudioSource {
  /** Always "file". */
  readonly kind = "file" as const;
  readonly #options: Required<FileAudioSourceOptions>;
  readonly #queue = new FrameQueue(64);
  readonly #abort = new AbortController();
  readonly #stats = newStats();
  #frames: Uint8Array[] = [];
  #pump: Promise<void> | undefined;

  /** @param options the file and pacing. */
  constructor(options: FileAudioSourceOptions) {
    this.#options = { frameMs: 20, speed: 1, loop: false, ...options };
  }

  /** "file <path>". */
  get label(): string {
    return `file ${this.#options.path}`;
  }

  /** Counters. */
  get stats(): Readonly<AudioSourceStats> {
    return this.#stats;
  }

  /** Reads and converts the whole file; throws naming the file when it is unreadable. */
  async open(): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.#options.path);
    } catch (error) {
      throw new Error(`Cannot read AUDIO_FILE ${this.#options.path}: ${(error as Error).message}`);
    }
    let pcm: Uint8Array;
    try {
      pcm = wavToPcm16k(bytes);
    } catch (error) {
      throw new Error(`AUDIO_FILE ${this.#options.path}: ${(error as Error).message}`);
    }
    const size = frameBytes(this.#options.frameMs);
    const frames = new FrameChunker(size).push(pcm);
    const rest = pcm.length % size;
    if (rest > 0) {
      const last = new Uint8Array(size); // zero-padded tail
      last.set(pcm.subarray(pcm.length - rest));
      frames.push(last);
    }
    this.#frames = frames;
    this.#pump = this.#play();
  }

  async #play(): Promise<void> {
    const { frameMs, speed, loop } = this.#options;
    const signal = this.#abort.signal;
    const start = performance.now();
    let index = 0;
    try {
      do {
        for (const frame of this.#frames) {
          if (signal.aborted) return;
          if (speed > 0) {
            await sleep(start + (index * frameMs) / speed - performance.now(), signal);
          } else if (index % 50 === 0) await sleep(0, signal);
          if (signal.aborted || !(await this.#queue.put(frame))) return;
          this.#stats.frames++;
          index++;
        }
      } while (loop && this.#frames.length > 0);
    } finally {
      this.#queue.end();
    }
  }

  /** The frames, then the end of the file (unless looping). */
  frames(): AsyncIterable<Uint8Array> {
    return this.#queue;
  }

  /** Stops playback. */
  async close(): Promise<void> {
    this.#abort.abort();
    this.#queue.end();
    await this.#pump;
  }
}

/** Options of {@linkcode AlsaAudioSource}. */
export interface AlsaAudioSourceOptions {
  /** ALSA device for `arecord -D` ("" = arecord's default). */
  readonly device: string;
  /** Frame length, ms (default 20). */
  readonly frameMs?: number;
  /** The recorder binary (default "arecord"). */
  readonly command?: string;
  /** First restart delay, ms (default 2 000, py-tars). */
  readonly retryMinMs?: number;
  /** Longest restart delay, ms (default 10 000, py-tars). */
  readonly retryMaxMs?: number;
  /** Told about every recorder failure before the restart. */
  readonly onError?: SourceErrorHandler;
}

/** Captures a microphone with `arecord -t raw -f S16_LE -r 16000 -c 1` (ALSA converts). */
export class AlsaAudioSource implements AudioSource {
  /** Always "alsa". */
  readonly kind = "alsa" as const;
  readonly #options: Required<AlsaAudioSourceOptions>;
  readonly #queue = new FrameQueue(256);
  readonly #abort = new AbortController();
  readonly #stats = newStats();
  #child: Deno.ChildProcess | undefined;
  #pump: Promise<void> | undefined;

  /** @param options device, recorder and restart policy. */
  constructor(options: AlsaAudioSourceOptions) {
    this.#options = {
      frameMs: 20,
      command: "arecord",
      retryMinMs: 2_000,
      retryMaxMs: 10_000,
      onError: () => {},
      ...options,
    };
  }

  /** The recorder command line. */
  get args(): string[] {
    const args = ["-q", "-t", "raw", "-f", "S16_LE", "-r", "16000", "-c", "1"];
    if (this.#options.device !== "") args.push("-D", this.#options.device);
    return args;
  }

  /** "arecord -D <device>". */
  get label(): string {
    return `${this.#options.command} -D ${this.#options.device || "default"}`;
  }

  /** Counters (frames dropped are the queue's). */
  get stats(): Readonly<AudioSourceStats> {
    this.#stats.dropped = this.#queue.dropped;
    return this.#stats;
  }

  /** Spawns the recorder; a missing binary throws (install alsa-utils). */
  open(): Promise<void> {
    try {
      this.#child = this.#spawn();
    } catch (error) {
      return Promise.reject(error);
    }
    this.#pump = this.#run(this.#child);
    return Promise.resolve();
  }

  #spawn(): Deno.ChildProcess {
    try {
      return new Deno.Command(this.#options.command, {
        args: this.args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error(
          `${this.#options.command} not found: install alsa-utils (apt-get install alsa-utils) ` +
            "or choose AUDIO_SOURCE=mqtt or file",
        );
      }
      throw error;
    }
  }

  async #run(first: Deno.ChildProcess): Promise<void> {
    const signal = this.#abort.signal;
    let child: Deno.ChildProcess | undefined = first;
    const retry = new ExponentialBackoff({
      minMs: this.#options.retryMinMs,
      maxMs: this.#options.retryMaxMs,
      jitter: 0,
    });
    try {
      while (!signal.aborted) {
        if (!child) {
          try {
            child = this.#spawn();
          } catch (error) {
            this.#options.onError(error as Error);
            await sleep(retry.next(), signal);
            continue;
          }
        }
        this.#child = child;
        const stderr = new Response(child.stderr).text();
        const chunker = new FrameChunker(frameBytes(this.#options.frameMs));
        let produced = 0;
        for await (const chunk of child.stdout) {
          for (const frame of chunker.push(chunk)) {
            this.#queue.offer(frame);
            this.#stats.frames++;
            produced++;
          }
        }
        const [status, message] = await Promise.all([child.status, stderr]);
        child = undefined;
        if (signal.aborted) return;
        if (produced > 0) retry.reset();
        const delay = retry.next();
        this.#stats.restarts++;
        this.#options.onError(
          new Error(
            `${this.label} stopped (exit code ${status.code}${
              status.signal ? `, ${status.signal}` : ""
            }): ${message.trim() || "no message"}; restarting in ${delay} ms`,
          ),
        );
        await sleep(delay, signal);
      }
    } finally {
      this.#queue.end();
    }
  }

  /** The captured frames until {@linkcode close}. */
  frames(): AsyncIterable<Uint8Array> {
    return this.#queue;
  }

  /** Kills the recorder and ends the frames. */
  async close(): Promise<void> {
    this.#abort.abort();
    try {
      this.#child?.kill("SIGTERM");
    } catch { /* already exited */ }
    this.#queue.end();
    await this.#pump;
  }
}

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

  /** @param options client and topic. */
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
