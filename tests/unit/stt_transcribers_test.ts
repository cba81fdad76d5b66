/**
 * stt-worker transcribers, all three through the shared suite: `openai` against a local server
 * speaking the OpenAI transcription protocol, `ws` against a local py-tars stt-ws server, and
 * `sherpa` running the real sherpa-onnx-node recogniser on a tiny Whisper-format stand-in model
 * built by tests/helpers/stt_sherpa_model.ts (it has no server, so the suite's server-failure
 * cases do not apply). Then what is particular to each: openai's form fields and errors, ws's
 * unreachable URL, sherpa rejecting corrupt model directories with a clear error instead of
 * letting sherpa end the process, and transcribing real speech with a real model when
 * TARS_TEST_SHERPA_MODEL_DIR names one.
 */
import assert from "node:assert/strict";
import {
  findSherpaModel,
  OpenAiTranscriber,
  parseOpenAiTranscription,
  SherpaTranscriber,
  WsTranscriber,
} from "../../services/stt-worker/transcribers/mod.ts";
import {
  checkSherpaTokens,
  checkWhisperMetadata,
  isSherpaBase64,
  readOnnxModelInfo,
} from "../../services/stt-worker/transcribers/sherpa_model_check.ts";
import {
  multipartBody,
  TRANSCRIPTION_RESPONSE_LIMIT,
} from "../../services/stt-worker/transcribers/openai.ts";
import { bundledVadModel } from "../../services/stt-worker/vad.ts";
import { encodeWav } from "../../lib/audio/mod.ts";
import { startFakeOpenAiTranscription, startFakeSttWs } from "../helpers/stt_fake_servers.ts";
import { sttClips } from "../helpers/stt_audio.ts";
import {
  buildStandinEncoder,
  STANDIN_ENCODER_METADATA,
  STANDIN_TEXT,
  writeSherpaStandinModel,
} from "../helpers/stt_sherpa_model.ts";
import { syntheticUtterance, transcriberSuite } from "../helpers/stt_transcriber_suite.ts";
import { requireBinary } from "../helpers/binaries.ts";

const ANSWER = "  What time is it?  ";

transcriberSuite("openai", (timeoutMs) => {
  const server = startFakeOpenAiTranscription(() => ANSWER);
  return Promise.resolve({
    server,
    transcriber: new OpenAiTranscriber({
      baseUrl: server.url,
      apiKey: "sk-test",
      model: "whisper-1",
      language: "en",
      responseFormat: "verbose_json",
      timeoutMs,
    }),
    utterance: syntheticUtterance(),
    text: ANSWER,
    reportsConfidence: true,
    [Symbol.asyncDispose]: () => server.close(),
  });
});

transcriberSuite("ws", (timeoutMs) => {
  const server = startFakeSttWs(() => ANSWER);
  return Promise.resolve({
    server,
    transcriber: new WsTranscriber({ url: server.url, language: "en", timeoutMs }),
    utterance: syntheticUtterance(),
    text: ANSWER,
    reportsConfidence: true,
    [Symbol.asyncDispose]: () => server.close(),
  });
});

// The real sherpa-onnx-node recogniser on the stand-in Whisper model.
transcriberSuite("sherpa", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stt-sherpa-" });
  await writeSherpaStandinModel(dir);
  return {
    transcriber: await SherpaTranscriber.load({ modelDir: dir, language: "en", threads: 1 }),
    utterance: (await sttClips()).question,
    text: STANDIN_TEXT,
    // sherpa-onnx 1.13.8 reports no token log probabilities for Whisper: no confidence
    reportsConfidence: false,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}, { local: true, ignore: requireBinary("espeak-ng", "sox").ignore });

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

Deno.test("stt transcriber openai: the upload is a form any multipart parser reads back exactly", async () => {
  const pcm = new Uint8Array(6400).map((_, i) => (i * 7) & 0xff);
  let form: FormData | undefined;
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (r) => {
    form = await r.formData();
    return Response.json({ text: "ok" });
  });
  const transcriber = new OpenAiTranscriber({
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    apiKey: "",
    model: 'model "with" quotes\r\n--and a line',
    language: "",
    responseFormat: "verbose_json",
    timeoutMs: 10_000,
  });
  assert.equal((await transcriber.transcribe(pcm)).text, "ok");
  const file = form!.get("file") as File;
  assert.equal(file.name, "utterance.wav");
  assert.equal(file.type, "audio/wav");
  assert.deepEqual(new Uint8Array(await file.arrayBuffer()), encodeWav(pcm, 16_000));
  assert.equal(form!.get("model"), 'model "with" quotes\r\n--and a line');
  assert.equal(form!.get("response_format"), "verbose_json");
  assert.equal(form!.get("language"), null); // none set: not sent
  // Two bodies never share a boundary.
  const a = multipartBody({}, { field: "f", name: "n", type: "t", data: new Uint8Array(1) });
  const b = multipartBody({}, { field: "f", name: "n", type: "t", data: new Uint8Array(1) });
  assert.notEqual(a.contentType, b.contentType);
});

