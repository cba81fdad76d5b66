/**
 * Starts stt-worker in-process for integration tests: a real broker client, the real Silero
 * VAD, the real OpenAI transcriber pointed at a local fake server, and any audio source.
 *
 * @module
 */
import { getLogger, type MqttClient } from "../../core/mod.ts";
import { readSttConfig, type SttConfig } from "../../services/stt-worker/config.ts";
import { createAudioSource } from "../../services/stt-worker/sources/mod.ts";
import { startSttWorker, type SttService } from "../../services/stt-worker/service.ts";
import { OpenAiTranscriber } from "../../services/stt-worker/transcribers/mod.ts";
import { SileroVad } from "../../services/stt-worker/vad.ts";

/** Starts the worker with `env` (OPENAI_BASE_URL should point at the fake server). */
export async function startTestStt(
  client: MqttClient,
  env: Record<string, string>,
): Promise<{ service: SttService; config: SttConfig }> {
  const config = readSttConfig(env);
  const logger = getLogger("stt-test");
  const t = config.transcriber.openai;
  const service = await startSttWorker({ client, logger }, {
    config,
    source: createAudioSource(config, client, logger),
    vad: await SileroVad.load(),
    transcriber: new OpenAiTranscriber({
      baseUrl: t.baseUrl,
      apiKey: t.apiKey,
      model: t.model,
      language: config.transcriber.language,
      responseFormat: t.responseFormat,
      timeoutMs: t.timeoutMs,
    }),
  });
  return { service, config };
}
