/**
 * lib/audio: the shared WAV/PCM codec. Edge values of the float ↔ PCM16 conversions, headers of
 * files written by espeak-ng and sox, bad and truncated headers, and the size limit.
 */
import assert from "node:assert/strict";
import {
  decodeWav,
  decodeWavPcm16,
  encodeWav,
  floatToPcm16,
  normalizeToPcm16,
  parseWav,
  pcm16Bytes,
  pcm16ToFloat,
} from "../../lib/audio/mod.ts";

async function run(command: string, args: string[]): Promise<Uint8Array> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${command}: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}

Deno.test("lib audio: floatToPcm16 maps -1 to -32768, clips +1 to 32767, keeps the level", () => {
  assert.deepEqual(
    [...floatToPcm16(Float32Array.of(-1, -0.5, 0, 0.5, 1))],
    [-32768, -16384, 0, 16384, 32767],
  );
  assert.deepEqual([...floatToPcm16(Float32Array.of(1 / 32768, -1 / 32768))], [1, -1]);
});

Deno.test("lib audio: floatToPcm16 clips out-of-range values and turns NaN into 0", () => {
  assert.deepEqual(
    [...floatToPcm16([1.5, -1.5, 1e9, -1e9, Infinity, -Infinity, NaN])],
    [32767, -32768, 32767, -32768, 32767, -32768, 0],
  );
});

Deno.test("lib audio: every int16 survives pcm16ToFloat then floatToPcm16", () => {
  const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
  assert.deepEqual(floatToPcm16(pcm16ToFloat(all)), all);
  assert.deepEqual(floatToPcm16(pcm16ToFloat(pcm16Bytes(all))), all);
  assert.equal(pcm16ToFloat(Int16Array.of(-32768))[0], -1);
  assert.equal(pcm16ToFloat(Int16Array.of(32767))[0], 32767 / 32768);
});

Deno.test("lib audio: pcm16ToFloat ignores an odd last byte, at any byte offset", () => {
  const bytes = Uint8Array.of(0xff, 0x00, 0x80, 0x01, 0x00, 0x7f);
  assert.deepEqual([...pcm16ToFloat(bytes.subarray(1, 6))], [-32768 / 32768, 1 / 32768]);
  assert.deepEqual([...pcm16ToFloat(Uint8Array.of(0x12))], []);
});

Deno.test("lib audio: normalizeToPcm16 scales the peak to full scale, like Piper", () => {
  assert.deepEqual([...normalizeToPcm16(Float32Array.of(0.5, -0.25, 0))], [32767, -16383, 0]);
  assert.deepEqual([...normalizeToPcm16(Float32Array.of(-2, 1))], [-32767, 16384]);
  assert.deepEqual([...normalizeToPcm16(Float32Array.of(0.001, NaN, Infinity))], [3277, 0, 0]);
});

Deno.test("lib audio: encodeWav writes a canonical header; odd byte counts are kept", () => {
  const wav = encodeWav(Uint8Array.of(1, 2, 3), 22050);
  assert.equal(wav.length, 47);
  const view = new DataView(wav.buffer);
  assert.equal(new TextDecoder().decode(wav.subarray(0, 16)), "RIFF'\0\0\0WAVEfmt ");
  assert.equal(view.getUint32(24, true), 22050);
  assert.equal(view.getUint32(40, true), 3);
  // The odd byte is not a whole sample: it is dropped when read.
  assert.deepEqual([...decodeWavPcm16(wav).samples], [0x0201]);
  assert.deepEqual(decodeWav(wav).samples[0].length, 1);
});

