/**
 * Real speech for wake-activation tests: espeak-ng says "hey jarvis", "alexa" and a sentence
 * (via `speech_audio.ts`), sox gives PCM16LE 16 kHz mono bytes (the audio/pcm wire format).
 *
 * @module
 */
import { pcm16k, silenceWav, speechWav } from "./speech_audio.ts";

/** PCM16LE mono 16 kHz bytes of the test clips. */
export interface WakeClips {
  /** "hey jarvis", en-us, 150 wpm. */
  readonly heyJarvis: Uint8Array;
  /** "hey jarvis", en-gb, 130 wpm. */
  readonly heyJarvisGb: Uint8Array;
  /** "alexa". */
  readonly alexa: Uint8Array;
  /** A sentence without the wake word. */
  readonly sentence: Uint8Array;
  /** 3 s of digital silence. */
  readonly silence: Uint8Array;
}

/** Makes the clips in a temporary directory (removed afterwards). */
export async function makeWakeClips(): Promise<WakeClips> {
  const dir = await Deno.makeTempDir({ prefix: "wake-audio-" });
  try {
    const [heyJarvis, heyJarvisGb, alexa, sentence, silence] = await Promise.all([
      speechWav(dir, "hey_jarvis", "hey jarvis").then(pcm16k),
      speechWav(dir, "hey_jarvis_gb", "hey jarvis", { voice: "en-gb", wordsPerMinute: 130 })
        .then(pcm16k),
      speechWav(dir, "alexa", "alexa").then(pcm16k),
      speechWav(dir, "sentence", "what is the weather like in the city today").then(pcm16k),
      silenceWav(dir, "silence", 3).then(pcm16k),
    ]);
    return { heyJarvis, heyJarvisGb, alexa, sentence, silence };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Int16 samples of PCM16LE bytes. */
export function samplesOf(pcm: Uint8Array): Int16Array {
  const copy = pcm.slice();
  return new Int16Array(copy.buffer, 0, copy.length >> 1);
}

/** The concatenation of several PCM byte arrays. */
export function concatPcm(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Splits bytes into chunks of pseudo-random sizes (1..max bytes, odd sizes included). */
export function randomChunks(pcm: Uint8Array, max = 3000, seed = 7): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let state = seed;
  for (let offset = 0; offset < pcm.length;) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const size = 1 + (state % max);
    chunks.push(pcm.subarray(offset, Math.min(pcm.length, offset + size)));
    offset += size;
  }
  return chunks;
}
