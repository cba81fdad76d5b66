/**
 * The speaker: a queue of utterances played one after the other through the sink, with
 * synthesis of the next sentence running while the current one plays, audio handed to
 * the sink in chunks paced to the playhead (so pause and stop act within a chunk), and the
 * tts/status transitions of py-tars (speaking_start, speaking_end, paused, resumed,
 * stopped).
 *
 * @module
 */
import { type Logger, type PayloadInputOf, RateLimitedLog, type topics } from "../../core/mod.ts";
import { durationMs, type PcmAudio, resample } from "./audio.ts";
import { type SpeechEngine, SynthesisAborted } from "./engines/mod.ts";
import type { AudioSink, SinkStream } from "./sinks/mod.ts";

/** A tts/status payload as the speaker publishes it. */
export type TtsStatusInput = PayloadInputOf<typeof topics.ttsStatus>;

/** One utterance to speak: one speaking_start … speaking_end. */
export interface SpeechJob {
  /** The tts/say `utt_id` (`null` when it had none). */
  readonly uttId: string | null;
  /** The whole text (reported in statuses). */
  readonly text: string;
  /** The pieces synthesized one by one (sentences when pipelining). */
  readonly parts: readonly string[];
  /** tts/say `wake_ack`, echoed in statuses. */
  readonly wakeAck?: boolean | null;
  /** tts/say `system_announce`, echoed in statuses. */
  readonly systemAnnounce?: boolean | null;
  /** Ready audio (the phrase cache): played without synthesis. */
  readonly cached?: PcmAudio;
  /** Keep the synthesized audio of this (single-part) job in the phrase cache. */
  readonly remember?: boolean;
}

/** Options of {@linkcode Speaker}. */
export interface SpeakerOptions {
  /** Synthesizes the parts. */
  readonly engine: SpeechEngine;
  /** Plays the audio. */
  readonly sink: AudioSink;
  /** Publishes a tts/status. */
  readonly publishStatus: (status: TtsStatusInput) => Promise<unknown> | void;
  /** Chunk length handed to the sink, ms (default 100). */
  readonly chunkMs?: number;
  /** How far ahead of the playhead a real-time sink is fed, ms (default 250). */
  readonly leadMs?: number;
  /** Parts synthesized ahead of the one playing (default 1). */
  readonly prefetch?: number;
  /** Receives synthesized audio of jobs marked `remember`. */
  readonly remember?: (text: string, audio: PcmAudio) => void;
  /** Logs failures. */
  readonly logger?: Logger;
}

/** A control command as the speaker takes it. */
export interface SpeakerControl {
  /** `pause`, `resume` or `stop`. */
  readonly action: "pause" | "resume" | "stop";
  /** Why (echoed as the status `reason`). */
  readonly reason?: string | null;
  /** Only act when this is the current utterance's utt_id. */
  readonly id?: string | null;
}

/** Counters of the speaker (tests, bench, logs). */
export interface SpeakerStats {
  /** Parts synthesized by the engine. */
  synthesized: number;
  /** Parts played from the phrase cache. */
  cacheHits: number;
  /** Parts whose synthesis failed. */
  failures: number;
  /** Chunks handed to the sink. */
  chunks: number;
}

/** A clock that stands still while paused. */
class PlayClock {
  #start = 0;
  #pausedAt: number | null = null;
  #pausedTotal = 0;
  started = false;

