/**
 * PCM helpers: WAV parsing (any rate, channels, 8/16/24/32-bit integer or 32-bit float),
 * down-mixing and resampling to 16 kHz mono PCM16LE, fixed-size framing, RMS and WAV
 * encoding. Pure functions, no I/O.
 *
 * @module
 */

/** The sample rate of everything inside stt-worker and on `audio/pcm/<source>`. */
export const SAMPLE_RATE = 16_000;

/** Bytes of one PCM16LE mono 16 kHz frame of `frameMs` milliseconds. */
export function frameBytes(frameMs: number): number {
  return (SAMPLE_RATE / 1000) * frameMs * 2;
}

/** A decoded WAV file: float samples per channel in [-1, 1]. */
export interface DecodedWav {
  /** Samples per second. */
  readonly sampleRate: number;
  /** Channel count. */
  readonly channels: number;
  /** One array per channel. */
  readonly samples: Float32Array[];
}

/**
 * Decodes a RIFF/WAVE file: PCM 8/16/24/32-bit or IEEE float 32/64-bit, WAVE_FORMAT_EXTENSIBLE
 * included.
 *
 * @throws Error saying what is wrong with the file (not RIFF, no fmt/data chunk, codec).
 */
export function decodeWav(bytes: Uint8Array): DecodedWav {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || text(0) !== "RIFF" || text(8) !== "WAVE") {
    throw new Error("not a WAV file (no RIFF/WAVE header); convert it with sox or ffmpeg");
  }
  let offset = 12;
  let format = 0;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  let data: Uint8Array | undefined;
  while (offset + 8 <= bytes.length) {
    const id = text(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
      if (format === 0xfffe && size >= 26) format = view.getUint16(body + 24, true);
    } else if (id === "data") {
      // Streams written to a pipe carry a size of 0 or 0xffffffff: take the rest of the file.
      const end = size === 0 || size === 0xffffffff ? bytes.length : body + size;
      data = bytes.subarray(body, Math.min(end, bytes.length));
      break;
    }
    offset = body + size + (size % 2);
  }
  if (format === 0) throw new Error("WAV file without a fmt chunk");
  if (!data) throw new Error("WAV file without a data chunk");
  if (channels < 1 || sampleRate < 1000) {
    throw new Error(`WAV file with ${channels} channels at ${sampleRate} Hz is not usable`);
  }
  const isFloat = format === 3;
  if (
    !(format === 1 || isFloat) || (isFloat && bits !== 32 && bits !== 64) ||
    (!isFloat && ![8, 16, 24, 32].includes(bits))
  ) {
    throw new Error(
      `WAV codec ${format} with ${bits}-bit samples is not supported; use PCM 8/16/24/32-bit ` +
        "or float 32/64-bit (e.g. sox in.wav -b 16 out.wav)",
    );
  }
  const bytesPerSample = bits / 8;
  const count = Math.floor(data.length / (bytesPerSample * channels));
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const samples = Array.from({ length: channels }, () => new Float32Array(count));
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < channels; c++) {
      const at = (i * channels + c) * bytesPerSample;
      let value: number;
      if (isFloat) value = bits === 32 ? dv.getFloat32(at, true) : dv.getFloat64(at, true);
      else if (bits === 8) value = (dv.getUint8(at) - 128) / 128;
      else if (bits === 16) value = dv.getInt16(at, true) / 32768;
      else if (bits === 24) {
        const raw = dv.getUint8(at) | (dv.getUint8(at + 1) << 8) | (dv.getInt8(at + 2) << 16);
        value = raw / 8388608;
      } else value = dv.getInt32(at, true) / 2147483648;
      samples[c][i] = value;
    }
  }
  return { sampleRate, channels, samples };
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

/** Float samples in [-1, 1] → PCM16LE bytes (clipped). */
export function floatToPcm16(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) {
    const value = Math.round(samples[i] * 32768);
    view.setInt16(i * 2, Math.max(-32768, Math.min(32767, value)), true);
  }
  return out;
}

/** PCM16LE bytes → float samples in [-1, 1). An odd last byte is ignored. */
export function pcm16ToFloat(pcm: Uint8Array): Float32Array {
  const count = pcm.length >> 1;
  const view = new DataView(pcm.buffer, pcm.byteOffset, count * 2);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true) / 32768;
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
  return floatToPcm16(resample(downmix(wav.samples), wav.sampleRate, SAMPLE_RATE));
}

/** Wraps PCM16LE mono bytes in a WAV header (for transcription uploads). */
export function encodeWav(pcm: Uint8Array, sampleRate = SAMPLE_RATE): Uint8Array {
  const out = new Uint8Array(44 + pcm.length);
  const view = new DataView(out.buffer);
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i);
  };
  ascii(0, "RIFF");
  view.setUint32(4, 36 + pcm.length, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, "data");
  view.setUint32(40, pcm.length, true);
  out.set(pcm, 44);
  return out;
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
