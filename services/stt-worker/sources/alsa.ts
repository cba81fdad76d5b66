/**
 * {@linkcode AlsaAudioSource}: an `arecord` subprocess (AUDIO_DEVICE_NAME), restarted with
 * backoff when it dies.
 *
 * @module
 */
import { ExponentialBackoff } from "../../../core/mod.ts";
import { abortableSleep } from "../../../lib/async/mod.ts";
import { spawnTool } from "../../../lib/process/mod.ts";
import { frameBytes, FrameChunker } from "../pcm.ts";
import {
  type AudioSource,
  type AudioSourceStats,
  FrameQueue,
  newStats,
  type SourceErrorHandler,
} from "./source.ts";

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
    return spawnTool({
      tool: "arecord",
      bin: this.#options.command,
      aptPackage: "alsa-utils",
      alternative: "choose AUDIO_SOURCE=mqtt or file",
      service: "stt-worker",
    }, { args: this.args, stdin: "null", stdout: "piped", stderr: "piped" });
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
            await abortableSleep(retry.next(), signal);
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
        await abortableSleep(delay, signal);
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