Deno.test("stt transcriber openai: multipartBody escapes names as FormData does: no added header", async () => {
  const hostile = 'x"\r\nContent-Type: text/evil\r\n\r\ny';
  const { body, contentType } = multipartBody(
    { [hostile]: "value" },
    { field: hostile, name: `${hostile}.wav`, type: "audio/wav", data: new Uint8Array([1, 2]) },
  );
  const form = await new Response(body, { headers: { "content-type": contentType } }).formData();
  // The names come back as FormData would have sent them (%22, %0D, %0A), one part each.
  const escaped = "x%22%0D%0AContent-Type: text/evil%0D%0A%0D%0Ay";
  assert.deepEqual([...form.keys()], [escaped, escaped]);
  assert.equal(form.get(escaped), "value");
  const file = form.getAll(escaped)[1] as File;
  assert.equal(file.name, `${escaped}.wav`);
  assert.equal(file.type, "audio/wav");
  const sent = new TextDecoder().decode(body);
  const reference = new FormData();
  reference.append(hostile, "value");
  const referenceText = await new Response(reference).text();
  assert.ok(referenceText.includes(`name="${escaped}"`), "FormData escapes the same way");
  assert.ok(!sent.includes("text/evil\r\n"), "no header was added");
  assert.throws(
    () => multipartBody({}, { field: "f", name: "n", type: "a\r\nb: c", data: new Uint8Array(1) }),
    /Cannot build the upload: its type "a\\r\\nb: c" has a line break/,
  );
});

Deno.test("stt transcriber openai: an answer over the size limit is refused, not buffered", async () => {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  let mode: "declared" | "endless" = "declared";
  let cancelled = false;
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (r) => {
    await r.arrayBuffer();
    if (mode === "declared") {
      return new Response(new Uint8Array(TRANSCRIPTION_RESPONSE_LIMIT + 1).fill(0x20), {
        headers: { "content-type": "application/json" },
      });
    }
    // No Content-Length and no end: only a reader that stops at the limit returns.
    return new Response(
      new ReadableStream({
        pull: (controller) => controller.enqueue(chunk),
        cancel: () => void (cancelled = true),
      }),
      { headers: { "content-type": "application/json" } },
    );
  });
  const transcriber = new OpenAiTranscriber({
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    apiKey: "",
    model: "whisper-1",
    language: "en",
    responseFormat: "json",
    timeoutMs: 10_000,
  });
  const refused = new RegExp(`answered more than ${TRANSCRIPTION_RESPONSE_LIMIT} bytes`);
  await assert.rejects(() => transcriber.transcribe(new Uint8Array(320)), refused);
  mode = "endless";
  await assert.rejects(() => transcriber.transcribe(new Uint8Array(320)), refused);
  for (let i = 0; i < 100 && !cancelled; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cancelled, "the endless answer was cancelled");
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
    // file names of a Whisper export are recognised (loading is tested below)
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

/** Writes `files` (name → bytes or text) into a new temp dir. */
async function modelDir(files: Record<string, Uint8Array | string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "stt-sherpa-" });
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === "string") await Deno.writeTextFile(`${dir}/${name}`, content);
    else await Deno.writeFile(`${dir}/${name}`, content);
  }
  return dir;
}

const TRANSCRIBERS_URL = new URL("../../services/stt-worker/transcribers/mod.ts", import.meta.url);

/**
 * Calls `SherpaTranscriber.load` on each dir in a child `deno run` (sherpa's native code ends
 * the process on some bad files, which must not take the test runner with it); returns the
 * child's exit code and, per dir, "loaded" or the error message.
 */
