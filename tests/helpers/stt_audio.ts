/**
 * Test audio for stt-worker, made once per process: espeak-ng phrases padded with silence
 * (tests/helpers/speech_audio.ts) and low-level seeded white noise, as PCM16LE 16 kHz mono
 * bytes and WAV files.
 *
 * @module
 */
import { pcm16k, roomNoise, silenceWav, speechWav } from "./speech_audio.ts";

/** The clips. */
export interface SttClips {
  /** Folder holding the WAV files (removed at process exit is not needed: a temp dir). */
  readonly dir: string;
  /** "what time is it", 1.0 s silence before, 1.5 s after: WAV path. */
  readonly questionWav: string;
  /** The same as PCM. */
  readonly question: Uint8Array;
  /** 3 s of digital silence: PCM. */
  readonly silence: Uint8Array;
  /** 3 s of quiet white noise (about RMS 100): PCM. */
  readonly noise: Uint8Array;
  /** "tell me a joke", padded like the question: PCM. */
  readonly joke: Uint8Array;
}

let clips: Promise<SttClips> | undefined;

/** Makes (once) and returns the clips. */
export function sttClips(): Promise<SttClips> {
  clips ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "stt-clips-" });
    const questionWav = await speechWav(dir, "question", "what time is it", {
      leadSilenceSec: 1.0,
      tailSilenceSec: 1.5,
    });
    const jokeWav = await speechWav(dir, "joke", "tell me a joke", {
      leadSilenceSec: 1.0,
      tailSilenceSec: 1.5,
    });
    const silence = await silenceWav(dir, "silence", 3);
    return {
      dir,
      questionWav,
      question: await pcm16k(questionWav),
      silence: await pcm16k(silence),
      // RMS ≈ 95, what the former sox `synth whitenoise vol 0.005` clip had
      noise: roomNoise(3, 95),
      joke: await pcm16k(jokeWav),
    };
  })();
  return clips;
}
