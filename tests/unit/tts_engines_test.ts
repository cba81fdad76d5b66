import assert from "node:assert/strict";
import { peak } from "../../services/tts-worker/audio.ts";
import { readTtsConfig } from "../../services/tts-worker/config.ts";
import {
  createEngine,
  type EngineFallbackReport,
  EspeakEngine,
  FallbackEngine,
  PiperEngine,
  type SpeechEngine,
  SynthesisAborted,
} from "../../services/tts-worker/engines/mod.ts";
import {
  espeakIpaLines,
  ipaSentences,
  phonemesToIds,
  splitClauses,
} from "../../services/tts-worker/engines/phonemize.ts";
import { parsePiperConfig } from "../../services/tts-worker/engines/piper.ts";
import { requireBinary } from "../helpers/binaries.ts";
import { ttsEngineSuite } from "../helpers/tts_engine_suite.ts";
import { AMY_CONFIG_URL, SAMPLES_PER_ID, writePiperLikeVoice } from "../helpers/tts_piper_model.ts";

const noTempFiles = () => Promise.resolve();

ttsEngineSuite("espeak", () =>
  Promise.resolve({
    engine: new EspeakEngine({ voice: "en-us", rate: 175 }),
    sampleRate: 22050,
    [Symbol.asyncDispose]: noTempFiles,
  }), requireBinary("espeak-ng"));

ttsEngineSuite("piper", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tts-piper-" });
  const engine = await PiperEngine.load({ voicePath: await writePiperLikeVoice(dir) });
  return {
    engine,
    sampleRate: 16000,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}, requireBinary("espeak-ng")); // Piper's phonemes come from espeak-ng

// TTS_PROVIDER=piper with a voice that loads: Piper speaks, espeak-ng stands by.
ttsEngineSuite("fallback (piper, then espeak)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tts-piper-" });
  const config = readTtsConfig({
    TTS_PROVIDER: "piper",
    PIPER_VOICE: await writePiperLikeVoice(dir),
  });
  const engine = await createEngine(config, (report) => {
    throw new Error(`unexpected fallback: ${report.error.message}`);
  });
  assert.ok(engine instanceof FallbackEngine);
  return {
    engine,
    sampleRate: 16000,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}, requireBinary("espeak-ng"));

// A primary that fails on every text (a cancelled one still reports the cancellation):
// espeak-ng speaks instead.
ttsEngineSuite("fallback (failing primary, then espeak)", () => {
  const failing: SpeechEngine = {
    id: "failing:1",
    async synthesize(_text, signal) {
      await Promise.resolve();
      if (signal?.aborted) throw new SynthesisAborted();
      throw new Error("model exploded");
    },
    close: () => Promise.resolve(),
  };
  return Promise.resolve({
    engine: new FallbackEngine(failing, new EspeakEngine(), () => {}),
    sampleRate: 22050,
    [Symbol.asyncDispose]: noTempFiles,
  });
}, requireBinary("espeak-ng"));

const amy = JSON.parse(Deno.readTextFileSync(AMY_CONFIG_URL));

Deno.test("piper config: the real amy-low config parses", () => {
  const config = parsePiperConfig(amy);
  assert.equal(config.sampleRate, 16000);
  assert.equal(config.espeakVoice, "en-us");
  assert.equal(config.noiseScale, 0.667);
  assert.equal(config.lengthScale, 1);
  assert.equal(config.noiseW, 0.8);
  assert.deepEqual(config.phonemeIdMap["_"], [0]);
  assert.throws(() => parsePiperConfig({ audio: {} }), /audio.sample_rate/);
  assert.throws(
    () => parsePiperConfig({ audio: { sample_rate: 16000 }, phoneme_id_map: { a: "x" } }),
    /phoneme_id_map\["a"\]/,
  );
});

Deno.test("phonemes: clauses keep their punctuation", () => {
  assert.deepEqual(splitClauses("Hello, world! How are you? ..."), [
    { text: "Hello", punctuation: "," },
    { text: "world", punctuation: "!" },
    { text: "How are you", punctuation: "?" },
  ]);
  assert.deepEqual(ipaSentences("Hi, you. Go", ["hˈaɪ", "juː", "ɡˈoʊ"]), [
    "hˈaɪ, juː.".normalize("NFD"),
    "ɡˈoʊ",
  ]);
  // espeak-ng split differently (an abbreviation): joined, final punctuation kept.
  assert.deepEqual(ipaSentences("Dr. Smith is in.", ["dˈɑːktɚ smˈɪθ ɪz ˈɪn"]), [
    "dˈɑːktɚ smˈɪθ ɪz ˈɪn.".normalize("NFD"),
  ]);
});

