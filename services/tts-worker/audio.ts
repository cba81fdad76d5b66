/**
 * Mono PCM16 audio: the unit engines produce and sinks consume, WAV encoding and decoding,
 * resampling and base64.
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

/** A 44-byte RIFF/WAVE header followed by the samples (PCM16LE mono). */
export function encodeWav(audio: PcmAudio): Uint8Array {
  const dataBytes = audio.samples.length * 2;
  const out = new Uint8Array(44 + dataBytes);
  const view = new DataView(out.buffer);
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i);
  };
  ascii(0, "RIFF");
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, audio.sampleRate, true);
  view.setUint32(28, audio.sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, "data");
  view.setUint32(40, dataBytes, true);
  out.set(pcmBytes(audio.samples), 44);
  return out;
}

/**
 * Decodes a PCM16 WAV (mono, or the first channel of a multi-channel file). A `data` size of
 * 0 or 0xFFFFFFFF/0x7FFFFFFF (a WAV streamed to stdout, as espeak-ng writes) means "to the end".
 *
 * @throws an Error naming what is wrong when the bytes are not a PCM16 WAV.
 */
export function decodeWav(bytes: Uint8Array): PcmAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") {
    throw new Error(`not a WAV file (${bytes.length} bytes, no RIFF/WAVE header)`);
  }
  let offset = 12;
  let sampleRate = 0;
  let channels = 0;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      const format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      const bits = view.getUint16(body + 14, true);
      if ((format !== 1 && format !== 0xfffe) || bits !== 16) {
        throw new Error(`unsupported WAV encoding (format ${format}, ${bits} bits): need PCM16`);
      }
    } else if (id === "data") {
      if (!sampleRate || !channels) throw new Error("WAV data chunk before its fmt chunk");
      const available = bytes.length - body;
      const length = size === 0 || size >= 0x7fffffff ? available : Math.min(size, available);
      const frames = Math.floor(length / (2 * channels));
      const samples = new Int16Array(frames);
      for (let i = 0; i < frames; i++) samples[i] = view.getInt16(body + i * 2 * channels, true);
      return { sampleRate, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new Error("WAV file has no data chunk");
}

/** The little-endian bytes of `samples` (a copy on big-endian hosts, a view otherwise). */
export function pcmBytes(samples: Int16Array): Uint8Array {
  return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
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

/**
 * Float samples in any range to PCM16, scaled so the loudest sample is full scale (as
 * Piper's `audio_float_to_int16` does; a near-silent signal is not amplified past 0.01).
 */
export function floatToPcm16(samples: Float32Array): Int16Array {
  let max = 0.01;
  for (const s of samples) {
    const a = Math.abs(s);
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
