/**
 * Mono PCM16 audio ({@linkcode PcmAudio}, from the shared codec `lib/audio/`): the unit engines
 * produce and sinks consume; its duration, peak, resampling and base64.
 *
 * @module
 */
import type { PcmAudio } from "../../lib/audio/mod.ts";

export type { PcmAudio };

/** Duration of `audio` in milliseconds. */
export function durationMs(audio: PcmAudio): number {
  return (audio.samples.length / audio.sampleRate) * 1000;
}

/** The largest absolute sample value (0 for silence). */
export function peak(samples: Int16Array): number {
  let max = 0;
  for (const s of samples) {
    const a = s < 0 ? -s : s;
    if (a > max) max = a;
  }
  return max;
}

/** Linear-interpolation resampling to `sampleRate` (identity when the rate matches). */
export function resample(audio: PcmAudio, sampleRate: number): PcmAudio {
  if (audio.sampleRate === sampleRate || audio.samples.length === 0) {
    return { sampleRate, samples: audio.samples };
  }
  const ratio = audio.sampleRate / sampleRate;
  const length = Math.max(1, Math.round(audio.samples.length / ratio));
  const out = new Int16Array(length);
  const last = audio.samples.length - 1;
  for (let i = 0; i < length; i++) {
    const pos = i * ratio;
    const left = Math.min(last, Math.floor(pos));
    const right = Math.min(last, left + 1);
    const frac = pos - left;
    out[i] = Math.round(audio.samples[left] * (1 - frac) + audio.samples[right] * frac);
  }
  return { sampleRate, samples: out };
}

/** Standard base64 of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  let text = "";
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) {
    text += String.fromCharCode(...bytes.subarray(i, i + step));
  }
  return btoa(text);
}

/** Decodes standard base64. */
export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
