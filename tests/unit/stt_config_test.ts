/**
 * stt-worker configuration: defaults (py-tars' but two, see docs/migration.md), derived values,
 * and ConfigError naming the variable, its value and what is allowed.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../../core/mod.ts";
import { readSttConfig, STT_ENV, sttNotConfigured } from "../../services/stt-worker/config.ts";

Deno.test("stt config: defaults are py-tars' but STT_BACKEND and CHUNK_DURATION_MS", () => {
  const c = readSttConfig({});
  assert.equal(c.audio.source, "alsa");
  assert.equal(c.audio.publishName, "stt");
  assert.equal(c.audio.publish, true);
  assert.equal(c.audio.frameMs, 20);
  assert.equal(c.vad.silenceMs, 700);
  assert.equal(c.vad.minRms, 220);
  assert.equal(c.vad.floorInit, 220);
  assert.equal(c.vad.gateOffset, 2);
  assert.equal(c.transcriber.backend, "openai");
  assert.equal(c.transcriber.openai.baseUrl, "https://api.openai.com/v1");
  assert.equal(c.transcriber.openai.model, "whisper-1");
  assert.equal(c.transcriber.openai.timeoutMs, 30_000);
  assert.equal(c.transcriber.wsUrl, "ws://127.0.0.1:9000/stt");
  assert.equal(c.suppression.repeatCooldownMs, 8_000);
  assert.equal(c.suppression.echoFuzzMinRatio, 0.85);
  assert.deepEqual(c.suppression.coughPhrases, ["thank you", "hello", "okay", "hi"]);
  assert.equal(c.mic.mode, "wake");
  assert.equal(c.mic.ttsMaxMuteMs, 12_000);
  assert.equal(c.mic.responseWindowMs, 10_000);
  assert.equal(c.mic.wakeFallbackDelayMs, 250);
  assert.equal(c.mic.wakeFallbackTtlMs, 3_500);
  assert.equal(c.postPublishCooldownMs, 400);
  assert.equal(c.unmuteGuardMs, 1_000);
  // partials: on for the local backend only unless PARTIALS_REMOTE (py-tars)
  assert.equal(c.partials.enabled, false);
  assert.equal(readSttConfig({ PARTIALS_REMOTE: "1" }).partials.enabled, true);
  assert.ok(Object.keys(STT_ENV).length > 50);
});

Deno.test("stt config: the mqtt source is never republished; NOISE_FLOOR_INIT overrides", () => {
  const c = readSttConfig({
    AUDIO_SOURCE: "MQTT",
    NOISE_FLOOR_INIT: "50",
    OPENAI_BASE_URL: "http://x/v1/",
  });
  assert.equal(c.audio.source, "mqtt");
  assert.equal(c.audio.publish, false);
  assert.equal(c.vad.floorInit, 50);
  assert.equal(c.transcriber.openai.baseUrl, "http://x/v1");
});

Deno.test("stt config: bad values are a ConfigError naming each variable", () => {
  const bad = {
    AUDIO_SOURCE: "file",
    AUDIO_SOURCE_NAME: "a/b",
    SILENCE_THRESHOLD_MS: "fast",
    STT_BACKEND: "sherpa",
    NOISE_FLOOR_INIT: "-1",
  };
  assert.throws(() => readSttConfig(bad), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    for (
      const name of [
        "AUDIO_FILE",
        "AUDIO_SOURCE_NAME",
        "SILENCE_THRESHOLD_MS",
        "SHERPA_MODEL_DIR",
        "NOISE_FLOOR_INIT",
      ]
    ) assert.match(error.message, new RegExp(name));
    return true;
  });
  assert.throws(() => readSttConfig({ STT_BACKEND: "ws", WS_URL: "http://x" }), /WS_URL/);
  assert.throws(() => readSttConfig({ OPENAI_BASE_URL: "api.openai.com" }), /OPENAI_BASE_URL/);
});

Deno.test("stt config: STT_BASE_URL points stt-worker alone at its server; not configured is said", () => {
  // deno task dev: one environment, the LLM at OPENAI_BASE_URL, the Whisper server at STT_BASE_URL.
  const c = readSttConfig({
    OPENAI_BASE_URL: "http://127.0.0.1:11434/v1",
    STT_BASE_URL: "http://127.0.0.1:8000/v1/",
  });
  assert.equal(c.transcriber.openai.baseUrl, "http://127.0.0.1:8000/v1");
  assert.equal(sttNotConfigured(c.transcriber), null);
  assert.throws(() => readSttConfig({ STT_BASE_URL: "localhost:8000" }), /STT_BASE_URL/);
  // The default (api.openai.com) needs a key; a local server, sherpa or ws do not.
  assert.match(sttNotConfigured(readSttConfig({}).transcriber) ?? "", /^STT not configured/);
  assert.equal(sttNotConfigured(readSttConfig({ OPENAI_API_KEY: "k" }).transcriber), null);
  assert.equal(sttNotConfigured(readSttConfig({ STT_BACKEND: "ws" }).transcriber), null);
});
