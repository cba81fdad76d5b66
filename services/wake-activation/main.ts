/**
 * wake-activation: listens to microphone PCM on `audio/pcm/+` (WAKE_AUDIO_TOPIC), detects the
 * wake word with openWakeWord on onnxruntime-node (the bundled hey_jarvis model by default,
 * any openWakeWord keyword `.onnx` via WAKE_MODEL_PATH) and publishes wake/event, wake/mic
 * and tts/control: wake, interrupt of speaking TTS, resume, cancel and idle timeout.
 *
 * @module
 */
import {
  ConfigError,
  type Logger,
  MqttClient,
  type MqttClientConfig,
  runService,
  topics,
} from "../../core/mod.ts";
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

/** How long a failed model load waits for a broker to announce it on (then just exits 78). */
const ANNOUNCE_TIMEOUT_MS = 2_000;

/**
 * Announces a model that does not load as wake/event `error` (cause `model_unavailable`), as
 * py-tars did before stopping, when a broker answers within {@linkcode ANNOUNCE_TIMEOUT_MS}:
 * the model is loaded before the service connects, so this is a short connection of its own
 * (health off). Never throws.
 */
export async function announceModelUnavailable(
  mqtt: Readonly<MqttClientConfig>,
  logger: Logger,
): Promise<void> {
  const client = new MqttClient({ ...mqtt, enableHealth: false, logger: logger.getChild("mqtt") });
  try {
    await client.connect({ timeoutMs: ANNOUNCE_TIMEOUT_MS });
    await client.publishEvent(topics.wakeEvent, {
      type: "error",
      cause: "model_unavailable",
      ts: Date.now() / 1000,
    });
  } catch {
    // No broker: the exit code and the message say it.
  } finally {
    await client.shutdown().catch(() => {});
  }
}

if (import.meta.main) {
  await runService("wake-activation", {
    readConfig: readWakeConfig,
    // A bad model exits 78 before connecting, even with no broker up.
    prepare: async (config, { mqtt, logger }) => {
      try {
        return await loadScorer(config);
      } catch (error) {
        await announceModelUnavailable(mqtt, logger);
        throw error;
      }
    },
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
