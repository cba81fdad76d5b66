/**
 * stt-worker's audio helpers: down-mixing and resampling to 16 kHz mono PCM16LE, fixed-size
 * framing and RMS. WAV reading and writing and the float/PCM16 conversions are the shared
 * codec of `lib/audio/`. Pure functions, no I/O.
 *
 * @module
 */
import { decodeWav, floatToPcm16, pcm16Bytes } from "../../lib/audio/mod.ts";

/** The sample rate of everything inside stt-worker and on `audio/pcm/<source>`. */
export const SAMPLE_RATE = 16_000;

/** Bytes of one PCM16LE mono 16 kHz frame of `frameMs` milliseconds. */
export function frameBytes(frameMs: number): number {
  return (SAMPLE_RATE / 1000) * frameMs * 2;
}

/** Averages the channels into one. */
export function downmix(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const out = new Float32Array(channels[0].length);
  for (const channel of channels) {
    for (let i = 0; i < out.length; i++) out[i] += channel[i] / channels.length;
  }
  return out;
}

/**
 * Resamples mono float audio from `fromRate` to `toRate`: block averaging for integer
 * decimation (48 k → 16 k), linear interpolation otherwise (like py-tars' fan-out).
 */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return input;
  const ratio = fromRate / toRate;
  if (Number.isInteger(ratio)) {
    const out = new Float32Array(Math.floor(input.length / ratio));
    for (let i = 0; i < out.length; i++) {
      let sum = 0;
      for (let k = 0; k < ratio; k++) sum += input[i * ratio + k];
      out[i] = sum / ratio;
    }
    return out;
  }
  const length = Math.floor(input.length / ratio);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const position = i * ratio;
    const left = Math.floor(position);
    const right = Math.min(left + 1, input.length - 1);
    const fraction = position - left;
    out[i] = input[left] * (1 - fraction) + input[right] * fraction;
  }
  return out;
}

/** Root mean square of PCM16LE bytes on the int16 scale (0..32768), like py-tars. */
export function rmsPcm16(pcm: Uint8Array): number {
  const count = pcm.length >> 1;
  if (count === 0) return 0;
  const view = new DataView(pcm.buffer, pcm.byteOffset, count * 2);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const s = view.getInt16(i * 2, true);
    sum += s * s;
  }
  return Math.sqrt(sum / count);
}

/** Any WAV file → PCM16LE mono 16 kHz bytes. */
export function wavToPcm16k(bytes: Uint8Array): Uint8Array {
  const wav = decodeWav(bytes);
  return pcm16Bytes(floatToPcm16(resample(downmix(wav.samples), wav.sampleRate, SAMPLE_RATE)));
}

/**
 * Cuts a byte stream arriving in arbitrary chunks into frames of exactly `size` bytes,
 * keeping the remainder for the next chunk.
 */
export class FrameChunker {
  readonly #size: number;
  #pending = new Uint8Array(0);

  /** @param size frame size in bytes (even). */
  constructor(size: number) {
    this.#size = size;
  }

  /** Adds bytes and returns the whole frames now available. */
  push(bytes: Uint8Array): Uint8Array[] {
    let buffer = bytes;
    if (this.#pending.length > 0) {
      buffer = new Uint8Array(this.#pending.length + bytes.length);
      buffer.set(this.#pending);
      buffer.set(bytes, this.#pending.length);
    }
    const frames: Uint8Array[] = [];
    let offset = 0;
    for (; offset + this.#size <= buffer.length; offset += this.#size) {
      frames.push(buffer.slice(offset, offset + this.#size));
    }
    this.#pending = buffer.slice(offset);
    return frames;
  }

  /** Bytes waiting for a whole frame. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Forgets the remainder. */
  reset(): void {
    this.#pending = new Uint8Array(0);
  }
}