Deno.test("lib audio: espeak-ng's streamed WAV (stdout) and sox's files parse", async () => {
  const espeak = await run("espeak-ng", ["--stdout", "-v", "en-us", "hello"]);
  const spoken = parseWav(espeak);
  assert.equal(spoken.encoding, "pcm");
  assert.equal(spoken.sampleRate, 22050);
  assert.equal(spoken.channels, 1);
  assert.equal(spoken.bitsPerSample, 16);
  assert.equal(spoken.data.length, espeak.length - 44); // the size field says "to the end"
  const mono = decodeWavPcm16(espeak);
  assert.ok(mono.samples.length > 5000, `${mono.samples.length} samples`);

  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/in.wav`, espeak);
    for (
      const [args, encoding, bits] of [
        [["-b", "24", "-c", "2"], "pcm", 24],
        [["-e", "floating-point", "-b", "64"], "float", 64],
        [["-b", "8", "-e", "unsigned-integer"], "pcm", 8],
      ] as const
    ) {
      await run("sox", ["-D", `${dir}/in.wav`, ...args, `${dir}/out.wav`]);
      const wav = parseWav(await Deno.readFile(`${dir}/out.wav`));
      assert.equal(wav.encoding, encoding);
      assert.equal(wav.bitsPerSample, bits);
      assert.equal(wav.data.length / (bits / 8) / wav.channels, mono.samples.length);
    }
    // Lossless formats give the same int16 samples back.
    assert.deepEqual(
      decodeWavPcm16(await Deno.readFile(`${dir}/out.wav`)).samples.length,
      mono.samples.length,
    );
    await run("sox", ["-D", `${dir}/in.wav`, "-b", "24", `${dir}/24.wav`]);
    assert.deepEqual(decodeWavPcm16(await Deno.readFile(`${dir}/24.wav`)).samples, mono.samples);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lib audio: bad and truncated headers are refused with a message that says what", () => {
  const good = encodeWav(Int16Array.of(1, 2, 3, 4), 16000);
  assert.throws(() => parseWav(new Uint8Array(0)), /not a WAV file \(0 bytes.*sox/);
  assert.throws(() => parseWav(good.subarray(0, 11)), /not a WAV file/);
  const notWave = good.slice();
  notWave[8] = "X".charCodeAt(0);
  assert.throws(() => parseWav(notWave), /no RIFF\/WAVE header/);
  assert.throws(() => parseWav(good.subarray(0, 12)), /without a fmt chunk/);
  assert.throws(() => parseWav(good.subarray(0, 30)), /fmt chunk is truncated/);
  const shortFmt = good.slice();
  new DataView(shortFmt.buffer).setUint32(16, 8, true);
  assert.throws(() => parseWav(shortFmt), /fmt chunk is truncated \(8 of 16 bytes\)/);
  assert.throws(() => parseWav(good.subarray(0, 36)), /without a data chunk/);
  const noChannels = good.slice();
  new DataView(noChannels.buffer).setUint16(22, 0, true);
  assert.throws(() => parseWav(noChannels), /0 channels .* not usable/);
  const adpcm = good.slice();
  adpcm[20] = 2;
  assert.throws(() => decodeWav(adpcm), /codec 2 with 16-bit samples is not supported.*sox/);
  const dataFirst = new Uint8Array([...good.subarray(0, 12), ...good.subarray(36)]);
  assert.throws(() => parseWav(dataFirst), /data chunk before its fmt chunk/);
  // A data size larger than the bytes: what is there is read (a file cut while written).
  assert.deepEqual([...decodeWavPcm16(good.subarray(0, 49)).samples], [1, 2]);
});

Deno.test("lib audio: sample data over the size limit is refused before decoding", () => {
  const wav = encodeWav(new Int16Array(1000), 16000);
  assert.equal(parseWav(wav, { maxDataBytes: 2000 }).data.length, 2000);
  assert.throws(
    () => decodeWav(wav, { maxDataBytes: 1999 }),
    /WAV sample data of 2000 bytes is over the 1999-byte limit; cut the file/,
  );
  const streamed = wav.slice();
  new DataView(streamed.buffer).setUint32(40, 0xffffffff, true);
  assert.throws(() => decodeWavPcm16(streamed, { maxDataBytes: 100 }), /over the 100-byte limit/);
  assert.equal(parseWav(streamed).data.length, 2000); // default limit: 256 MiB
});
