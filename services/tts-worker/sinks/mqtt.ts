/**
 * The mqtt sink: PCM16LE mono chunks, base64, on `tts/audio` for ui-web's browser player.
 * Each write is one chunk (`seq` from 0); the end of an utterance (normal or stopped) is an
 * empty chunk with `final: true`. The first chunk also says how long its synthesis took
 * (`synthesis_ms`), so latency traces can tell the engine's time from the suite's.
 *
 * @module
 */
import { type MqttClient, topics, type TtsAudioChunk } from "../../../core/mod.ts";
import { pcm16Bytes } from "../../../lib/audio/mod.ts";
import { toBase64 } from "../audio.ts";
import type { AudioSink, SinkStream, UtteranceInfo } from "./sink.ts";

/** Publishes audio chunks through the service's client. */
export class MqttAudioSink implements AudioSink {
  readonly name = "mqtt";
  readonly realtime = true;
  readonly #client: Pick<MqttClient, "publishEvent">;

  /** Builds the sink on a connected client. */
  constructor(client: Pick<MqttClient, "publishEvent">) {
    this.#client = client;
  }

  /** Starts an utterance; chunks are numbered from 0. */
  open(utterance: UtteranceInfo, sampleRate: number): Promise<SinkStream> {
    const client = this.#client;
    let seq = 0;
    let ended = false;
    const publish = async (samples: Int16Array, final: boolean) => {
      const chunk: TtsAudioChunk = {
        utt_id: utterance.uttId,
        seq: seq++,
        sample_rate: sampleRate,
        channels: 1,
        format: "pcm_s16le",
        data: toBase64(pcm16Bytes(samples)),
        final,
      };
      if (chunk.seq === 0 && utterance.synthesisMs !== undefined) {
        chunk.synthesis_ms = Math.round(utterance.synthesisMs * 100) / 100;
      }
      await client.publishEvent(topics.ttsAudio, chunk);
    };
    const end = async () => {
      if (ended) return;
      ended = true;
      await publish(new Int16Array(0), true);
    };
    return Promise.resolve({
      write: async (samples) => {
        if (!ended) await publish(samples, false);
      },
      pause: () => {},
      resume: () => {},
      finish: end,
      abort: end,
    });
  }

  /** Nothing to free. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
