/**
 * stt-worker: owns the microphone (AUDIO_SOURCE alsa, file or mqtt), publishes every frame
 * on `audio/pcm/<AUDIO_SOURCE_NAME>`, finds utterances with Silero VAD and the noise gate,
 * transcribes them (STT_BACKEND openai, ws or sherpa), suppresses echoes, repeats and noise,
 * and publishes stt/final (and stt/partial). Client id `tars-stt` like py-tars.
 *
 * @module
 */
import { ConfigError, runService } from "../../core/mod.ts";
import { readSttConfig } from "./config.ts";
import { startSttWorker } from "./service.ts";
import { createAudioSource } from "./sources/mod.ts";
import { createTranscriber, type Transcriber } from "./transcribers/mod.ts";
import { loadVad } from "./vad.ts";

if (import.meta.main) {
  await runService("stt-worker", {
    readConfig: readSttConfig,
    main: async ({ client, logger, config }) => {
      const vad = await loadVad(config);
      let transcriber: Transcriber;
      try {
        transcriber = await createTranscriber(config);
      } catch (error) {
        await vad.close();
        throw error;
      }
      const source = createAudioSource(config, client, logger);
      try {
        return await startSttWorker({ client, logger }, { config, source, vad, transcriber });
      } catch (error) {
        await Promise.allSettled([vad.close(), transcriber.close(), source.close()]);
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
