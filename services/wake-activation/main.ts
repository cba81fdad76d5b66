/**
 * wake-activation: listens to microphone PCM on `audio/pcm/+` (WAKE_AUDIO_TOPIC), detects the
 * wake word with openWakeWord on onnxruntime-node (the bundled hey_jarvis model by default,
 * any openWakeWord keyword `.onnx` via WAKE_MODEL_PATH) and publishes wake/event, wake/mic
 * and tts/control: wake, interrupt of speaking TTS, resume, cancel and idle timeout.
 *
 * @module
 */
import { ConfigError, runService } from "../../core/mod.ts";
import { readWakeConfig, type WakeConfig } from "./config.ts";
import { bundledKeywordModel, DEFAULT_KEYWORD } from "./models.ts";
import { OpenWakeWordScorer } from "./openwakeword.ts";
import { startWakeActivation } from "./service.ts";

/** Loads an openWakeWord scorer for `config`; a bad model is a `ConfigError` (exit 78). */
export async function loadScorer(config: WakeConfig): Promise<OpenWakeWordScorer> {
  const modelPath = config.modelPath ?? bundledKeywordModel(DEFAULT_KEYWORD);
  try {
    return await OpenWakeWordScorer.load({
      modelPath,
      melspectrogramPath: config.melspectrogramPath,
      embeddingPath: config.embeddingPath,
      threads: config.threads,
      quietEnergy: config.quietEnergy,
    });
  } catch (error) {
    const message = (error as Error).message;
    const variable = message.includes(" melspectrogram model ")
      ? "WAKE_MELSPEC_MODEL_PATH"
      : message.includes(" embedding model ")
      ? "WAKE_EMBEDDING_MODEL_PATH"
      : "WAKE_MODEL_PATH";
    throw new ConfigError([{
      variable,
      value: variable === "WAKE_MODEL_PATH" ? modelPath : String(
        variable === "WAKE_MELSPEC_MODEL_PATH" ? config.melspectrogramPath : config.embeddingPath,
      ),
      expected: `a loadable openWakeWord .onnx model (${message})`,
    }], "wake-activation configuration");
  }
}

if (import.meta.main) {
  await runService("wake-activation", {
    readConfig: readWakeConfig,
    // A bad model exits 78 before connecting. (py-tars published wake/event "error",
    // cause "model_unavailable", first; that needs the broker this check must not wait for.)
    prepare: loadScorer,
    release: (scorer) => scorer.close(),
    main: async ({ client, logger, config, prepared: scorer }) => {
      logger.info("Wake model {model} (window {window}), threshold {threshold}", {
        model: scorer.name,
        window: scorer.windowSize,
        threshold: config.gate.threshold,
      });
      return await startWakeActivation({ client, logger }, {
        config,
        firstScorer: scorer,
        createScorer: () => loadScorer(config),
      });
    },
  });
}
