/**
 * Real speech audio for the ears' tests (stt-worker, wake-activation): espeak-ng speaks a phrase,
 * sox converts it. Nothing is synthesised by hand, so VAD, wake-word and transcriber code paths
 * see the same kind of signal a microphone gives.
 *
 * @module
 */

/** Options of {@linkcode speechWav}. */
export interface SpeechOptions {
  /** espeak-ng voice (default `en-us`). */
  voice?: string;
  /** Words per minute (default 150). */
  wordsPerMinute?: number;
  /** Seconds of silence before the speech (default 0.5). */
  leadSilenceSec?: number;
  /** Seconds of silence after the speech (default 1.0). */
  tailSilenceSec?: number;
  /** Output sample rate (default 16000). */
  sampleRate?: number;
  /** Output channels (default 1). */
  channels?: number;
}

async function run(command: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
}

/**
 * Writes `text` spoken by espeak-ng, padded with silence, as a 16-bit WAV file in `dir` and
 * returns its path. Rate and channels are converted by sox (default 16 kHz mono).
 */
export async function speechWav(
  dir: string,
  name: string,
  text: string,
  options: SpeechOptions = {},
): Promise<string> {
  const raw = `${dir}/${name}.espeak.wav`;
  const out = `${dir}/${name}.wav`;
  await run("espeak-ng", [
    "-v",
    options.voice ?? "en-us",
    "-s",
    String(options.wordsPerMinute ?? 150),
    "-w",
    raw,
    text,
  ]);
  await run("sox", [
    "-D", // no dither: sox's default dither is random, and tests want the same audio every run
    raw,
    "-b",
    "16",
    "-r",
    String(options.sampleRate ?? 16_000),
    "-c",
    String(options.channels ?? 1),
    out,
    "pad",
    String(options.leadSilenceSec ?? 0.5),
    String(options.tailSilenceSec ?? 1.0),
  ]);
  await Deno.remove(raw);
  return out;
}

/** Writes `seconds` of digital silence as a 16 kHz mono 16-bit WAV file and returns its path. */
export async function silenceWav(dir: string, name: string, seconds: number): Promise<string> {
  const out = `${dir}/${name}.wav`;
  // -D: without it sox dithers even the null input, giving ±1 LSB of random noise
  await run("sox", [
    "-D",
    "-n",
    "-b",
    "16",
    "-r",
    "16000",
    "-c",
    "1",
    out,
    "trim",
    "0",
    String(seconds),
  ]);
  return out;
}

/**
 * Reads any audio file sox understands as raw PCM16LE mono 16 kHz bytes (the `audio/pcm/<source>`
 * wire format).
 */
export async function pcm16k(path: string): Promise<Uint8Array> {
  const output = await new Deno.Command("sox", {
    args: [
      "-D", // no (random) dither
      path,
      "-t",
      "raw",
      "-e",
      "signed-integer",
      "-b",
      "16",
      "-L",
      "-r",
      "16000",
      "-c",
      "1",
      "-",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`sox could not read ${path}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return output.stdout;
}

/** Splits PCM16 bytes into frames of `frameMs` milliseconds at 16 kHz (the last may be shorter). */
export function pcmFrames(pcm: Uint8Array, frameMs = 20): Uint8Array[] {
  const frameBytes = 16 * frameMs * 2;
  const frames: Uint8Array[] = [];
  for (let offset = 0; offset < pcm.length; offset += frameBytes) {
    frames.push(pcm.subarray(offset, Math.min(offset + frameBytes, pcm.length)));
  }
  return frames;
}

/**
 * Deterministic white noise at int16 RMS `rms` (a quiet room: 60 ≈ -55 dBFS) added to PCM16LE
 * 16 kHz mono `pcm`, or `seconds` of it alone when `pcm` is a duration. Same seed, same noise.
 */
export function roomNoise(pcm: Uint8Array | number, rms: number, seed = 99): Uint8Array {
  const input = typeof pcm === "number"
    ? new Int16Array(Math.round(pcm * 16_000))
    : new Int16Array(pcm.slice().buffer, 0, pcm.length >> 1);
  const out = new Int16Array(input.length);
  const scale = rms * Math.sqrt(12); // uniform(-0.5, 0.5) has RMS 1/sqrt(12)
  let state = seed;
  for (let i = 0; i < input.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const noise = (state / 2 ** 32 - 0.5) * scale;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(input[i] + noise)));
  }
  return new Uint8Array(out.buffer);
}
