/** Router configuration: py-tars names, aliases, defaults and errors that name the variable. */
import assert from "node:assert/strict";
import { ConfigError } from "../../core/mod.ts";
import { DEFAULT_LLM_NOT_CONFIGURED_TEXT, readRouterConfig } from "../../services/router/config.ts";
import { DEFAULT_KEYWORD } from "../../services/wake-activation/models.ts";

Deno.test("router config: defaults follow py-tars", () => {
  const config = readRouterConfig({});
  assert.equal(config.healthTopicTts, "system/health/tars-tts");
  assert.equal(config.healthTopicStt, "system/health/tars-stt");
  assert.equal(config.onlineAnnounceText, "System online.");
  // py-tars' phrase, and the phrase of the model wake-activation loads by default.
  assert.deepEqual(config.wakePhrases, ["hey tars", DEFAULT_KEYWORD.replaceAll("_", " ")]);
  assert.equal(config.wakeWindowMs, 8_000);
  assert.equal(config.responseWindowMs, 10_000);
  assert.deepEqual(config.wakeAcks, ["Hmm?", "Huh?", "Yes?"]);
  assert.equal(config.stream.boundaryChars, ".!?;:");
  assert.equal(config.stream.hardMaxChars, 2000);
  assert.equal(config.liveMode.enterPhrase, "enter live mode");
  assert.equal(config.llmNotConfiguredText, DEFAULT_LLM_NOT_CONFIGURED_TEXT);
  assert.equal(config.queue.overflow, "drop-oldest");
  assert.equal(config.ttsVoice, undefined);
  assert.deepEqual(config.ungatedSources, ["ui-web"]);
});

Deno.test("router config: py-tars aliases are read when the ROUTER_ name is unset", () => {
  const config = readRouterConfig({
    WAKE_PHRASES: "Hey TARS|OK Robot",
    STREAM_MIN_CHARS: "20",
    PIPER_VOICE: "en_GB-alan-low",
    WAKE_ACK_CHOICES: "Yes, boss?|Sir?",
    TTS_RESPONSE_WINDOW_SEC: "4.5",
    ROUTER_QUEUE_OVERFLOW: "DROP_NEW",
  });
  assert.deepEqual(config.wakePhrases, ["hey tars", "ok robot"]);
  assert.equal(config.stream.minChars, 20);
  assert.equal(config.ttsVoice, "en_GB-alan-low");
  assert.deepEqual(config.wakeAcks, ["Yes, boss?", "Sir?"]);
  assert.equal(config.responseWindowMs, 4_500);
  assert.equal(config.queue.overflow, "drop-new");
  assert.equal(
    readRouterConfig({ ROUTER_WAKE_PHRASES: "a", WAKE_PHRASES: "b" }).wakePhrases[0],
    "a",
  );
});

Deno.test("router config: every bad variable is named in one ConfigError", () => {
  assert.throws(
    () =>
      readRouterConfig({
        ROUTER_WAKE_WINDOW_SEC: "soon",
        TOPIC_HEALTH_TTS: "tts/health",
        ROUTER_STREAM_MIN_CHARS: "300",
        ROUTER_TIME_ZONE: "Mars/Olympus",
        ROUTER_LLM_TTS_STREAM: "maybe",
        ROUTER_STREAM_BOUNDARY_CHARS: ". !",
      }),
    (error) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.issues.map((i) => i.variable).sort(), [
        "ROUTER_LLM_TTS_STREAM",
        "ROUTER_STREAM_BOUNDARY_CHARS",
        "ROUTER_STREAM_MAX_CHARS",
        "ROUTER_TIME_ZONE",
        "ROUTER_WAKE_WINDOW_SEC",
        "TOPIC_HEALTH_TTS",
      ]);
      assert.match(error.message, /TOPIC_HEALTH_TTS="tts\/health": expected a health topic/);
      return true;
    },
  );
});