async function loadInChild(dirs: string[]): Promise<{ code: number; results: string[] }> {
  const script = `
    const { SherpaTranscriber } = await import(${JSON.stringify(TRANSCRIBERS_URL.href)});
    const results = [];
    for (const modelDir of ${JSON.stringify(dirs)}) {
      try {
        await SherpaTranscriber.load({ modelDir, language: "en", threads: 1 });
        results.push("loaded");
      } catch (error) {
        results.push(error.message);
      }
    }
    console.log(JSON.stringify(results));
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=js", script],
    cwd: new URL("../../", import.meta.url).pathname, // the project's deno.json
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  return {
    code: output.code,
    results: output.code === 0
      ? JSON.parse(stdout)
      : [`exit ${output.code}: ${new TextDecoder().decode(output.stderr)}`],
  };
}

Deno.test("stt transcriber sherpa: corrupt model files are refused clearly, the process survives", async () => {
  const whisper = ["tiny.en-encoder.int8.onnx", "tiny.en-decoder.int8.onnx", "tiny.en-tokens.txt"];
  const standin = await Deno.makeTempDir({ prefix: "stt-sherpa-" });
  const model = await writeSherpaStandinModel(standin);
  const encoder = await Deno.readFile(model.encoder);
  const decoder = await Deno.readFile(model.decoder);
  const tokens = await Deno.readTextFile(model.tokens);
  const dirs = [
    // the three files hold text (sherpa alone exits 255 in ReadTokens)
    await modelDir(Object.fromEntries(whisper.map((name) => [name, "not a model"]))),
    // a download cut in the middle of the encoder
    await modelDir({
      [whisper[0]]: encoder.slice(0, Math.floor(encoder.length / 2)),
      [whisper[1]]: decoder,
      [whisper[2]]: tokens,
    }),
    // a valid ONNX encoder without Whisper metadata (sherpa alone exits 255 in InitEncoder)
    await modelDir({
      [whisper[0]]: buildStandinEncoder({ n_mels: "80", sot: "3" }),
      [whisper[1]]: decoder,
      [whisper[2]]: tokens,
    }),
    // the stand-in itself loads
    standin,
  ];
  try {
    const { code, results } = await loadInChild(dirs);
    assert.equal(code, 0, results[0]);
    const [text, truncated, noMetadata, good] = results;
    assert.match(
      text,
      /tiny\.en-tokens\.txt line 1 "not a model" is not `<base64 token> <integer id>`.*set SHERPA_MODEL_DIR to an unpacked sherpa-onnx Whisper or Moonshine export/,
    );
    assert.match(
      truncated,
      /tiny\.en-encoder\.int8\.onnx is cut short \(or not an ONNX model\): its graph at byte \d+ needs \d+ bytes but only \d+ remain.*download it again/,
    );
    assert.match(
      noMetadata,
      /tiny\.en-encoder\.int8\.onnx lacks the Whisper metadata sherpa-onnx needs: n_text_layer, n_text_ctx, n_text_state, n_vocab, eot, blank_id, translate, transcribe, is_multilingual, no_timestamps, no_speech, sot_sequence \(/,
    );
    assert.doesNotMatch(noMetadata, /n_mels|\bsot\b,/);
    assert.equal(good, "loaded");
  } finally {
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stt transcriber sherpa: tokens lines are checked as sherpa's ReadTokens reads them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stt-sherpa-" });
  const path = `${dir}/tokens.txt`;
  const check = async (text: string, base64: boolean) => {
    await Deno.writeTextFile(path, text);
    await checkSherpaTokens(path, { base64 });
  };
  try {
    // plain (Moonshine): "<token> <id>", a lone token, blank lines, CRLF, tabs, signs
    await check("<unk> 0\r\n<s> 1\n\n\u2581the\t+2\nlone\n  x -3  \n", false);
    await assert.rejects(() => check("a 1\nnot a model\n", false), /line 2 "not a model"/);
    await assert.rejects(() => check("a 1x\n", false), /line 1 "a 1x" is not `<token>/);
    await assert.rejects(() => check("", false), /is empty/);
    // Whisper: base64 token and id on every line; sherpa exits on blank or lone-token lines
    await check("IGhlbGxv 0\nIA== 1\nPHxlbmRvZnRleHR8Pg== 2", true);
    await assert.rejects(() => check("IGhlbGxv 0\n\nIA== 1\n", true), /line 2 "" is not/);
    await assert.rejects(() => check("IGhlbGxv\n", true), /line 1 "IGhlbGxv" has no id/);
    await assert.rejects(() => check("he%% 0\n", true), /line 1 "he%% 0": the token is not base64/);
    await assert.rejects(
      () => checkSherpaTokens(`${dir}/missing.txt`, { base64: false }),
      /missing\.txt cannot be read/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.ok(isSherpaBase64("IGhlbGxv") && isSherpaBase64("IA==") && isSherpaBase64("QQ"));
  assert.ok(
    !isSherpaBase64("") && !isSherpaBase64("I") && !isSherpaBase64("I=") && !isSherpaBase64("a b"),
  );
});

