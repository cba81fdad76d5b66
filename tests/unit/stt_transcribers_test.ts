/**
 * stt-worker transcribers: `openai` against a local server speaking the OpenAI transcription
 * protocol and `ws` against a local py-tars stt-ws server, both through the shared suite;
 * `sherpa` without a model fails clearly, naming the files needed.
 */
import assert from "node:assert/strict";
import {
  findSherpaModel,
  OpenAiTranscriber,
  parseOpenAiTranscription,
  SherpaTranscriber,
  WsTranscriber,
} from "../../services/stt-worker/transcribers.ts";
import { startFakeOpenAiTranscription, startFakeSttWs } from "../helpers/stt_fake_servers.ts";
import { transcriberSuite } from "../helpers/stt_transcriber_suite.ts";

transcriberSuite("openai", (timeoutMs) => {
  const server = startFakeOpenAiTranscription();
  return {
    server,
    transcriber: new OpenAiTranscriber({
      baseUrl: server.url,
      apiKey: "sk-test",
      model: "whisper-1",
      language: "en",
      responseFormat: "verbose_json",
      timeoutMs,
    }),
  };
});

transcriberSuite("ws", (timeoutMs) => {
  const server = startFakeSttWs();
  return {
    server,
    transcriber: new WsTranscriber({ url: server.url, language: "en", timeoutMs }),
  };
});

Deno.test("stt transcriber openai: form fields, bearer key, json without confidence", async () => {
  await using server = startFakeOpenAiTranscription(() => "hello");
  const transcriber = new OpenAiTranscriber({
    baseUrl: `${server.url}/`,
    apiKey: "",
    model: "Systran/faster-whisper-small",
    language: "de",
    responseFormat: "json",
    timeoutMs: 10_000,
  });
  const result = await transcriber.transcribe(new Uint8Array(3200));
  assert.deepEqual(result, {
    text: "hello",
    confidence: null,
    avgLogprob: null,
    noSpeechProb: null,
    language: null,
  });
  const { fields, authorization } = server.received[0];
  assert.equal(authorization, null); // no key → no header (local servers)
  assert.equal(fields.model, "Systran/faster-whisper-small");
  assert.equal(fields.language, "de");
  assert.equal(fields.response_format, "json");
  assert.equal(fields.temperature, "0");
  assert.equal(fields.filename, "utterance.wav");
});

Deno.test("stt transcriber openai: 401 and 404 tell the user what to check", async () => {
  await using server = startFakeOpenAiTranscription(() => ({ status: 401, body: "bad key" }));
  const make = (baseUrl: string) =>
    new OpenAiTranscriber({
      baseUrl,
      apiKey: "x",
      model: "whisper-1",
      language: "en",
      responseFormat: "json",
      timeoutMs: 10_000,
    });
  await assert.rejects(
    () => make(server.url).transcribe(new Uint8Array(320)),
    /401.*OPENAI_API_KEY/,
  );
  await assert.rejects(
    () => make(server.url.replace("/v1", "/v2")).transcribe(new Uint8Array(320)),
    /404.*OPENAI_BASE_URL/,
  );
  await assert.rejects(
    () => make("http://127.0.0.1:9/v1").transcribe(new Uint8Array(320)),
    /openai transcription at http:\/\/127\.0\.0\.1:9\/v1\/audio\/transcriptions failed/,
  );
});

Deno.test("stt transcriber openai: response parsing (verbose_json, logprobs, garbage)", () => {
  const verbose = parseOpenAiTranscription({
    text: " hi ",
    segments: [{ avg_logprob: -0.2, no_speech_prob: 0.1 }, {
      avg_logprob: -0.4,
      no_speech_prob: 0.3,
    }],
  });
  assert.equal(verbose.text, "hi");
  assert.ok(Math.abs(verbose.confidence! - Math.exp(-0.3)) < 1e-9);
  assert.ok(Math.abs(verbose.noSpeechProb! - 0.2) < 1e-9);
  const logprobs = parseOpenAiTranscription({
    text: "x",
    logprobs: [{ logprob: 0 }, { logprob: 0 }],
  });
  assert.equal(logprobs.confidence, 1);
  assert.throws(() => parseOpenAiTranscription({ error: "x" }), /no text/);
});

Deno.test("stt transcriber ws: an unreachable WS_URL rejects naming it", async () => {
  const transcriber = new WsTranscriber({
    url: "ws://127.0.0.1:9/stt",
    language: "en",
    timeoutMs: 5_000,
  });
  await assert.rejects(
    () => transcriber.transcribe(new Uint8Array(320)),
    /ws:\/\/127\.0\.0\.1:9\/stt/,
  );
});

Deno.test("stt transcriber sherpa: no model directory → error naming the files needed", async () => {
  await assert.rejects(
    () => SherpaTranscriber.load({ modelDir: "/models/whisper-tiny", language: "en", threads: 1 }),
    /SHERPA_MODEL_DIR \/models\/whisper-tiny does not exist.*-encoder.*-decoder.*tokens\.txt.*Moonshine/s,
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/README.md`, "no model here");
    await assert.rejects(
      () => SherpaTranscriber.load({ modelDir: dir, language: "en", threads: 1 }),
      /holds no usable model \(found: README\.md\)/,
    );
    // file names of a Whisper export are recognised (loading them needs a real model)
    for (
      const f of ["tiny.en-encoder.int8.onnx", "tiny.en-decoder.int8.onnx", "tiny.en-tokens.txt"]
    ) {
      await Deno.writeTextFile(`${dir}/${f}`, "not a model");
    }
    assert.equal(findSherpaModel(dir).kind, "whisper");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stt transcriber sherpa: Moonshine exports are recognised, int8 preferred", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const f of [
        "preprocess.onnx",
        "encode.int8.onnx",
        "encode.onnx",
        "uncached_decode.int8.onnx",
        "cached_decode.int8.onnx",
        "tokens.txt",
      ]
    ) await Deno.writeTextFile(`${dir}/${f}`, "x");
    const model = findSherpaModel(dir);
    assert.equal(model.kind, "moonshine");
    assert.ok(model.kind === "moonshine" && model.encoder.endsWith("encode.int8.onnx"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
