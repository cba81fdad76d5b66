/**
 * stt-worker: owns the microphone (AUDIO_SOURCE alsa, file or mqtt), publishes every frame
 * on `audio/pcm/<AUDIO_SOURCE_NAME>`, finds utterances with Silero VAD and the noise gate,
 * transcribes them (STT_BACKEND openai, ws or sherpa), suppresses echoes, repeats and noise,
 * and publishes stt/final (and stt/partial). Client id `tars-stt` like py-tars.
 *
 * @module
 */
import { ConfigError, runService } from "../../core/mod.ts";
import { readSttConfig, type SttConfig } from "./config.ts";
import { startSttWorker } from "./service.ts";
import { createAudioSource, readWavFile } from "./sources/mod.ts";
import { createTranscriber, type Transcriber } from "./transcribers/mod.ts";
import { loadVad, type SileroVad } from "./vad.ts";

/** What stt-worker loads before it connects. */
export interface SttModels {
  /** Silero VAD (VAD_MODEL_PATH). */
  readonly vad: SileroVad;
  /** The transcriber of STT_BACKEND (a sherpa model from SHERPA_MODEL_DIR). */
  readonly transcriber: Transcriber;
  /** AUDIO_FILE's audio (AUDIO_SOURCE=file), handed to the file source. */
  readonly filePcm?: Uint8Array;
}

/**
 * What stt-worker checks and loads before it connects: the WAV file of AUDIO_SOURCE=file,
 * the VAD and the transcriber. A bad AUDIO_FILE, VAD_MODEL_PATH, SHERPA_MODEL_DIR or
 * STT_LANGUAGE is a `ConfigError` (exit 78).
 */
export async function prepareSttWorker(config: SttConfig): Promise<SttModels> {
  let filePcm: Uint8Array | undefined;
  if (config.audio.source === "file") {
    try {
      filePcm = await readWavFile(config.audio.file!);
    } catch (error) {
      throw new ConfigError([{
        variable: "AUDIO_FILE",
        value: config.audio.file!,
        expected: (error as Error).message,
      }], "stt-worker configuration");
    }
  }
  const vad = await loadVad(config);
  try {
    return { vad, transcriber: await createTranscriber(config), filePcm };
  } catch (error) {
    await vad.close();
    throw error;
  }
}

/** Closes what {@linkcode prepareSttWorker} loaded. */
export async function closeSttModels({ vad, transcriber }: SttModels): Promise<void> {
  await Promise.allSettled([vad.close(), transcriber.close()]);
}

if (import.meta.main) {
  await runService("stt-worker", {
    readConfig: readSttConfig,
    prepare: prepareSttWorker,
    release: closeSttModels,
    main: async ({ client, logger, config, prepared: { vad, transcriber, filePcm } }) => {
      // The MQTT source needs the client, so every source is built here.
      const source = createAudioSource(config, client, logger, filePcm);
      try {
        return await startSttWorker({ client, logger }, { config, source, vad, transcriber });
      } catch (error) {
        await source.close().catch(() => {});
        if (config.audio.source === "file" || config.audio.source === "alsa") {
          const variable = config.audio.source === "file" ? "AUDIO_FILE" : "AUDIO_SOURCE";
          throw new ConfigError([{
            variable,
            value: config.audio.source === "file" ? config.audio.file! : "alsa",
            expected: (error as Error).message,
          }], "stt-worker configuration");
        }
        throw error;
      }
    },
  });
}
