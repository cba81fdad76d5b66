/**
 * Audio sources (AUDIO_SOURCE): one {@linkcode AudioSource} interface yielding PCM16LE mono
 * 16 kHz frames of CHUNK_DURATION_MS, with three implementations:
 * - {@linkcode FileAudioSource}: a WAV file (any rate/channels), resampled and paced in real
 *   time (or faster, for tests and demos);
 * - {@linkcode AlsaAudioSource}: an `arecord` subprocess (AUDIO_DEVICE_NAME), restarted with
 *   backoff when it dies;
 * - {@linkcode MqttAudioSource}: frames another machine or the browser publishes on
 *   `audio/pcm/<AUDIO_MQTT_SOURCE>`, re-cut to whole frames.
 *
 * {@linkcode createAudioSource} builds the one AUDIO_SOURCE names.
 *
 * @module
 */
import type { Logger, MqttClient } from "../../../core/mod.ts";
import type { SttConfig } from "../config.ts";
import { AlsaAudioSource } from "./alsa.ts";
import { FileAudioSource } from "./file.ts";
import { MqttAudioSource } from "./mqtt.ts";
import type { AudioSource } from "./source.ts";

export {
  type AudioSource,
  type AudioSourceStats,
  FrameQueue,
  type SourceErrorHandler,
} from "./source.ts";
export { AlsaAudioSource, type AlsaAudioSourceOptions } from "./alsa.ts";
export { FileAudioSource, type FileAudioSourceOptions, readWavFile } from "./file.ts";
export { MqttAudioSource, type MqttAudioSourceOptions } from "./mqtt.ts";

/**
 * Builds the audio source AUDIO_SOURCE names; `filePcm` is AUDIO_FILE's audio when it was
 * already read (by {@linkcode readWavFile}), so the file source does not read it again.
 */
export function createAudioSource(
  config: SttConfig,
  client: MqttClient,
  logger: Logger,
  filePcm?: Uint8Array,
): AudioSource {
  const { audio } = config;
  switch (audio.source) {
    case "file":
      return new FileAudioSource({
        path: audio.file!,
        frameMs: audio.frameMs,
        speed: audio.fileSpeed,
        loop: audio.fileLoop,
        pcm: filePcm,
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
