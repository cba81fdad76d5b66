/**
 * {@linkcode WsTranscriber}: py-tars' stt-ws protocol (init, one binary PCM frame, end →
 * final), one WebSocket per utterance.
 *
 * @module
 */
import { SAMPLE_RATE } from "../pcm.ts";
import type { TranscribeOptions, Transcriber, Transcript } from "./transcriber.ts";

/** Options of {@linkcode WsTranscriber}. */
export interface WsTranscriberOptions {
  /** The stt-ws endpoint (WS_URL), e.g. ws://host:9000/stt. */
  readonly url: string;
  /** Language (STT_LANGUAGE). */
  readonly language: string;
  /** Per utterance, ms. */
  readonly timeoutMs: number;
}

/** py-tars' stt-ws protocol, one WebSocket per utterance. */
export class WsTranscriber implements Transcriber {
  /** Always "ws". */
  readonly name = "ws";
  readonly #o: WsTranscriberOptions;

  /** @param options endpoint. */
  constructor(options: WsTranscriberOptions) {
    this.#o = options;
  }

  /** init → PCM → end → final. */
  transcribe(pcm: Uint8Array, options: TranscribeOptions = {}): Promise<Transcript> {
    const { url, language, timeoutMs } = this.#o;
    return new Promise<Transcript>((resolve, reject) => {
      let settled = false;
      let socket: WebSocket;
      try {
        socket = new WebSocket(url);
      } catch (error) {
        reject(new Error(`ws transcription: bad WS_URL ${url}: ${(error as Error).message}`));
        return;
      }
      socket.binaryType = "arraybuffer";
      const finish = (error: Error | null, result?: Transcript) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        try {
          socket.close();
        } catch { /* closing anyway */ }
        if (error) reject(error);
        else resolve(result!);
      };
      const timer = setTimeout(
        () => finish(new Error(`ws transcription at ${url}: no final within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onAbort = () => finish(new Error("ws transcription aborted"));
      options.signal?.addEventListener("abort", onAbort, { once: true });
      socket.onopen = () => {
        socket.send(JSON.stringify({
          type: "init",
          sample_rate: SAMPLE_RATE,
          lang: language,
          enable_partials: false,
        }));
        socket.send(pcm);
        socket.send(JSON.stringify({ type: "end" }));
      };
      socket.onmessage = (event) => {
        if (typeof event.data !== "string") return;
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(event.data);
        } catch {
          return; // not ours; keep waiting
        }
        if (message.type === "final") {
          const confidence = typeof message.confidence === "number" &&
              message.confidence >= 0 && message.confidence <= 1
            ? message.confidence
            : null;
          finish(null, {
            text: String(message.text ?? "").trim(),
            confidence,
            language: typeof message.lang === "string" ? message.lang : null,
          });
        } else if (message.type === "error") {
          finish(
            new Error(
              `ws transcription at ${url}: server error ${
                String(message.error ?? message.message ?? "")
              }`,
            ),
          );
        }
      };
      socket.onerror = (event) => {
        const detail = (event as ErrorEvent).message ?? "connection error";
        finish(new Error(`ws transcription at ${url} failed: ${detail}; check WS_URL`));
      };
      socket.onclose = (event) => {
        finish(
          new Error(
            `ws transcription at ${url}: closed (${event.code}) before a final; check WS_URL`,
          ),
        );
      };
    });
  }

  /** Nothing to free. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
