/**
 * The detection gate (threshold, adaptive sensitivity, energy gate, retrigger guard), the
 * energy meter, the PCM framer and the configuration.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../../core/mod.ts";
import { readWakeConfig } from "../../services/wake-activation/config.ts";
import {
  DetectionGate,
  EnergyMeter,
  type GateSettings,
  PcmFramer,
} from "../../services/wake-activation/gate.ts";

const GATE: GateSettings = {
  threshold: 0.55,
  minRetriggerMs: 1_000,
  adaptive: false,
  lowEnergyFactor: 0.8,
  minEnergy: 0,
};

Deno.test("wake gate: threshold and retrigger guard", () => {
  const gate = new DetectionGate(GATE);
  assert.equal(gate.check(0.5, 0.1, 0).verdict, "below_threshold");
  assert.equal(gate.check(0.6, 0.1, 100).verdict, "detected");
  assert.equal(gate.check(0.9, 0.1, 1_099).verdict, "retrigger");
  assert.equal(gate.check(0.9, 0.1, 1_100).verdict, "detected");
  gate.reset();
  assert.equal(gate.check(0.9, 0.1, 1_200).verdict, "detected");
});

Deno.test("wake gate: the energy gate holds back quiet detections", () => {
  const gate = new DetectionGate({ ...GATE, minEnergy: 0.01 });
  assert.equal(gate.check(0.99, 0.005, 0).verdict, "low_energy");
  assert.equal(gate.check(0.99, 0.02, 10).verdict, "detected");
});

Deno.test("wake gate: adaptive sensitivity lowers the threshold for quiet audio (py-tars rules)", () => {
  const gate = new DetectionGate({ ...GATE, adaptive: true, lowEnergyFactor: 0.5 });
  // Fewer than 10 energies: the plain threshold.
  for (let i = 0; i < 9; i++) assert.equal(gate.check(0, 0.1, i).threshold, 0.55);
  gate.check(0, 0.1, 9);
  assert.equal(gate.thresholdFor(0.5, 0.1), 0.55); // average energy: unchanged
  assert.ok(Math.abs(gate.thresholdFor(0.5, 0.04) - 0.275) < 1e-9); // < 0.5×avg: ×0.5
  assert.ok(Math.abs(gate.thresholdFor(0.8, 0.02) - 0.22) < 1e-9); // also score>0.7, <0.3×avg: ×0.8
  const floor = new DetectionGate({
    ...GATE,
    threshold: 0.15,
    adaptive: true,
    lowEnergyFactor: 0.1,
  });
  for (let i = 0; i < 10; i++) floor.check(0, 0.1, i);
  assert.equal(floor.thresholdFor(0.9, 0), 0.1); // never below 0.1
  const off = new DetectionGate(GATE);
  for (let i = 0; i < 20; i++) off.check(0, 0.1, i);
  assert.equal(off.thresholdFor(0.9, 0), 0.55);
});

Deno.test("wake gate: EnergyMeter is the RMS over a sliding window", () => {
  const meter = new EnergyMeter(4);
  assert.equal(meter.rms, 0);
  assert.ok(Math.abs(meter.push(new Int16Array([16384, -16384])) - 0.5) < 1e-9);
  meter.push(new Int16Array([0, 0, 0, 0])); // the loud samples left the window
  assert.equal(meter.rms, 0);
  meter.reset();
  assert.equal(meter.rms, 0);
});

Deno.test("wake gate: PcmFramer reassembles frames from chunks of any size, odd bytes included", () => {
  const samples = Int16Array.from({ length: 3_000 }, (_, i) => (i * 37) % 65536 - 32768);
  const bytes = new Uint8Array(samples.buffer);
  const framer = new PcmFramer(1_280);
  const frames: Int16Array[] = [];
  let offset = 0;
  for (const size of [1, 3, 1_000, 7, 2_560, 1, 2_428]) {
    frames.push(...framer.push(bytes.subarray(offset, offset + size)));
    offset += size;
  }
  assert.equal(offset, bytes.length);
  assert.equal(frames.length, 2);
  assert.deepEqual(frames[0], samples.subarray(0, 1_280));
  assert.deepEqual(frames[1], samples.subarray(1_280, 2_560));
  assert.equal(framer.pending, 3_000 - 2_560);
  framer.reset();
  assert.equal(framer.pending, 0);
});

Deno.test("wake config: py-tars names and defaults, the bundled model", () => {
  const config = readWakeConfig({});
  assert.equal(config.audioTopic, "audio/pcm/+");
  assert.equal(config.modelPath, undefined);
  assert.deepEqual(config.gate, {
    threshold: 0.55,
    minRetriggerMs: 1_000,
    adaptive: false,
    lowEnergyFactor: 0.8,
    minEnergy: 0,
  });
  assert.equal(config.energyWindowMs, 750);
  assert.equal(config.session.idleTimeoutMs, 3_000);
  assert.equal(config.session.interruptWindowMs, 2_500);
  assert.equal(config.session.energyBoost, 1);
  assert.ok(config.session.cancelPhrases.includes("never mind"));
  const custom = readWakeConfig({
    WAKE_AUDIO_TOPIC: "audio/pcm/alsa",
    WAKE_DETECTION_THRESHOLD: "0.35",
    WAKE_BACKGROUND_NOISE_SENSITIVITY: "yes",
    WAKE_CANCEL_PHRASES: "abort|forget it",
  });
  assert.equal(custom.audioTopic, "audio/pcm/alsa");
  assert.equal(custom.gate.threshold, 0.35);
  assert.equal(custom.gate.adaptive, true);
  assert.deepEqual(custom.session.cancelPhrases, ["abort", "forget it"]);
});

Deno.test("wake config: bad values are one ConfigError naming each variable", () => {
  assert.throws(
    () =>
      readWakeConfig({
        WAKE_DETECTION_THRESHOLD: "high",
        WAKE_AUDIO_TOPIC: "mic/raw",
        WAKE_IDLE_TIMEOUT_SEC: "-1",
      }),
    (error) =>
      error instanceof ConfigError &&
      error.issues.map((issue) => issue.variable).sort().join() ===
        "WAKE_AUDIO_TOPIC,WAKE_DETECTION_THRESHOLD,WAKE_IDLE_TIMEOUT_SEC",
  );
  assert.throws(() => readWakeConfig({ WAKE_AUDIO_TOPIC: "audio/pcm/a+b" }), ConfigError);
  assert.throws(() => readWakeConfig({ WAKE_AUDIO_TOPIC: "audio/pcm/#/x" }), ConfigError);
  assert.equal(readWakeConfig({ WAKE_AUDIO_TOPIC: "audio/pcm/#" }).audioTopic, "audio/pcm/#");
});
