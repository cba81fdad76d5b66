/**
 * Builds the sink of `TTS_SINK`.
 *
 * @module
 */
import type { Logger, MqttClient } from "../../../core/mod.ts";
import type { TtsConfig } from "../config.ts";
import { AlsaAudioSink } from "./alsa.ts";
import { FileAudioSink } from "./file.ts";
import { MqttAudioSink } from "./mqtt.ts";
import type { AudioSink } from "./sink.ts";

export type { AudioSink, SinkStream, UtteranceInfo } from "./sink.ts";
export { AlsaAudioSink, playerArgs } from "./alsa.ts";
export { FileAudioSink } from "./file.ts";
export { MqttAudioSink } from "./mqtt.ts";

/** The sink of `config.sink`. */
export function createSink(
  config: TtsConfig,
  client: Pick<MqttClient, "publishEvent">,
  logger: Logger,
): AudioSink {
  switch (config.sink) {
    case "alsa":
      return new AlsaAudioSink({
        player: config.alsaPlayer,
        device: config.alsaDevice,
        onPlayerError: (message) => logger.error("Audio player failed: {message}", { message }),
      });
    case "file":
      return new FileAudioSink(
        config.outputDir,
        (path) => logger.info("Wrote {path}", { path }),
      );
    case "mqtt":
      return new MqttAudioSink(client);
  }
}