Deno.test("stt transcriber sherpa: Whisper metadata values and STT_LANGUAGE are checked", async () => {
  const path = "/models/x-encoder.onnx";
  const base = new Map(Object.entries(STANDIN_ENCODER_METADATA));
  checkWhisperMetadata(path, base, "en");
  const bad = new Map(base).set("eot", "-1").set("sot_sequence", "3,x");
  assert.throws(
    () => checkWhisperMetadata(path, bad, "en"),
    /x-encoder\.onnx has Whisper metadata sherpa-onnx cannot use: eot=-1, sot_sequence=3,x/,
  );
  const multilingual = new Map(base).set("is_multilingual", "1").set("sot_sequence", "3,9,5");
  assert.throws(
    () => checkWhisperMetadata(path, multilingual, "en"),
    /lacks the Whisper metadata sherpa-onnx needs: all_language_tokens, all_language_codes/,
  );
  multilingual.set("all_language_tokens", "9,10").set("all_language_codes", "en,de");
  checkWhisperMetadata(path, multilingual, "de");
  checkWhisperMetadata(path, multilingual, ""); // detects the language
  assert.throws(
    () => checkWhisperMetadata(path, multilingual, "fr"),
    /STT_LANGUAGE fr is not a language of the Whisper model .*\(it knows en, de\)/,
  );
  // real ONNX files of other kinds pass the structure walk (no metadata, no complaint)
  const vad = await readOnnxModelInfo(bundledVadModel());
  assert.ok(vad.irVersion > 0 && vad.metadata.size === 0);
});

Deno.test("stt transcriber sherpa: Moonshine files that are not ONNX are refused", async () => {
  const dir = await modelDir({
    "preprocess.onnx": "x",
    "encode.int8.onnx": "x",
    "uncached_decode.int8.onnx": "x",
    "cached_decode.int8.onnx": "x",
    "tokens.txt": "<unk> 0\n<s> 1\n</s> 2\n",
  });
  try {
    await assert.rejects(
      () => SherpaTranscriber.load({ modelDir: dir, language: "en", threads: 1 }),
      /preprocess\.onnx is not a complete ONNX model \(1 bytes; .*SHERPA_MODEL_DIR/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "stt transcriber sherpa: the stand-in Whisper export is found and decoded with no confidence",
  requireBinary("espeak-ng", "sox"),
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "stt-sherpa-" });
    try {
      const model = await writeSherpaStandinModel(dir);
      assert.deepEqual(findSherpaModel(dir), {
        kind: "whisper",
        encoder: model.encoder,
        decoder: model.decoder,
        tokens: model.tokens,
      });
      const transcriber = await SherpaTranscriber.load({
        modelDir: dir,
        language: "en",
        threads: 1,
      });
      try {
        assert.equal(transcriber.model.kind, "whisper");
        const { question } = await sttClips();
        const result = await transcriber.transcribe(question);
        // sherpa-onnx 1.13.8 reports no token log probabilities for Whisper: no confidence
        // (text, name and serving utterance after utterance: the shared suite)
        assert.deepEqual(result, {
          text: STANDIN_TEXT,
          confidence: null,
          avgLogprob: null,
          language: null,
        });
      } finally {
        await transcriber.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test({
  name: "stt transcriber sherpa: a real model (TARS_TEST_SHERPA_MODEL_DIR) transcribes speech",
  ignore: !Deno.env.get("TARS_TEST_SHERPA_MODEL_DIR") || requireBinary("espeak-ng", "sox").ignore,
  fn: async () => {
    const transcriber = await SherpaTranscriber.load({
      modelDir: Deno.env.get("TARS_TEST_SHERPA_MODEL_DIR")!,
      language: "en",
      threads: 2,
    });
    try {
      const { question } = await sttClips(); // espeak-ng: "what time is it"
      const result = await transcriber.transcribe(question);
      assert.match(result.text, /time/i);
      assert.ok(result.confidence === null || (result.confidence > 0 && result.confidence <= 1));
    } finally {
      await transcriber.close();
    }
  },
});