Deno.test("phonemes: ids follow Piper's BOS/pad/EOS rules on the amy map", () => {
  const map = amy.phoneme_id_map;
  const { ids, missing } = phonemesToIds("hˈi.", map);
  // ^ _ h _ ˈ _ i _ . _ $
  assert.deepEqual(ids, [1, 0, 20, 0, 120, 0, 21, 0, 10, 0, 2]);
  assert.equal(missing.size, 0);
  const unknown = phonemesToIds("a\u200dZ", map); // ZWJ (espeak ties) and an unknown letter
  assert.deepEqual(unknown.ids, [1, 0, 14, 0, 2]);
  assert.deepEqual([...unknown.missing.keys()], ["\u200d", "Z"]);
  assert.throws(() => phonemesToIds("a", { a: [1] }), /"_", "\^" and "\$"/);
});

Deno.test(
  "phonemes: espeak-ng IPA output maps completely through the amy map",
  requireBinary("espeak-ng"),
  async () => {
    const text = "Hello, world! The weather is lovely today; shall we go outside?";
    const lines = await espeakIpaLines(text, { voice: "en-us" });
    // Independent check: run the CLI ourselves and compare.
    const cli = new Deno.Command("espeak-ng", {
      args: ["-q", "--ipa", "-v", "en-us", text],
      stdout: "piped",
    });
    const out = new TextDecoder().decode((await cli.output()).stdout);
    assert.deepEqual(lines, out.split("\n").map((l) => l.trim()).filter(Boolean));
    const sentences = ipaSentences(text, lines);
    assert.equal(sentences.length, 2);
    assert.ok(sentences[0].endsWith("!") && sentences[1].endsWith("?"));
    assert.ok(sentences[1].includes("; "));
    for (const sentence of sentences) {
      const { ids, missing } = phonemesToIds(sentence, amy.phoneme_id_map);
      assert.deepEqual([...missing.keys()], [], `unmapped phonemes in ${sentence}`);
      // Every phoneme code point maps to exactly one id, each followed by pad.
      const codePoints = [...sentence.normalize("NFD")];
      assert.equal(ids.length, 2 + codePoints.length * 2 + 1);
      assert.equal(ids[0], 1);
      assert.equal(ids.at(-1), 2);
      codePoints.forEach((p, i) => assert.equal(ids[2 + i * 2], amy.phoneme_id_map[p][0], p));
    }
  },
);

Deno.test(
  "piper engine: the model gets the mapped ids of every sentence",
  requireBinary("espeak-ng"),
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "tts-piper-" });
    const engine = await PiperEngine.load({ voicePath: await writePiperLikeVoice(dir) });
    try {
      const text = "Good morning. Shall we begin?";
      const ids = await engine.phonemeIds(text);
      assert.equal(ids.length, 2);
      const audio = await engine.synthesize(text);
      const total = ids.reduce((n, s) => n + s.length, 0);
      assert.equal(audio.samples.length, total * SAMPLES_PER_ID);
      assert.ok(peak(audio.samples) > 30_000, "normalized to full scale like Piper");
    } finally {
      await engine.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "piper engine: a missing voice falls back to espeak with one report",
  requireBinary("espeak-ng"),
  async () => {
    const reports: EngineFallbackReport[] = [];
    const config = readTtsConfig({ TTS_PROVIDER: "piper", PIPER_VOICE: "/nonexistent/x.onnx" });
    const engine = await createEngine(config, (r) => reports.push(r));
    try {
      assert.ok(engine instanceof EspeakEngine);
      assert.equal(reports.length, 1);
      assert.equal(reports[0].stage, "load");
      assert.match(reports[0].error.message, /\/nonexistent\/x\.onnx\.json/);
      assert.equal((await engine.synthesize("Still speaking.")).sampleRate, 22050);
    } finally {
      await engine.close();
    }
  },
);

Deno.test("piper engine: a file that is not a Piper model falls back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tts-piper-" });
  try {
    await Deno.writeTextFile(`${dir}/bad.onnx`, "not a model");
    await Deno.copyFile(AMY_CONFIG_URL, `${dir}/bad.onnx.json`);
    const reports: EngineFallbackReport[] = [];
    const config = readTtsConfig({ TTS_PROVIDER: "piper", PIPER_VOICE: `${dir}/bad.onnx` });
    const engine = await createEngine(config, (r) => reports.push(r));
    assert.ok(engine instanceof EspeakEngine);
    assert.match(reports[0].error.message, /cannot load the Piper voice/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "fallback engine: a failing primary is replaced, reported once",
  requireBinary("espeak-ng"),
  async () => {
    let reports = 0;
    const broken = {
      id: "broken:1",
      synthesize: () => Promise.reject(new Error("model exploded")),
      close: () => Promise.resolve(),
    };
    const engine = new FallbackEngine(broken, new EspeakEngine(), () => reports++);
    assert.equal(engine.id, "broken:1");
    assert.ok((await engine.synthesize("One.")).samples.length > 0);
    assert.ok((await engine.synthesize("Two.")).samples.length > 0);
    assert.equal(reports, 1);
    await engine.close();
  },
);

Deno.test("espeak engine: a missing executable says how to fix it", async () => {
  const engine = new EspeakEngine({ bin: "/nonexistent/espeak-ng" });
  await assert.rejects(engine.synthesize("Hi."), /install espeak-ng.*TTS_ESPEAK_BIN/);
});
