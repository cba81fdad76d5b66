/**
 * RIFF/WAVE reading and writing: PCM 8/16/24/32-bit and IEEE float 32/64-bit in, PCM16 mono
 * out. Pure functions, no I/O.
 *
 * @module
 */
import { floatToPcm16, pcm16Bytes, type PcmAudio } from "./pcm16.ts";

/** Default {@linkcode WavReadOptions.maxDataBytes}: 256 MiB (over 2 h of 16 kHz mono PCM16). */
export const DEFAULT_MAX_WAV_DATA_BYTES = 256 * 1024 * 1024;

/** Options of the WAV readers. */
export interface WavReadOptions {
  /**
   * The largest sample data accepted, in bytes; a longer file is refused before any sample
   * is decoded (decoding allocates up to 4× the data size per channel). Default
   * {@linkcode DEFAULT_MAX_WAV_DATA_BYTES}.
   */
  readonly maxDataBytes?: number;
}

/** The format and raw sample bytes of a WAV file ({@linkcode parseWav}). */
export interface WavData {
  /** `pcm` (integer samples, WAVE_FORMAT_PCM) or `float` (IEEE float). */
  readonly encoding: "pcm" | "float";
  /** Samples per second. */
  readonly sampleRate: number;
  /** Channel count. */
  readonly channels: number;
  /** Bits of one sample: 8/16/24/32 for `pcm`, 32/64 for `float`. */
  readonly bitsPerSample: number;
  /** The interleaved sample bytes: a view into the input, whole frames only. */
  readonly data: Uint8Array;
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

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/**
 * Reads the header of a RIFF/WAVE file and finds its sample data, without decoding it.
 * WAVE_FORMAT_EXTENSIBLE is read as its sub-format. A `data` size of 0 or ≥ 0x7FFFFFFF (a WAV
 * streamed to a pipe, as `espeak-ng --stdout` and `sox ... -` write it) means "to the end of the
 * bytes"; a size larger than the bytes is cut to what is there, and a partial last frame is
 * dropped.
 *
 * @throws Error saying what is wrong (not RIFF/WAVE, truncated or missing fmt chunk, no data
 *   chunk, unsupported codec, data over `maxDataBytes`) and how to convert the file.
 */
export function parseWav(bytes: Uint8Array, options: WavReadOptions = {}): WavData {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") {
    throw new Error(
      `not a WAV file (${bytes.length} bytes, no RIFF/WAVE header); convert it with sox or ffmpeg`,
    );
  }
  let format = 0;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.length) {
        throw new Error(
          `WAV fmt chunk is truncated (${Math.min(size, bytes.length - body)} of 16 bytes)`,
        );
      }
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
      if (format === WAVE_FORMAT_EXTENSIBLE && size >= 26 && body + 26 <= bytes.length) {
        format = view.getUint16(body + 24, true);
      }
    } else if (id === "data") {
      if (format === 0) throw new Error("WAV data chunk before its fmt chunk (or no fmt chunk)");
      return wavData(bytes.subarray(body), size, format, channels, sampleRate, bits, options);
    }
    offset = body + size + (size % 2);
  }
  if (format === 0) throw new Error("WAV file without a fmt chunk");
  throw new Error("WAV file without a data chunk");
}

function wavData(
  rest: Uint8Array,
  size: number,
  format: number,
  channels: number,
  sampleRate: number,
  bits: number,
  options: WavReadOptions,
): WavData {
  if (channels < 1 || sampleRate < 1000) {
    throw new Error(`WAV file with ${channels} channels at ${sampleRate} Hz is not usable`);
  }
  const isFloat = format === WAVE_FORMAT_IEEE_FLOAT;
  if (
    !(format === WAVE_FORMAT_PCM || isFloat) || (isFloat && bits !== 32 && bits !== 64) ||
    (!isFloat && ![8, 16, 24, 32].includes(bits))
  ) {
    throw new Error(
      `WAV codec ${format} with ${bits}-bit samples is not supported; use PCM 8/16/24/32-bit ` +
        "or float 32/64-bit (e.g. sox in.wav -b 16 out.wav)",
    );
  }
  const declared = size === 0 || size >= 0x7fffffff ? rest.length : Math.min(size, rest.length);
  const max = options.maxDataBytes ?? DEFAULT_MAX_WAV_DATA_BYTES;
  if (declared > max) {
    throw new Error(
      `WAV sample data of ${declared} bytes is over the ${max}-byte limit; ` +
        "cut the file (e.g. sox in.wav out.wav trim 0 60)",
    );
  }
  const frameBytes = (bits / 8) * channels;
  const length = declared - (declared % frameBytes);
  return {
    encoding: isFloat ? "float" : "pcm",
    sampleRate,
    channels,
    bitsPerSample: bits,
    data: rest.subarray(0, length),
  };
}

/**
 * Decodes a RIFF/WAVE file (see {@linkcode parseWav}) to float samples per channel: integer
 * samples divided by 2^(bits−1) (8-bit ones are unsigned, centred on 128), float ones as stored.
 *
 * @throws Error saying what is wrong with the file (see {@linkcode parseWav}).
 */
export function decodeWav(bytes: Uint8Array, options: WavReadOptions = {}): DecodedWav {
  const wav = parseWav(bytes, options);
  const { channels, bitsPerSample: bits, data } = wav;
  const bytesPerSample = bits / 8;
  const count = data.length / (bytesPerSample * channels);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const samples = Array.from({ length: channels }, () => new Float32Array(count));
  const isFloat = wav.encoding === "float";
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
  return { sampleRate: wav.sampleRate, channels, samples };
}

/**
 * Decodes a RIFF/WAVE file to mono PCM16: its first channel (a multi-channel file is not
 * mixed). 16-bit PCM samples are copied exactly; other formats go through
 * {@linkcode decodeWav} and {@linkcode floatToPcm16}.
 *
 * @throws Error saying what is wrong with the file (see {@linkcode parseWav}).
 */
export function decodeWavPcm16(bytes: Uint8Array, options: WavReadOptions = {}): PcmAudio {
  const wav = parseWav(bytes, options);
  if (wav.encoding !== "pcm" || wav.bitsPerSample !== 16) {
    return {
      sampleRate: wav.sampleRate,
      samples: floatToPcm16(decodeWav(bytes, options).samples[0]),
    };
  }
  const dv = new DataView(wav.data.buffer, wav.data.byteOffset, wav.data.byteLength);
  const stride = 2 * wav.channels;
  const samples = new Int16Array(wav.data.length / stride);
  for (let i = 0; i < samples.length; i++) samples[i] = dv.getInt16(i * stride, true);
  return { sampleRate: wav.sampleRate, samples };
}

/**
 * A canonical 44-byte RIFF/WAVE header (PCM, mono, 16-bit, `sampleRate`) followed by `pcm`:
 * int16 samples, or PCM16LE bytes (an odd byte count is written as it is).
 */
export function encodeWav(
  pcm: Int16Array | Uint8Array,
  sampleRate: number,
): Uint8Array<ArrayBuffer> {
  const bytes = pcm instanceof Int16Array ? pcm16Bytes(pcm) : pcm;
  const out = new Uint8Array(44 + bytes.length);
  const view = new DataView(out.buffer);
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i);
  };
  ascii(0, "RIFF");
  view.setUint32(4, 36 + bytes.length, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, WAVE_FORMAT_PCM, true);
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, "data");
  view.setUint32(40, bytes.length, true);
  out.set(bytes, 44);
  return out;
}
