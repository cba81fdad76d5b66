/**
 * The one WAV/PCM codec of TARS: RIFF/WAVE files in (PCM 8/16/24/32-bit, float 32/64-bit,
 * any rate and channel count, with a size limit) and out (PCM16 mono), and the conversions
 * between float samples and PCM16. Pure functions, no I/O; services keep their own
 * resampling, framing and level meters.
 *
 * @example
 * ```ts
 * import { decodeWav, encodeWav, floatToPcm16, pcm16ToFloat } from "./mod.ts";
 *
 * const pcm = floatToPcm16(Float32Array.of(0, 0.5, -1));
 * const wav = encodeWav(pcm, 16_000);
 * const decoded = decodeWav(wav); // { sampleRate: 16000, channels: 1, samples: [Float32Array] }
 * console.log(decoded.samples[0], pcm16ToFloat(pcm)); // the same values
 * ```
 *
 * @module
 */
export {
  type DecodedWav,
  decodeWav,
  decodeWavPcm16,
  DEFAULT_MAX_WAV_DATA_BYTES,
  encodeWav,
  parseWav,
  type WavData,
  type WavReadOptions,
} from "./wav.ts";
export {
  floatToPcm16,
  normalizeToPcm16,
  PCM16_SCALE,
  pcm16Bytes,
  pcm16ToFloat,
  type PcmAudio,
} from "./pcm16.ts";
