/**
 * Builds the engine of `TTS_PROVIDER`: Piper with espeak-ng as its fallback (a missing or
 * broken voice, or a failing synthesis, never means silence), or espeak-ng alone.
 *
 * @module
 */
import type { PcmAudio } from "../audio.ts";
import type { TtsConfig } from "../config.ts";
import { type SpeechEngine, SynthesisAborted } from "./engine.ts";
import { EspeakEngine } from "./espeak.ts";
import { PiperEngine } from "./piper.ts";

export { type SpeechEngine, SynthesisAborted } from "./engine.ts";
export { EspeakEngine } from "./espeak.ts";
export { PiperEngine } from "./piper.ts";

/**
 * Uses `primary`, and `fallback` for any text the primary fails on (not for cancellations).
 * `onFallback` is called once, on the first failure.
 */
export class FallbackEngine implements SpeechEngine {
  readonly #primary: SpeechEngine;
  readonly #fallback: SpeechEngine;
  readonly #onFallback: (error: Error) => void;
  #warned = false;

  /** Wraps the two engines. */
  constructor(primary: SpeechEngine, fallback: SpeechEngine, onFallback: (error: Error) => void) {
    this.#primary = primary;
    this.#fallback = fallback;
    this.#onFallback = onFallback;
  }

  /** The primary's id: the cache stays keyed by the voice that normally speaks. */
  get id(): string {
    return this.#primary.id;
  }

  /** Synthesizes with the primary, else with the fallback. */
  async synthesize(text: string, signal?: AbortSignal): Promise<PcmAudio> {
    try {
      return await this.#primary.synthesize(text, signal);
    } catch (error) {
      if (error instanceof SynthesisAborted || signal?.aborted) throw error;
      if (!this.#warned) {
        this.#warned = true;
        this.#onFallback(error as Error);
      }
      return await this.#fallback.synthesize(text, signal);
    }
  }

  /** Closes both engines. */
  async close(): Promise<void> {
    await Promise.all([this.#primary.close(), this.#fallback.close()]);
  }
}

/** What {@linkcode createEngine} reports when Piper is not usable. */
export interface EngineFallbackReport {
  /** Why. */
  readonly error: Error;
  /** `load` (the voice did not load) or `synthesis` (it failed on a text). */
  readonly stage: "load" | "synthesis";
}

/**
 * The engine of `config.provider`. For `piper`, a voice that does not load gives espeak-ng
 * with one `onFallback` report; a voice that fails later falls back per text.
 */
export async function createEngine(
  config: TtsConfig,
  onFallback: (report: EngineFallbackReport) => void,
): Promise<SpeechEngine> {
  const espeak = new EspeakEngine({
    bin: config.espeakBin,
    voice: config.espeakVoice,
    rate: config.espeakRate,
  });
  if (config.provider === "espeak") return espeak;
  let piper: PiperEngine;
  try {
    piper = await PiperEngine.load({
      voicePath: config.piperVoice,
      speaker: config.piperSpeaker,
      espeakBin: config.espeakBin,
    });
  } catch (error) {
    onFallback({ error: error as Error, stage: "load" });
    return espeak;
  }
  return new FallbackEngine(piper, espeak, (error) => onFallback({ error, stage: "synthesis" }));
}
