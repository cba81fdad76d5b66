import assert from "node:assert/strict";
import { decodeWavPcm16, encodeWav, normalizeToPcm16 } from "../../lib/audio/mod.ts";
import { durationMs, fromBase64, resample, toBase64 } from "../../services/tts-worker/audio.ts";
import {
  markdownToSpeech,
  normalizePhrase,
  splitSentences,
} from "../../services/tts-worker/text.ts";

Deno.test("text: markdown is reduced to speakable text", () => {
  assert.equal(
    markdownToSpeech(
      "# Weather\n\nIt is **sunny** and _warm_ today.\n\n- bring `sunscreen`\n- see [the map](http://x.y/z)\n\n> quoted ~~no~~ text",
    ),
    "Weather. It is sunny and warm today. bring sunscreen see the map quoted no text",
  );
  assert.equal(markdownToSpeech("```ts\nconst x = 1;\n```"), "const x = 1;");
  assert.equal(markdownToSpeech("a <b>bold</b> &amp; ![alt](i.png) move"), "a bold & alt move");
  assert.equal(markdownToSpeech("  ** **  "), "");
  assert.equal(markdownToSpeech("snake_case_name stays"), "snake_case_name stays");
});

Deno.test("text: sentences split after . ! ? and phrases normalize", () => {
  assert.deepEqual(splitSentences("One. Two!  Three? four"), ["One.", "Two!", "Three?", "four"]);
  assert.deepEqual(splitSentences("Pi is 3.14 exactly."), ["Pi is 3.14 exactly."]);
  assert.deepEqual(splitSentences("  "), []);
  assert.equal(normalizePhrase("  Yes?  "), "yes?");
  assert.equal(normalizePhrase("System   Online."), "system online.");
});

Deno.test("audio: WAV round trip, streamed WAV sizes, errors", () => {
  const audio = { sampleRate: 16000, samples: Int16Array.from([0, 1, -1, 32767, -32768]) };
  const wav = encodeWav(audio.samples, audio.sampleRate);
  assert.equal(wav.length, 44 + 10);
  assert.deepEqual(decodeWavPcm16(wav), audio);
  // espeak-ng --stdout writes 0x7fffffff sizes: read to the end.
  const streamed = wav.slice();
  new DataView(streamed.buffer).setUint32(40, 0x7fffffff, true);
  assert.deepEqual(decodeWavPcm16(streamed).samples, audio.samples);
  assert.throws(() => decodeWavPcm16(new Uint8Array(10)), /not a WAV/);
  assert.equal(durationMs({ sampleRate: 1000, samples: new Int16Array(500) }), 500);
});

Deno.test("audio: resampling keeps duration; floats normalize like Piper", () => {
  const tone = { sampleRate: 22050, samples: new Int16Array(22050).fill(1000) };
  const down = resample(tone, 16000);
  assert.equal(down.sampleRate, 16000);
  assert.equal(down.samples.length, 16000);
  assert.ok(down.samples.every((s) => s === 1000));
  assert.equal(resample(tone, 22050).samples, tone.samples);
  assert.deepEqual([...normalizeToPcm16(Float32Array.of(0.5, -0.25, 0))], [32767, -16383, 0]);
  assert.deepEqual([...normalizeToPcm16(Float32Array.of(0.001, NaN))], [3277, 0]); // no blow-up
});

Deno.test("audio: base64 round trip of large buffers", () => {
  const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => i % 256);
  const text = toBase64(bytes);
  assert.deepEqual(fromBase64(text), bytes);
  assert.equal(toBase64(Uint8Array.of(0, 0, 255, 127)), "AAD/fw==");
});
