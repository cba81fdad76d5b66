/**
 * The phrase cache: wake acknowledgements and the online announcement, synthesized once
 * (at start, in the background) and replayed without synthesis. Kept in memory and as WAV
 * files named `sha1(engine id | phrase).wav` in `TTS_WAKE_CACHE_DIR` (the engine id is in the
 * key, so a new voice never replays the old one's audio); the directory keeps the newest
 * `TTS_WAKE_CACHE_MAX` files.
 *
 * @module
 */
import { join } from "node:path";
import { decodeWavPcm16, encodeWav, type PcmAudio } from "../../lib/audio/mod.ts";
import type { SpeechEngine } from "./engines/mod.ts";
import { normalizePhrase } from "./text.ts";

/** Options of {@linkcode PhraseCache}. */
export interface PhraseCacheOptions {
  /** Directory of the WAV files; `null` = memory only. */
  readonly dir: string | null;
  /** Files kept in `dir`. */
  readonly maxFiles: number;
  /** Reports a file that could not be read or written (the cache carries on). */
  readonly onError?: (message: string) => void;
}

const CACHE_FILE = /^[0-9a-f]{40}\.wav$/;

/** Phrase → audio for one engine. */
export class PhraseCache {
  readonly #options: PhraseCacheOptions;
  readonly #audio = new Map<string, PcmAudio>();
  #engineId = "";

  /** Builds an empty cache. */
  constructor(options: PhraseCacheOptions) {
    this.#options = options;
  }

  /** Number of phrases in memory. */
  get size(): number {
    return this.#audio.size;
  }

  /** The audio of `text`, if cached. */
  get(text: string): PcmAudio | undefined {
    return this.#audio.get(normalizePhrase(text));
  }

  /** Whether `text` is cached. */
  has(text: string): boolean {
    return this.#audio.has(normalizePhrase(text));
  }

  /**
   * Loads `texts` from disk, or synthesizes (and stores) those missing. Returns how many
   * were synthesized. A phrase that fails is reported and skipped. With `synthesize: false`
   * (the engine is known not to run, and that was said once already) only files are loaded.
   */
  async preload(
    texts: readonly string[],
    engine: SpeechEngine,
    options: { synthesize?: boolean } = {},
  ): Promise<number> {
    this.#engineId = engine.id;
    let synthesized = 0;
    for (const text of texts) {
      if (this.has(text)) continue;
      const file = await this.#file(text);
      if (file) {
        try {
          this.#audio.set(normalizePhrase(text), decodeWavPcm16(await Deno.readFile(file)));
          continue;
        } catch { /* missing or broken: synthesize */ }
      }
      if (options.synthesize === false) continue;
      try {
        await this.store(text, await engine.synthesize(text), engine.id);
        synthesized++;
      } catch (error) {
        this.#options.onError?.(`cannot synthesize "${text}": ${(error as Error).message}`);
      }
    }
    await this.#prune();
    return synthesized;
  }

  /** Keeps `audio` as the audio of `text` (in memory and on disk). */
  async store(text: string, audio: PcmAudio, engineId = this.#engineId): Promise<void> {
    this.#engineId = engineId;
    this.#audio.set(normalizePhrase(text), audio);
    const file = await this.#file(text);
    if (!file) return;
    try {
      await Deno.mkdir(this.#options.dir!, { recursive: true });
      await Deno.writeFile(file, encodeWav(audio.samples, audio.sampleRate));
    } catch (error) {
      this.#options.onError?.(`cannot write ${file}: ${(error as Error).message}`);
    }
  }

  async #file(text: string): Promise<string | null> {
    if (!this.#options.dir) return null;
    const key = `${this.#engineId}|${normalizePhrase(text)}`;
    const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    return join(this.#options.dir, `${hex}.wav`);
  }

  async #prune(): Promise<void> {
    const dir = this.#options.dir;
    if (!dir) return;
    try {
      const files: Array<{ path: string; mtime: number }> = [];
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.isFile || !CACHE_FILE.test(entry.name)) continue;
        const path = join(dir, entry.name);
        files.push({ path, mtime: (await Deno.stat(path)).mtime?.getTime() ?? 0 });
      }
      files.sort((a, b) => b.mtime - a.mtime);
      for (const old of files.slice(this.#options.maxFiles)) await Deno.remove(old.path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        this.#options.onError?.(`cannot prune ${dir}: ${(error as Error).message}`);
      }
    }
  }
}
