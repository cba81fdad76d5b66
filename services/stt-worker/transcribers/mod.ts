/**
 * Transcribers (STT_BACKEND), one {@linkcode Transcriber} interface:
 * - {@linkcode OpenAiTranscriber}: any OpenAI-compatible `POST /audio/transcriptions`
 *   (OpenAI, whisper.cpp server, faster-whisper servers), multipart WAV upload;
 * - {@linkcode WsTranscriber}: py-tars' stt-ws protocol (init, one binary PCM frame, end →
 *   final);
 * - {@linkcode SherpaTranscriber}: a local Whisper or Moonshine model directory via
 *   sherpa-onnx-node. Nothing is downloaded at run time.
 *
 * {@linkcode createTranscriber} builds the one STT_BACKEND names.
 *
 * @module
 */
import { ConfigError } from "../../../core/mod.ts";
import type { SttConfig } from "../config.ts";
import { OpenAiTranscriber } from "./openai.ts";
import { SherpaTranscriber } from "./sherpa.ts";
import type { Transcriber } from "./transcriber.ts";
import { WsTranscriber } from "./ws.ts";

export {
  probabilityFromLogprob,
  type TranscribeOptions,
  type Transcriber,
  type Transcript,
} from "./transcriber.ts";
export {
  OpenAiTranscriber,
  type OpenAiTranscriberOptions,
  parseOpenAiTranscription,
} from "./openai.ts";
export { WsTranscriber, type WsTranscriberOptions } from "./ws.ts";
export {
  findSherpaModel,
  SHERPA_MODEL_FILES_HELP,
  type SherpaModelFiles,
  SherpaTranscriber,
  type SherpaTranscriberOptions,
} from "./sherpa.ts";

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
