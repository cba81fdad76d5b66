/**
 * The file sink: one WAV file per utterance in `TTS_OUTPUT_DIR`, named
 * `<epoch ms>-<utt id>.wav`. A stopped utterance keeps what was played.
 *
 * @module
 */
import { join } from "node:path";
import { encodeWav } from "../../../lib/audio/mod.ts";
import type { AudioSink, SinkStream, UtteranceInfo } from "./sink.ts";

/** Writes WAV files. */
export class FileAudioSink implements AudioSink {
  readonly name = "file";
  readonly realtime = false;
  readonly #dir: string;
  readonly #onWritten?: (path: string) => void;

  /** Builds the sink; `onWritten` is told the path of every file written. */
  constructor(dir: string, onWritten?: (path: string) => void) {
    this.#dir = dir;
    this.#onWritten = onWritten;
  }

  /** Starts an utterance (the file is written when it ends). */
  async open(utterance: UtteranceInfo, sampleRate: number): Promise<SinkStream> {
    await Deno.mkdir(this.#dir, { recursive: true });
    const parts: Int16Array[] = [];
    const safeId = utterance.uttId.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64) || "utt";
    const path = join(this.#dir, `${Date.now()}-${safeId}.wav`);
    let ended = false;
    const end = async () => {
      if (ended) return;
      ended = true;
      const samples = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
      let offset = 0;
      for (const part of parts) {
        samples.set(part, offset);
        offset += part.length;
      }
      await Deno.writeFile(path, encodeWav(samples, sampleRate));
      this.#onWritten?.(path);
    };
    return {
      write: (samples) => {
        if (!ended) parts.push(samples.slice());
        return Promise.resolve();
      },
      pause: () => {},
      resume: () => {},
      finish: end,
      abort: end,
    };
  }

  /** Nothing to free. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
