/**
 * Local stand-ins for stt-worker's remote transcribers, speaking the real protocols:
 * an OpenAI-compatible `POST /v1/audio/transcriptions` (multipart WAV upload → json or
 * verbose_json) and py-tars' stt-ws WebSocket (init, binary PCM, end → final). They cannot
 * recognise speech: each answers with the text the test chooses, and records the audio it
 * received so the test can check that the right audio arrived.
 *
 * @module
 */
import { concatPcm } from "./wake_audio.ts";

/** One request the fake received. */
export interface ReceivedAudio {
  /** PCM16LE mono bytes (the WAV data chunk, or the ws binary frames). */
  readonly pcm: Uint8Array;
  /** Sample rate the client declared. */
  readonly sampleRate: number;
  /** Form fields (openai) or the init message (ws). */
  readonly fields: Record<string, string>;
  /** The Authorization header (openai). */
  readonly authorization: string | null;
  /**
   * openai: ms the stand-in spent on the request, from its handler being called to the
   * answer being ready (reading the form, the WAV); set when it answers.
   */
  handlingMs?: number;
}

/** What the fake answers: a text, or an HTTP error / ws error. */
export type FakeReply = string | { status: number; body: string } | { hang: true };

/** A running fake server. */
export interface FakeServer extends AsyncDisposable {
  /** Base URL: `http://127.0.0.1:<port>/v1` or `ws://127.0.0.1:<port>/stt`. */
  readonly url: string;
  /** Requests received, in order. */
  readonly received: ReceivedAudio[];
  /** Sets the next answers (the last one repeats). */
  reply: (audio: ReceivedAudio) => FakeReply;
  /** Stops the server. */
  close(): Promise<void>;
}

/** The handle of a fake: its answers and received audio live on it. */
function fakeServer(
  url: string,
  reply: (audio: ReceivedAudio) => FakeReply,
  close: () => Promise<void>,
): FakeServer {
  return { url, received: [], reply, close, [Symbol.asyncDispose]: close };
}

/** Independent little WAV reader: checks the header the client must send, returns data. */
function readWav(bytes: Uint8Array): { pcm: Uint8Array; sampleRate: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (o: number) => new TextDecoder().decode(bytes.subarray(o, o + 4));
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE" || tag(12) !== "fmt " || tag(36) !== "data") {
    throw new Error("not a canonical WAV");
  }
  if (view.getUint16(20, true) !== 1 || view.getUint16(22, true) !== 1) {
    throw new Error("not PCM mono");
  }
  if (view.getUint16(34, true) !== 16) throw new Error("not 16-bit");
  const size = view.getUint32(40, true);
  return { pcm: bytes.slice(44, 44 + size), sampleRate: view.getUint32(24, true) };
}

/**
 * Starts an OpenAI-compatible transcription server on a free port. `verbose_json` answers
 * carry segments with `avg_logprob` −0.1 (confidence ≈ 0.905) and `no_speech_prob` 0.01.
 */
export function startFakeOpenAiTranscription(
  reply: (audio: ReceivedAudio) => FakeReply = () => "what time is it",
): FakeServer {
  const controller = new AbortController();
  // deno-lint-ignore prefer-const -- assigned once the port is known, before any request
  let fake: FakeServer;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen: () => {},
  }, async (request) => {
    const arrived = performance.now();
    const url = new URL(request.url);
    if (request.method !== "POST" || url.pathname !== "/v1/audio/transcriptions") {
      return Response.json({ error: { message: "not found" } }, { status: 404 });
    }
    let form: FormData;
    try {
      form = await request.formData();
    } catch {
      return Response.json({ error: { message: "expected multipart/form-data" } }, {
        status: 400,
      });
    }
    const file = form.get("file");
    if (!(file instanceof File) || !form.get("model")) {
      return Response.json({ error: { message: "file and model are required" } }, {
        status: 400,
      });
    }
    let wav;
    try {
      wav = readWav(new Uint8Array(await file.arrayBuffer()));
    } catch (error) {
      return Response.json({ error: { message: (error as Error).message } }, { status: 400 });
    }
    const fields: Record<string, string> = { filename: file.name };
    for (const [key, value] of form.entries()) if (typeof value === "string") fields[key] = value;
    const audio: ReceivedAudio = {
      ...wav,
      fields,
      authorization: request.headers.get("authorization"),
    };
    fake.received.push(audio);
    const answer = fake.reply(audio);
    audio.handlingMs = performance.now() - arrived;
    if (typeof answer !== "string") {
      if ("hang" in answer) {
        await new Promise((resolve) => request.signal.addEventListener("abort", resolve));
        return new Response(null, { status: 499 });
      }
      return new Response(answer.body, { status: answer.status });
    }
    if (fields.response_format === "verbose_json") {
      return Response.json({
        task: "transcribe",
        language: "english",
        duration: wav.pcm.length / 2 / wav.sampleRate,
        text: answer,
        segments: [{ id: 0, text: answer, avg_logprob: -0.1, no_speech_prob: 0.01 }],
      });
    }
    return Response.json({ text: answer });
  });
  fake = fakeServer(
    `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/v1`,
    reply,
    async () => {
      controller.abort();
      await server.finished;
    },
  );
  return fake;
}

/** Starts a py-tars stt-ws server (`/stt`) on a free port; finals carry confidence 0.87. */
export function startFakeSttWs(
  reply: (audio: ReceivedAudio) => FakeReply = () => "what time is it",
): FakeServer {
  const controller = new AbortController();
  // deno-lint-ignore prefer-const -- assigned once the port is known, before any request
  let fake: FakeServer;
  const sockets = new Set<WebSocket>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen: () => {},
  }, (request) => {
    if (new URL(request.url).pathname !== "/stt") return new Response("no", { status: 404 });
    const { socket, response } = Deno.upgradeWebSocket(request);
    sockets.add(socket);
    let init: Record<string, string> = {};
    const chunks: Uint8Array[] = [];
    socket.binaryType = "arraybuffer";
    socket.onclose = () => sockets.delete(socket);
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") {
        chunks.push(new Uint8Array(event.data as ArrayBuffer));
        return;
      }
      const message = JSON.parse(event.data);
      if (message.type === "init") init = message;
      if (message.type !== "end") return;
      const audio: ReceivedAudio = {
        pcm: concatPcm(...chunks),
        sampleRate: Number(init.sample_rate),
        fields: init,
        authorization: null,
      };
      fake.received.push(audio);
      const answer = fake.reply(audio);
      if (typeof answer === "string") {
        socket.send(JSON.stringify({ type: "final", text: answer, confidence: 0.87 }));
      } else if (!("hang" in answer)) {
        socket.send(JSON.stringify({ type: "error", error: answer.body }));
      }
    };
    return response;
  });
  fake = fakeServer(`ws://127.0.0.1:${(server.addr as Deno.NetAddr).port}/stt`, reply, async () => {
    for (const socket of sockets) socket.close();
    controller.abort();
    await server.finished;
  });
  return fake;
}
