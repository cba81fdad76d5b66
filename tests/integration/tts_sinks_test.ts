import { type MqttClient, topics } from "../../core/mod.ts";
import { decodeWavPcm16 } from "../../lib/audio/mod.ts";
import { fromBase64 } from "../../services/tts-worker/audio.ts";
import {
  AlsaAudioSink,
  type AudioSink,
  FileAudioSink,
  MqttAudioSink,
  playerArgs,
  type SinkStream,
  type UtteranceInfo,
} from "../../services/tts-worker/sinks/mod.ts";
import assert from "node:assert/strict";
import { startBroker } from "../helpers/broker.ts";
import { testClient, waitFor } from "../helpers/wait.ts";
import { ttsSinkSuite } from "../helpers/tts_sink_suite.ts";

function samplesOf(bytes: Uint8Array): Int16Array {
  const copy = bytes.slice(0, bytes.length - (bytes.length % 2));
  return new Int16Array(copy.buffer);
}

ttsSinkSuite("mqtt", async () => {
  const broker = await startBroker();
  const publisher: MqttClient = testClient(broker.url);
  const listener: MqttClient = testClient(broker.url);
  await Promise.all([
    publisher.connect({ timeoutMs: 10_000 }),
    listener.connect({ timeoutMs: 10_000 }),
  ]);
  const chunks: Array<{ utt_id: string; seq: number; data: string; final: boolean }> = [];
  await listener.subscribe(topics.ttsAudio, (chunk) => {
    chunks.push(chunk);
  });
  return {
    sink: new MqttAudioSink(publisher),
    async played(uttId) {
      await waitFor(
        () => chunks.some((c) => c.utt_id === uttId && c.final),
        `final tts/audio chunk of ${uttId}`,
        10_000,
      );
      const mine = chunks.filter((c) => c.utt_id === uttId).sort((a, b) => a.seq - b.seq);
      assert.deepEqual(mine.map((c) => c.seq), mine.map((_, i) => i), "seq counts up from 0");
      assert.equal(mine.filter((c) => c.final).length, 1);
      const bytes = mine.map((c) => fromBase64(c.data));
      const all = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
      let offset = 0;
      for (const b of bytes) {
        all.set(b, offset);
        offset += b.length;
      }
      return samplesOf(all);
    },
    async [Symbol.asyncDispose]() {
      await publisher.shutdown();
      await listener.shutdown();
      await broker[Symbol.asyncDispose]();
    },
  };
});

ttsSinkSuite("file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tts-file-sink-" });
  const written: string[] = [];
  return {
    sink: new FileAudioSink(dir, (path) => written.push(path)),
    played(uttId) {
      const path = written.find((p) => p.endsWith(`-${uttId}.wav`));
      assert.ok(path, `a WAV for ${uttId} in ${written.join(", ")}`);
      const audio = decodeWavPcm16(Deno.readFileSync(path));
      assert.equal(audio.sampleRate, 16000);
      return Promise.resolve(audio.samples);
    },
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
});

/** aplay into ALSA's `file` device, one raw file per utterance, so the test hears it. */
class AplayToFiles implements AudioSink {
  readonly name = "alsa";
  readonly realtime = true;
  readonly errors: string[] = [];
  readonly #sinks: AlsaAudioSink[] = [];
  constructor(readonly dir: string) {}
  open(utterance: UtteranceInfo, sampleRate: number): Promise<SinkStream> {
    const sink = new AlsaAudioSink({
      player: "aplay",
      device: `file:${this.dir}/${utterance.uttId}.raw,raw`,
      onPlayerError: (message) => this.errors.push(message),
    });
    this.#sinks.push(sink);
    return sink.open(utterance, sampleRate);
  }
  async close(): Promise<void> {
    for (const sink of this.#sinks) await sink.close();
  }
}

ttsSinkSuite("alsa (aplay into the ALSA file device)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tts-alsa-sink-" });
  const sink = new AplayToFiles(dir);
  return {
    sink,
    async played(uttId) {
      assert.deepEqual(sink.errors, []);
      try {
        return samplesOf(await Deno.readFile(`${dir}/${uttId}.raw`));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return new Int16Array(0); // killed early
        throw error;
      }
    },
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
});

Deno.test("alsa sink: player command lines", () => {
  assert.deepEqual(playerArgs("aplay", "null", 22050), [
    "-q",
    "-D",
    "null",
    "-t",
    "raw",
    "-f",
    "S16_LE",
    "-r",
    "22050",
    "-c",
    "1",
  ]);
  assert.deepEqual(playerArgs("paplay", "default", 16000), [
    "--raw",
    "--format=s16le",
    "--rate=16000",
    "--channels=1",
  ]);
  assert.ok(playerArgs("paplay", "alsa_output.usb", 16000).includes("--device=alsa_output.usb"));
});

Deno.test("alsa sink: a missing player says how to fix it", async () => {
  const sink = new AlsaAudioSink({ bin: "/nonexistent/aplay" });
  await assert.rejects(sink.open({ uttId: "x", text: "" }, 16000), /install alsa-utils/);
});

Deno.test("alsa sink: plays on the null device and reports a broken device", async () => {
  const errors: string[] = [];
  const ok = new AlsaAudioSink({ device: "null", onPlayerError: (m) => errors.push(m) });
  const stream = await ok.open({ uttId: "n", text: "" }, 16000);
  await stream.write(new Int16Array(1600).fill(1000));
  await stream.finish();
  assert.equal(errors.length, 0, errors.join());
  const broken = new AlsaAudioSink({
    device: "no_such_device",
    onPlayerError: (m) => errors.push(m),
  });
  const bad = await broken.open({ uttId: "b", text: "" }, 16000);
  await bad.write(new Int16Array(1600));
  await bad.finish();
  await broken.close();
  assert.equal(errors.length, 1);
  assert.match(errors[0], /aplay exited with 1/);
});