  start(): void {
    if (this.started) return;
    this.started = true;
    this.#start = performance.now();
  }
  elapsed(): number {
    if (!this.started) return 0;
    const now = this.#pausedAt ?? performance.now();
    return now - this.#start - this.#pausedTotal;
  }
  pause(): void {
    if (this.#pausedAt === null) this.#pausedAt = performance.now();
  }
  resume(): void {
    if (this.#pausedAt === null) return;
    this.#pausedTotal += performance.now() - this.#pausedAt;
    this.#pausedAt = null;
  }
}

interface JobState {
  readonly job: SpeechJob;
  readonly streamId: string;
  stream: SinkStream | null;
  sampleRate: number;
  started: boolean;
  ended: boolean;
  stopped: boolean;
  reason: string | null;
  writtenMs: number;
  readonly clock: PlayClock;
  /** The speaking_start publish (it never rejects). */
  startStatus: Promise<void> | null;
}

interface PartTask {
  readonly state: JobState;
  readonly index: number;
  readonly last: boolean;
  readonly abort: AbortController;
  audio: Promise<PcmAudio> | null;
  /** How long the engine took for this part, ms; `undefined` for cached audio. */
  synthesisMs?: number;
}

let streamCounter = 0;

/** Plays {@linkcode SpeechJob}s in order; see the module doc. */
export class Speaker {
  readonly #o: SpeakerOptions;
  readonly #chunkMs: number;
  readonly #leadMs: number;
  readonly #prefetch: number;
  readonly #queue: PartTask[] = [];
  #current: JobState | null = null;
  #paused = false;
  #closed = false;
  #wake = Promise.withResolvers<void>();
  readonly #loop: Promise<void>;
  /** Counters. */
  readonly stats: SpeakerStats = { synthesized: 0, cacheHits: 0, failures: 0, chunks: 0 };
  /** The same synthesis error (e.g. espeak-ng missing) is logged once a minute, not per phrase. */
  readonly #failureLog = new RateLimitedLog(60_000);

  /** Builds the speaker and starts its loop. */
  constructor(options: SpeakerOptions) {
    this.#o = options;
    this.#chunkMs = options.chunkMs ?? 100;
    this.#leadMs = options.leadMs ?? 250;
    this.#prefetch = Math.max(1, options.prefetch ?? 1);
    this.#loop = this.#run();
  }

  /** Whether an utterance is playing or waiting. */
  get busy(): boolean {
    return this.#current !== null || this.#queue.length > 0;
  }

  /** Whether playback is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Parts waiting (not counting the one playing). */
  get queued(): number {
    return this.#queue.length;
  }

  /** The utt_id of the utterance playing (or being prepared), if any. */
  get currentUttId(): string | null {
    return this.#current?.job.uttId ?? null;
  }

  /** Queues an utterance. */
  enqueue(job: SpeechJob): void {
    if (this.#closed || job.parts.length === 0) return;
    const state: JobState = {
      job,
      streamId: job.uttId ?? `tts-${Date.now().toString(36)}-${++streamCounter}`,
      stream: null,
      sampleRate: 0,
      started: false,
      ended: false,
      stopped: false,
      reason: null,
      writtenMs: 0,
      clock: new PlayClock(),
      startStatus: null,
    };
    job.parts.forEach((_, index) =>
      this.#queue.push({
        state,
        index,
        last: index === job.parts.length - 1,
        abort: new AbortController(),
        audio: null,
      })
    );
    this.#notify();
  }

  /**
   * Applies pause, resume or stop at once (mid-chunk at worst). Returns whether it acted;
   * a command for another utt_id, a pause when nothing is queued, or a repeated pause or
   * resume does nothing.
   */
  async control(command: SpeakerControl): Promise<boolean> {
    const state = this.#current;
    if (command.id && state?.job.uttId && command.id !== state.job.uttId) return false;
    const reason = command.reason ?? null;
    if (command.action === "pause") {
      if (this.#paused || !this.busy) return false;
      this.#paused = true;
      state?.clock.pause();
      state?.stream?.pause();
      await this.#status("paused", state, reason);
    } else if (command.action === "resume") {
      if (!this.#paused) return false;
      this.#paused = false;
      state?.clock.resume();
      state?.stream?.resume();
      await this.#status("resumed", state, reason);
    } else {
      if (!this.busy) return false;
      this.#paused = false;
      for (const task of this.#queue.splice(0)) task.abort.abort();
      if (state) {
        state.stopped = true;
        state.reason = reason ?? "stop";
        state.clock.resume();
        this.#currentTask?.abort.abort();
        await state.stream?.abort();
      }
      await this.#status("stopped", state, reason);
    }
    this.#notify();
    return true;
  }

  /** Stops everything and ends the loop. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.busy) await this.control({ action: "stop", reason: "shutdown" });
    this.#closed = true;
    this.#notify();
    await this.#loop;
  }

  #currentTask: PartTask | null = null;

  async #run(): Promise<void> {
    while (!this.#closed) {
      const task = this.#queue.shift();
      if (!task) {
        await this.#wake.promise;
        continue;
      }
      const state = task.state;
      this.#current = state;
      this.#currentTask = task;
      try {
        await this.#playTask(task);
      } catch (error) {
        this.#o.logger?.error("Playback failed: {error}", { error: String(error) });
        state.stopped = true;
        state.reason = "error";
      }
      this.#currentTask = null;
      if (task.last || state.stopped) {
        await this.#endJob(state);
        if (this.#current === state) this.#current = null;
      }
    }
  }

  async #playTask(task: PartTask): Promise<void> {
    const state = task.state;
    this.#synthesize(task);
    let audio: PcmAudio | null = null;
    try {
      audio = await task.audio!;
    } catch (error) {
      if (!(error instanceof SynthesisAborted) && !task.abort.signal.aborted) {
        this.stats.failures++;
        const message = (error as Error).message;
        this.#failureLog.maybe(
          message,
          (suppressed) =>
            this.#o.logger?.error("Synthesis failed for {text}: {error} (+{suppressed} more)", {
              text: state.job.parts[task.index],
              error: message,
              suppressed,
            }),
        );
      }
    }
    if (state.stopped || this.#closed) return;
    this.#fillPrefetch(); // the next sentence synthesizes while this one plays
    if (!audio || audio.samples.length === 0) return;
    if (!state.started) {
      state.started = true;
      state.sampleRate = audio.sampleRate;
      // Sent before the first chunk on the same connection, so it arrives first; the audio
      // does not wait for the broker's acknowledgement (a round trip), speaking_end does.
      state.startStatus = this.#status("speaking_start", state, null);
      state.stream = await this.#o.sink.open(
        { uttId: state.streamId, text: state.job.text, synthesisMs: task.synthesisMs },
        audio.sampleRate,
      );
      if (state.stopped) await state.stream.abort();
    }
    await this.#play(state, resample(audio, state.sampleRate));
  }

  #synthesize(task: PartTask): void {
    if (task.audio) return;
    const job = task.state.job;
    if (job.cached) {
      this.stats.cacheHits++;
      task.audio = Promise.resolve(job.cached);
      return;
    }
    const text = job.parts[task.index];
    const started = performance.now();
    task.audio = this.#o.engine.synthesize(text, task.abort.signal).then((audio) => {
      task.synthesisMs = performance.now() - started;
      this.stats.synthesized++;
      if (job.remember && job.parts.length === 1) this.#o.remember?.(text, audio);
      return audio;
    });
    task.audio.catch(() => {}); // handled where awaited
  }

  #fillPrefetch(): void {
    for (const task of this.#queue.slice(0, this.#prefetch)) this.#synthesize(task);
  }

  async #play(state: JobState, audio: PcmAudio): Promise<void> {
    const stream = state.stream!;
    const realtime = this.#o.sink.realtime;
    const step = Math.max(1, Math.round((audio.sampleRate * this.#chunkMs) / 1000));
    for (let offset = 0; offset < audio.samples.length; offset += step) {
      while (true) {
        if (state.stopped || this.#closed) return;
        if (this.#paused) {
          await this.#wake.promise;
          continue;
        }
        if (!realtime || !state.clock.started) break;
        const ahead = state.writtenMs - state.clock.elapsed();
        if (ahead <= this.#leadMs) break;
        await this.#sleep(ahead - this.#leadMs);
      }
      const chunk = audio.samples.subarray(offset, offset + step);
      state.clock.start();
      // A late sentence leaves a gap: the playhead moved on without audio.
      state.writtenMs = Math.max(state.writtenMs, state.clock.elapsed());
      await stream.write(chunk);
      this.stats.chunks++;
      state.writtenMs += durationMs({ sampleRate: audio.sampleRate, samples: chunk });
    }
  }

  async #endJob(state: JobState): Promise<void> {
    if (state.ended) return;
    state.ended = true;
    if (!state.started) return; // nothing was heard: no statuses
    if (!state.stopped && this.#o.sink.realtime) {
      // Let the audio handed over play out (pause holds it, stop cuts it).
      while (!state.stopped && !this.#closed) {
        if (this.#paused) {
          await this.#wake.promise;
          continue;
        }
        const left = state.writtenMs - state.clock.elapsed();
        if (left <= 0) break;
        await this.#sleep(left);
      }
    }
    if (state.stopped) await state.stream?.abort();
    else await state.stream?.finish();
    await state.startStatus;
    await this.#status("speaking_end", state, state.reason);
  }

  async #status(
    event: TtsStatusInput["event"],
    state: JobState | null,
    reason: string | null,
  ): Promise<void> {
    const job = state?.job;
    try {
      await this.#o.publishStatus({
        event,
        text: job?.text ?? "",
        utt_id: job?.uttId ?? null,
        reason,
        wake_ack: job?.wakeAck ?? null,
        system_announce: job?.systemAnnounce ?? null,
      });
    } catch (error) {
      this.#o.logger?.warn("Cannot publish tts/status {event}: {error}", {
        event,
        error: String(error),
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = Promise.withResolvers<void>();
    wake.resolve();
  }

  /** Sleeps `ms`, or less when a control command or a new job arrives. */
  async #sleep(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
    try {
      await Promise.race([timeout, this.#wake.promise]);
    } finally {
      clearTimeout(timer);
    }
  }
}
