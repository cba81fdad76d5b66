/**
 * Spoken scenes for the listening tests: espeak-ng phrases (via `speech_audio.ts`) with their
 * own leading and trailing silence cut off, joined by exact pauses, written as one 16 kHz mono
 * WAV for stt-worker's file source. Each phrase's PCM is returned too, so a test can check that
 * the audio a transcriber received contains a whole phrase, byte for byte.
 *
 * @module
 */
import { encodeWav } from "../../lib/audio/mod.ts";
import { pcm16k, speechWav } from "./speech_audio.ts";
import { concatPcm } from "./wake_audio.ts";

/** One part of a scene: a phrase, or seconds of digital silence. */
export type ScenePart = { readonly say: string } | { readonly silenceSec: number };

/** A scene written to disk. */
export interface Scene {
  /** The WAV file. */
  readonly wav: string;
  /** The PCM16LE 16 kHz mono bytes of each spoken part (trimmed), in order. */
  readonly phrases: readonly Uint8Array[];
  /** Total length, seconds. */
  readonly durationSec: number;
}

/** Samples quieter than this at the ends of a phrase count as espeak's padding. */
const TRIM_LEVEL = 64;

/** The phrase without its leading and trailing near-silence (frame-free, sample exact). */
export function trimSilence(pcm: Uint8Array): Uint8Array {
  const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const samples = pcm.length >> 1;
  const loud = (i: number) => Math.abs(view.getInt16(i * 2, true)) >= TRIM_LEVEL;
  let start = 0;
  while (start < samples && !loud(start)) start++;
  let end = samples;
  while (end > start && !loud(end - 1)) end--;
  return pcm.slice(start * 2, end * 2);
}

/** Writes the scene as `<dir>/<name>.wav`. */
export async function writeScene(
  dir: string,
  name: string,
  parts: readonly ScenePart[],
): Promise<Scene> {
  const pieces: Uint8Array[] = [];
  const phrases: Uint8Array[] = [];
  for (const [i, part] of parts.entries()) {
    if ("say" in part) {
      const wav = await speechWav(dir, `${name}-${i}`, part.say, {
        leadSilenceSec: 0,
        tailSilenceSec: 0,
      });
      const phrase = trimSilence(await pcm16k(wav));
      await Deno.remove(wav);
      phrases.push(phrase);
      pieces.push(phrase);
    } else {
      pieces.push(new Uint8Array(Math.round(part.silenceSec * 16_000) * 2));
    }
  }
  const pcm = concatPcm(...pieces);
  const wav = `${dir}/${name}.wav`;
  await Deno.writeFile(wav, encodeWav(pcm, 16_000));
  return { wav, phrases, durationSec: pcm.length / 32_000 };
}

/** Whether `haystack` contains `needle` as one contiguous run of bytes. */
export function containsPcm(haystack: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) return true;
  const probe = Math.min(64, needle.length);
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < probe; j++) if (haystack[i + j] !== needle[j]) continue outer;
    for (let j = probe; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
