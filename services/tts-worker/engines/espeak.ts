/**
 * The espeak-ng engine: the `espeak-ng` CLI writes a WAV to stdout (22.05 kHz mono PCM16).
 * Always available; the dev default and the fallback of the Piper engine.
 *
 * @module
 */
import { decodeWavPcm16, type PcmAudio } from "../../../lib/audio/mod.ts";
import { spawnTool, toolProblem, type ToolSpec } from "../../../lib/process/mod.ts";
import { type SpeechEngine, SynthesisAborted } from "./engine.ts";

/** How tts-worker runs espeak-ng (`TTS_ESPEAK_BIN`), and how to install it when it is missing. */
export function espeakTool(bin: string): ToolSpec {
  return {
    tool: "espeak-ng",
    bin,
    aptPackage: "espeak-ng",
    envVar: "TTS_ESPEAK_BIN",
    service: "tts-worker",
    consequence: "until then replies are shown, not spoken",
  };
}

/** Options of {@linkcode EspeakEngine}. */
export interface EspeakEngineOptions {
  /** The executable; default `espeak-ng`. */
  readonly bin?: string;
  /** Voice (`-v`), default `en-us`. */
  readonly voice?: string;
  /** Words per minute (`-s`), default 175. */
  readonly rate?: number;
}

/** Runs `espeak-ng --stdout` once per text (text on stdin, so it is never taken for an option). */
export class EspeakEngine implements SpeechEngine {
  readonly id: string;
  readonly #bin: string;
  readonly #voice: string;
  readonly #rate: number;

  /** Builds the engine; nothing runs until {@linkcode synthesize}. */
  constructor(options: EspeakEngineOptions = {}) {
    this.#bin = options.bin ?? "espeak-ng";
    this.#voice = options.voice ?? "en-us";
    this.#rate = options.rate ?? 175;
    this.id = `espeak:${this.#voice}:${this.#rate}`;
  }

  /**
   * Synthesizes `text`.
   *
   * @throws an Error with espeak-ng's message when it fails or is not installed, and
   *   {@linkcode SynthesisAborted} when `signal` aborts.
   */
  async synthesize(text: string, signal?: AbortSignal): Promise<PcmAudio> {
    if (signal?.aborted) throw new SynthesisAborted();
    const child = spawnTool(espeakTool(this.#bin), {
      args: ["--stdout", "-v", this.#voice, "-s", String(this.#rate)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    });
    const onAbort = () => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(text.replace(/\s+/g, " ") + "\n"));
      await writer.close();
      const { code, stdout, stderr } = await child.output();
      if (signal?.aborted) throw new SynthesisAborted();
      if (code !== 0) {
        const message = new TextDecoder().decode(stderr).trim();
        throw new Error(`${this.#bin} exited with ${code}: ${message || "no message"}`);
      }
      return decodeWavPcm16(stdout);
    } catch (error) {
      if (signal?.aborted) throw new SynthesisAborted();
      throw error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Why espeak-ng cannot run here, with the fix, or `null` when it can (`<bin> --version`).
   * Checked once at start, so a missing program is said once, not once per phrase.
   */
  unavailable(): Promise<string | null> {
    return toolProblem(espeakTool(this.#bin));
  }

  /** Nothing to free: every call is its own process. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
