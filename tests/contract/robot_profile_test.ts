/**
 * ops/robot.env, the robot profile: every line is a variable a service reads (and only one
 * service, since every service loads the whole file), every value passes that service's config
 * reader, the profile selects the robot's hardware (ALSA microphone and speaker, Piper, the V4L2
 * camera, the PCA9685 board, a local Whisper server), Piper is used when `PIPER_VOICE` exists and
 * espeak-ng when not, and `deno task dev` keeps the backends that need no hardware. That systemd
 * and compose load the file is checked in systemd_units_test.ts and compose_test.ts.
 */
import assert from "node:assert/strict";
import { MqttClientConfig, type ServiceName, serviceNames } from "../../core/mod.ts";
import { serviceTable } from "../../ops/services.ts";
import { readCameraConfig } from "../../services/camera-service/config.ts";
import { readMovementConfig } from "../../services/movement-service/config.ts";
import { readSttConfig } from "../../services/stt-worker/config.ts";
import { readTtsConfig } from "../../services/tts-worker/config.ts";
import {
  createEngine,
  type EngineFallbackReport,
  EspeakEngine,
} from "../../services/tts-worker/engines/mod.ts";
import { CORE_ENV_NAMES, type Env, readersOf, SERVICE_ENV } from "../helpers/service_env.ts";
import { writePiperLikeVoice } from "../helpers/tts_piper_model.ts";

const PROFILE = new URL("../../ops/robot.env", import.meta.url);

/** Parses robot.env strictly: the subset that systemd and compose read the same way. */
function readProfile(): Record<string, string> {
  const env: Record<string, string> = {};
  const lines = Deno.readTextFileSync(PROFILE).split("\n");
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const where = `ops/robot.env:${i + 1}: ${line}`;
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    assert.ok(m, `${where}: expected NAME=value`);
    const [, name, value] = m;
    // systemd strips quotes and keeps "# ..." in the value, compose does the opposite; both
    // read a plain value the same way. `$` would be interpolated by compose only.
    assert.match(value, /^[^\s"'`$#\\]+$/, `${where}: a plain value (no quotes, spaces, #, $)`);
    assert.ok(!(name in env), `${where}: ${name} is set twice`);
    env[name] = value;
  }
  return env;
}

Deno.test("robot profile: every variable is read by exactly one service (or by core)", () => {
  const profile = readProfile();
  assert.ok(Object.keys(profile).length > 0, "ops/robot.env sets nothing");
  for (const variable of Object.keys(profile)) {
    if (CORE_ENV_NAMES.has(variable)) continue;
    const readers = readersOf(variable);
    assert.notEqual(readers.length, 0, `${variable}: no service reads it`);
    // Every service loads the whole file: a shared name would change another service too
    // (PIPER_VOICE is the router's voice name, OPENAI_BASE_URL moves llm-worker's LLM).
    assert.equal(
      readers.length,
      1,
      `${variable} is read by ${readers.join(", ")}: set it in one service's own env file`,
    );
  }
});

Deno.test("robot profile: every service's config reader accepts the whole file", () => {
  const profile = readProfile();
  for (const name of serviceNames) {
    assert.doesNotThrow(() => SERVICE_ENV[name].read(profile), name);
    const defaults = { clientId: serviceTable[name].clientId };
    assert.doesNotThrow(() => MqttClientConfig.fromEnv(profile, { defaults }), `${name}: MQTT`);
  }
});

Deno.test("robot profile: the robot's hardware, as py-tars had it", () => {
  const profile = readProfile();
  const stt = readSttConfig(profile);
  assert.equal(stt.audio.source, "alsa", "the microphone through ALSA");
  assert.equal(stt.transcriber.backend, "ws", "a local Whisper server");
  const server = new URL(stt.transcriber.wsUrl);
  assert.equal(server.hostname, "127.0.0.1", "on the robot itself, not a cloud service");
  assert.equal(stt.transcriber.wsUrl, "ws://127.0.0.1:9000/stt", "py-tars' default WS_URL");
  const tts = readTtsConfig(profile);
  assert.equal(tts.provider, "piper");
  assert.equal(tts.sink, "alsa", "the speaker through ALSA");
  assert.equal(tts.piperVoice, "/voices/TARS.onnx", "py-tars' PIPER_VOICE");
  assert.deepEqual(readCameraConfig(profile).device, { kind: "v4l2", path: "/dev/video0" });
  const movement = readMovementConfig(profile);
  assert.equal(movement.driver, "pca9685");
  assert.equal(movement.i2cDevice, "/dev/i2c-1");
  assert.equal(movement.i2cAddress, 0x40, "the address of py-tars' PCA9685");
});

Deno.test("robot profile: Piper when PIPER_VOICE exists, espeak-ng when it does not", async () => {
  const profile = readProfile();
  const dir = await Deno.makeTempDir({ prefix: "robot-profile-voice-" });
  try {
    const voice = await writePiperLikeVoice(dir);
    const reports: EngineFallbackReport[] = [];
    const piper = await createEngine(readTtsConfig({ ...profile, PIPER_VOICE: voice }), (r) => {
      reports.push(r);
    });
    try {
      assert.match(piper.id, /^piper:/);
      assert.equal(reports.length, 0, "the voice loads");
    } finally {
      await piper.close();
    }
    const missing = `${dir}/missing.onnx`;
    const espeak = await createEngine(readTtsConfig({ ...profile, PIPER_VOICE: missing }), (r) => {
      reports.push(r);
    });
    try {
      assert.ok(espeak instanceof EspeakEngine);
      assert.equal(reports.length, 1, "one report, not silence");
      assert.equal(reports[0].stage, "load");
      assert.ok((await espeak.synthesize("Still speaking.")).samples.length > 0);
    } finally {
      await espeak.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task dev keeps the backends that need no hardware", () => {
  // What the launcher gives each service: its devEnv over the service's defaults (ops/dev.ts).
  const dev = (name: ServiceName): Env => ({ ...serviceTable[name].devEnv });
  assert.equal(readSttConfig(dev("stt-worker")).audio.source, "mqtt", "the browser microphone");
  const tts = readTtsConfig(dev("tts-worker"));
  assert.equal(tts.sink, "mqtt", "the browser speaker");
  assert.equal(tts.provider, "espeak", "no voice file needed");
  assert.deepEqual(readCameraConfig(dev("camera-service")).device, { kind: "testsrc" });
  assert.equal(readMovementConfig(dev("movement-service")).driver, "sim");
  // ...and the launcher never reads the profile.
  const launcher = Deno.readTextFileSync(new URL("../../ops/dev.ts", import.meta.url));
  assert.doesNotMatch(launcher, /robot\.env/);
});
