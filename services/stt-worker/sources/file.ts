/**
 * {@linkcode FileAudioSource}: a WAV file (any rate/channels), resampled and paced in real
 * time (or faster, for tests and demos).
 *
 * @module
 */
import { frameBytes, FrameChunker, wavToPcm16k } from "../pcm.ts";
import { abortableSleep } from "../../../lib/async/mod.ts";
import { type AudioSource, type AudioSourceStats, FrameQueue, newStats } from "./source.ts";

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
  /** The file's audio, already read by {@linkcode readWavFile}; read by `open()` when absent. */
  readonly pcm?: Uint8Array;
}

/**
 * Reads a WAV file (any rate and channels) as PCM16LE mono 16 kHz.
 *
 * @throws Error naming the file (and AUDIO_FILE) when it is unreadable or not a usable WAV.
 */
export async function readWavFile(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new Error(`Cannot read AUDIO_FILE ${path}: ${(error as Error).message}`);
  }
  try {
    return wavToPcm16k(bytes);
  } catch (error) {
    throw new Error(`AUDIO_FILE ${path}: ${(error as Error).message}`);
  }
}

/** Plays a WAV file (any rate and channels) as 16 kHz mono frames, paced like a microphone. */
export class FileAudioSource implements AudioSource {
  /** Always "file". */
  readonly kind = "file" as const;
  readonly #options: Required<Omit<FileAudioSourceOptions, "pcm">>;
  readonly #pcm: Uint8Array | undefined;
  readonly #queue = new FrameQueue(64);
  readonly #abort = new AbortController();
  readonly #stats = newStats();
  #frames: Uint8Array[] = [];
  #pump: Promise<void> | undefined;

  /** @param options the file and pacing. */
  constructor(options: FileAudioSourceOptions) {
    const { pcm, ...rest } = options;
    this.#options = { frameMs: 20, speed: 1, loop: false, ...rest };
    this.#pcm = pcm;
  }

  /** "file <path>". */
  get label(): string {
    return `file ${this.#options.path}`;
  }

  /** Counters. */
  get stats(): Readonly<AudioSourceStats> {
    return this.#stats;
  }

  /** Reads and converts the whole file (unless given); throws naming it when it is unreadable. */
  async open(): Promise<void> {
    const pcm = this.#pcm ?? await readWavFile(this.#options.path);
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
            await abortableSleep(start + (index * frameMs) / speed - performance.now(), signal);
          } else if (index % 50 === 0) await abortableSleep(0, signal);
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
