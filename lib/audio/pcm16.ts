/**
 * PCM16 samples: conversion between float samples and signed 16-bit little-endian PCM.
 *
 * The scale is 32768 both ways: {@linkcode pcm16ToFloat} divides by 32768 and
 * {@linkcode floatToPcm16} multiplies by 32768 and clips to [-32768, 32767], so every int16
 * value survives int16 → float → int16 unchanged. `-1.0` is `-32768` exactly; `+1.0` clips to
 * `32767` (one step below, −90 dB). Scaling by 32767 instead would be symmetric but would move
 * `-32768` to `-32767` and most other values by one step on a round trip.
 *
 * Byte views assume a little-endian host (x86-64, arm64: every machine Deno runs on here).
 *
 * @module
 */

/** Mono 16-bit PCM at `sampleRate`. */
export interface PcmAudio {
  /** Samples per second. */
  readonly sampleRate: number;
  /** The samples, signed 16-bit. */
  readonly samples: Int16Array;
}

/** Full scale of the float ↔ int16 conversion (see the module doc). */
export const PCM16_SCALE = 32768;

/** One float sample to int16: scaled by 32768, rounded, clipped; NaN is 0. */
function toInt16(value: number): number {
  if (Number.isNaN(value)) return 0;
  const scaled = Math.round(value * PCM16_SCALE);
  return scaled > 32767 ? 32767 : scaled < -32768 ? -32768 : scaled;
}

/**
 * Float samples in [-1, 1] → int16 samples, level kept: `round(x * 32768)` clipped to
 * [-32768, 32767]. Out-of-range values (and ±Infinity) clip, NaN becomes 0. The inverse of
 * {@linkcode pcm16ToFloat}.
 *
 * @example
 * ```ts
 * import { floatToPcm16 } from "./mod.ts";
 * floatToPcm16(Float32Array.of(-1, 0, 0.5, 1)); // Int16Array [-32768, 0, 16384, 32767]
 * ```
 */
export function floatToPcm16(samples: ArrayLike<number>): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = toInt16(samples[i]);
  return out;
}

/**
 * Float samples in any range → int16, peak-normalized: scaled so the loudest finite sample is
 * `±32767`, as Piper's `audio_float_to_int16` does. A near-silent signal is not amplified
 * more than 100× (the peak is taken as at least 0.01); NaN and ±Infinity become 0.
 *
 * This changes the level: use {@linkcode floatToPcm16} to convert audio, this one only for a
 * model's raw output that Piper itself would normalize.
 */
export function normalizeToPcm16(samples: ArrayLike<number>): Int16Array {
  let max = 0.01;
  for (let i = 0; i < samples.length; i++) {
    const a = Math.abs(samples[i]);
    if (Number.isFinite(a) && a > max) max = a;
  }
  const scale = 32767 / max;
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Number.isFinite(samples[i]) ? samples[i] * scale : 0;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  return out;
}

/**
 * PCM16LE bytes (or int16 samples) → float samples in [-1, 1): each sample divided by 32768.
 * An odd last byte is ignored.
 */
export function pcm16ToFloat(pcm: Uint8Array | Int16Array): Float32Array {
  if (pcm instanceof Int16Array) {
    const out = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) out[i] = pcm[i] / PCM16_SCALE;
    return out;
  }
  const count = pcm.length >> 1;
  const view = new DataView(pcm.buffer, pcm.byteOffset, count * 2);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true) / PCM16_SCALE;
  return out;
}

/** The PCM16LE bytes of `samples`: a view of the same memory, not a copy. */
export function pcm16Bytes(samples: Int16Array): Uint8Array {
  return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
}
