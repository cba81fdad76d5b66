/**
 * stt-worker segmenter with scripted probabilities: gate, preroll, silence threshold,
 * maximum length, blips, the noise floor and flush.
 */
import assert from "node:assert/strict";
import {
  type SegmenterEvent,
  type SegmenterSettings,
  UtteranceSegmenter,
} from "../../services/stt-worker/segmenter.ts";

const SETTINGS: SegmenterSettings = {
  frameMs: 20,
  threshold: 0.5,
  prerollMs: 100,
  silenceMs: 200,
  maxUtteranceMs: 2_000,
  minRms: 220,
  floorInit: 220,
  floorAlpha: 0.5,
  gateOffset: 2,
};

/** A 20 ms frame filled with one sample value (RMS = |value|). */
function frame(value: number): Uint8Array {
  const bytes = new Uint8Array(640);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 320; i++) view.setInt16(i * 2, value, true);
  return bytes;
}

function feed(
  segmenter: UtteranceSegmenter,
  steps: Array<[count: number, value: number, p: number]>,
): SegmenterEvent[] {
  const events: SegmenterEvent[] = [];
  for (const [count, value, p] of steps) {
    for (let i = 0; i < count; i++) {
      const event = segmenter.push(frame(value), p);
      if (event) events.push(event);
    }
  }
  return events;
}

Deno.test("stt segmenter: speech → start, trailing silence → utterance with preroll", () => {
  const s = new UtteranceSegmenter(SETTINGS);
  const events = feed(s, [[20, 10, 0.01], [25, 3000, 0.9], [10, 10, 0.05]]);
  assert.deepEqual(events.map((e) => e.type), ["speech_start", "utterance"]);
  const u = events[1].type === "utterance" ? events[1].utterance : undefined;
  assert.ok(u);
  assert.equal(u.endedBy, "silence");
  assert.equal(u.speechMs, 25 * 20);
  // preroll 5 frames + 25 speech + trailing silence kept (10 frames < keepTrailing 15)
  assert.equal(u.durationMs, (5 + 25 + 10) * 20);
  assert.equal(Math.round(u.rms), 3000);
  assert.equal(s.inSpeech, false);
});

Deno.test("stt segmenter: a speech-like frame below the noise gate does not start", () => {
  const s = new UtteranceSegmenter(SETTINGS);
  // gate starts at max(220, 220×2) = 440; a loud frame of 400 with p=0.9 is gated out
  assert.deepEqual(feed(s, [[5, 400, 0.9]]), []);
  // the floor follows quiet frames down to ~0 → gate = NOISE_MIN_RMS 220 → 400 now starts
  feed(s, [[30, 0, 0.0]]);
  assert.equal(Math.round(s.gate), 220);
  assert.deepEqual(feed(s, [[1, 400, 0.9]]).map((e) => e.type), ["speech_start"]);
});

Deno.test("stt segmenter: a constant noise raises the gate", () => {
  const s = new UtteranceSegmenter(SETTINGS);
  feed(s, [[40, 1000, 0.1]]);
  assert.ok(s.noiseFloor > 990, `floor ${s.noiseFloor}`);
  assert.ok(s.gate > 1900);
  assert.deepEqual(feed(s, [[3, 1500, 0.9]]), []);
  assert.deepEqual(feed(s, [[1, 4000, 0.9]]).map((e) => e.type), ["speech_start"]);
});

Deno.test("stt segmenter: hysteresis keeps speech through a dip above threshold − 0.15", () => {
  const s = new UtteranceSegmenter(SETTINGS);
  const events = feed(s, [[10, 3000, 0.9], [20, 3000, 0.4], [10, 0, 0]]);
  assert.deepEqual(events.map((e) => e.type), ["speech_start", "utterance"]);
  const u = events[1].type === "utterance" ? events[1].utterance : undefined;
  assert.equal(u?.speechMs, 30 * 20);
});

Deno.test("stt segmenter: maximum length cuts a long utterance", () => {
  const s = new UtteranceSegmenter(SETTINGS);
  const events = feed(s, [[150, 3000, 0.9]]);
  assert.deepEqual(events.map((e) => e.type), ["speech_start", "utterance", "speech_start"]);
  const u = events[1].type === "utterance" ? events[1].utterance : undefined;
  assert.equal(u?.endedBy, "max_length");
  assert.equal(u?.durationMs, 2_000);
});

Deno.test("stt segmenter: a blip shorter than 100 ms of speech is dropped", () => {
  const s = new UtteranceSegmenter(SETTINGS);
  const events = feed(s, [[4, 3000, 0.9], [10, 0, 0]]);
  assert.deepEqual(events.map((e) => e.type), ["speech_start", "blip"]);
});

Deno.test("stt segmenter: flush ends the utterance in progress; reset drops it", () => {
  const s = new UtteranceSegmenter(SETTINGS);
  assert.equal(s.flush(), null);
  feed(s, [[10, 3000, 0.9]]);
  assert.equal(s.activeMs, 10 * 20);
  assert.equal(s.activeAudio().length, 10 * 640);
  const flushed = s.flush();
  assert.equal(flushed?.type, "utterance");
  assert.equal(flushed?.type === "utterance" && flushed.utterance.endedBy, "flush");
  feed(s, [[10, 3000, 0.9]]);
  s.reset();
  assert.equal(s.inSpeech, false);
  assert.equal(s.flush(), null);
});
