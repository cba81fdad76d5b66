/**
 * stt-worker PCM helpers: WAV files made by sox in several formats decode and convert to the
 * same 16 kHz mono audio sox itself produces; framing and WAV encoding round-trip.
 */
import assert from "node:assert/strict";
import { decodeWav, encodeWav, pcm16ToFloat } from "../../lib/audio/mod.ts";
import { frameBytes, FrameChunker, rmsPcm16, wavToPcm16k } from "../../services/stt-worker/pcm.ts";
import { pcm16k, speechWav } from "../helpers/speech_audio.ts";
import { requireBinary } from "../helpers/binaries.ts";

async function sox(args: string[]): Promise<void> {
  const out = await new Deno.Command("sox", { args, stderr: "piped" }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

/** Pearson correlation of two sample arrays over their common length. */
function correlation(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) (ma += a[i], mb += b[i]);
  ma /= n;
  mb /= n;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) {
    num += (a[i] - ma) * (b[i] - mb);
    da += (a[i] - ma) ** 2;
    db += (b[i] - mb) ** 2;
  }
  return num / Math.sqrt(da * db);
}

Deno.test(
  "stt pcm: 16 kHz mono 16-bit WAV converts byte-exactly",
  requireBinary("espeak-ng", "sox"),
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const wav = await speechWav(dir, "s", "what time is it");
      const mine = wavToPcm16k(await Deno.readFile(wav));
      assert.deepEqual(mine, await pcm16k(wav));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

for (
  const [label, args] of [
    ["44.1 kHz stereo 16-bit", ["-r", "44100", "-c", "2", "-b", "16"]],
    ["48 kHz mono 24-bit", ["-r", "48000", "-c", "1", "-b", "24"]],
    ["8 kHz mono 8-bit", ["-r", "8000", "-c", "1", "-b", "8", "-e", "unsigned-integer"]],
    ["22.05 kHz stereo float", ["-r", "22050", "-c", "2", "-e", "floating-point", "-b", "32"]],
  ] as const
) {
  Deno.test(
    `stt pcm: ${label} WAV resamples to 16 kHz mono close to sox`,
    requireBinary("espeak-ng", "sox"),
    async () => {
      const dir = await Deno.makeTempDir();
      try {
        const base = await speechWav(dir, "s", "what time is it", { sampleRate: 16000 });
        const converted = `${dir}/c.wav`;
        await sox([base, ...args, converted]);
        const bytes = await Deno.readFile(converted);
        const decoded = decodeWav(bytes);
        assert.equal(decoded.channels, args[3] === "2" ? 2 : 1);
        const mine = pcm16ToFloat(wavToPcm16k(bytes));
        const reference = pcm16ToFloat(await pcm16k(converted));
        assert.ok(
          Math.abs(mine.length - reference.length) <= 16,
          `${mine.length} vs ${reference.length}`,
        );
        const r = correlation(mine, reference);
        assert.ok(r > 0.9, `correlation ${r}`);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}

Deno.test("stt pcm: decodeWav rejects what is not a usable WAV with a helpful message", () => {
  assert.throws(() => decodeWav(new TextEncoder().encode("hello world, not audio")), /RIFF/);
  const header = encodeWav(new Uint8Array(4), 16000);
  header[20] = 2; // ADPCM
  assert.throws(() => decodeWav(header), /codec 2.*sox/);
});

Deno.test("stt pcm: encodeWav round-trips through decodeWav", () => {
  const pcm = new Uint8Array([0, 0, 0xff, 0x7f, 0x00, 0x80, 0x10, 0x00]);
  const wav = decodeWav(encodeWav(pcm, 16000));
  assert.equal(wav.sampleRate, 16000);
  assert.equal(wav.channels, 1);
  assert.deepEqual(Array.from(wav.samples[0]), Array.from(pcm16ToFloat(pcm)));
});

Deno.test("stt pcm: FrameChunker cuts any chunking into whole frames in order", () => {
  const size = frameBytes(20);
  assert.equal(size, 640);
  const data = Uint8Array.from({ length: 3000 }, (_, i) => i % 251);
  const chunker = new FrameChunker(size);
  const frames: Uint8Array[] = [];
  for (const n of [1, 639, 700, 1, 1000, 659]) {
    const start = frames.length * size + chunker.pending;
    frames.push(...chunker.push(data.subarray(start, start + n)));
  }
  assert.equal(frames.length, 4);
  assert.ok(frames.every((f) => f.length === size));
  assert.deepEqual(frames.flatMap((f) => Array.from(f)), Array.from(data.subarray(0, 4 * size)));
  assert.equal(chunker.pending, 3000 - 4 * size);
});

Deno.test("stt pcm: rmsPcm16 is on the int16 scale", () => {
  const pcm = new Uint8Array(8);
  const view = new DataView(pcm.buffer);
  for (let i = 0; i < 4; i++) view.setInt16(i * 2, i % 2 ? -1000 : 1000, true);
  assert.equal(rmsPcm16(pcm), 1000);
  assert.equal(rmsPcm16(new Uint8Array(0)), 0);
});
