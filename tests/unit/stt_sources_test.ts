/**
 * stt-worker audio sources `file` and `alsa` through the shared source suite (the `mqtt`
 * source runs it in tests/integration/stt_sources_test.ts), plus pacing, resampling and the
 * real `arecord` binary failing on a missing sound card.
 */
import assert from "node:assert/strict";
import { pcm16ToFloat } from "../../lib/audio/mod.ts";
import { wavToPcm16k } from "../../services/stt-worker/pcm.ts";
import { AlsaAudioSource, FileAudioSource } from "../../services/stt-worker/sources/mod.ts";
import { speechWav } from "../helpers/speech_audio.ts";
import { sttClips } from "../helpers/stt_audio.ts";
import { audioSourceSuite } from "../helpers/stt_source_suite.ts";
import { waitFor } from "../helpers/wait.ts";
import { requireBinary } from "../helpers/binaries.ts";

audioSourceSuite("file", async () => {
  const clips = await sttClips();
  return {
    source: new FileAudioSource({ path: clips.questionWav, speed: 0 }),
    expected: clips.question,
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}, requireBinary("espeak-ng", "sox"));

/** A stand-in `arecord`: checks its arguments, writes `raw` to stdout, then idles like a mic. */
async function fakeArecord(dir: string, raw: string): Promise<string> {
  const script = `${dir}/arecord`;
  await Deno.writeTextFile(
    script,
    `#!/bin/sh
echo "$@" > "${dir}/args"
case "$*" in *"-t raw -f S16_LE -r 16000 -c 1"*) ;; *) echo "bad args $*" >&2; exit 2;; esac
cat "${raw}"
exec sleep 30
`,
  );
  await Deno.chmod(script, 0o755);
  return script;
}

audioSourceSuite("alsa", async () => {
  const clips = await sttClips();
  const dir = await Deno.makeTempDir();
  const raw = `${dir}/question.raw`;
  await Deno.writeFile(raw, clips.question);
  return {
    source: new AlsaAudioSource({ device: "plughw:1,0", command: await fakeArecord(dir, raw) }),
    expected: clips.question,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}, requireBinary("espeak-ng", "sox"));

Deno.test("stt source alsa: passes -D AUDIO_DEVICE_NAME to arecord", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/x.raw`, new Uint8Array(6400));
    const source = new AlsaAudioSource({
      device: "hw:CARD=USB,DEV=0",
      command: await fakeArecord(dir, `${dir}/x.raw`),
    });
    await source.open();
    const frames: Uint8Array[] = [];
    const reading = (async () => {
      for await (const f of source.frames()) frames.push(f);
    })();
    await waitFor(() => frames.length === 10, "10 frames", 10_000);
    await source.close();
    await reading;
    const args = await Deno.readTextFile(`${dir}/args`);
    assert.match(args, /-q -t raw -f S16_LE -r 16000 -c 1 -D hw:CARD=USB,DEV=0/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "stt source alsa: the real arecord without a sound card reports and retries",
  requireBinary("arecord"),
  async () => {
    const errors: Error[] = [];
    const source = new AlsaAudioSource({
      device: "hw:97,0",
      retryMinMs: 50,
      retryMaxMs: 100,
      onError: (error) => errors.push(error),
    });
    await source.open();
    const reading = (async () => {
      for await (const _ of source.frames()) { /* none expected */ }
    })();
    try {
      await waitFor(() => errors.length >= 2, "two recorder failures", 15_000);
      assert.match(
        errors[0].message,
        /arecord -D hw:97,0 stopped \(exit code 1\): .*audio open error/s,
      );
      assert.match(errors[0].message, /restarting in 50 ms/);
      assert.ok(source.stats.restarts >= 2);
      assert.equal(source.stats.frames, 0);
    } finally {
      await source.close();
      await reading;
    }
  },
);

Deno.test("stt source alsa: a missing recorder binary is a clear error at open()", async () => {
  const source = new AlsaAudioSource({ device: "", command: "/nonexistent/arecord" });
  await assert.rejects(() => source.open(), /arecord not found: install alsa-utils/);
  await source.close();
});

Deno.test(
  "stt source file: paces frames in real time, faster with AUDIO_FILE_SPEED",
  requireBinary("espeak-ng", "sox"),
  async () => {
    const clips = await sttClips();
    // 20 frames = 400 ms of audio
    for (const [speed, minMs, maxMs] of [[1, 350, 2000], [4, 80, 1000]] as const) {
      const source = new FileAudioSource({ path: clips.questionWav, speed });
      await source.open();
      const started = performance.now();
      let count = 0;
      for await (const _ of source.frames()) if (++count === 21) break;
      const elapsed = performance.now() - started;
      await source.close();
      assert.ok(elapsed >= minMs && elapsed <= maxMs, `speed ${speed}: ${elapsed} ms`);
    }
  },
);

Deno.test(
  "stt source file: a 44.1 kHz stereo file is resampled; the tail is zero-padded",
  requireBinary("espeak-ng", "sox"),
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const wav = await speechWav(dir, "s", "hello there", { sampleRate: 44100, channels: 2 });
      const source = new FileAudioSource({ path: wav, speed: 0 });
      await source.open();
      const frames: Uint8Array[] = [];
      for await (const frame of source.frames()) frames.push(frame);
      const expected = wavToPcm16k(await Deno.readFile(wav));
      assert.equal(frames.length, Math.ceil(expected.length / 640));
      const last = pcm16ToFloat(frames.at(-1)!);
      assert.equal(last.length, 320);
      await source.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "stt source file: loops when asked and reports unreadable files by name",
  requireBinary("espeak-ng", "sox"),
  async () => {
    const clips = await sttClips();
    const source = new FileAudioSource({ path: clips.questionWav, speed: 0, loop: true });
    await source.open();
    const total = Math.ceil(clips.question.length / 640);
    let count = 0;
    for await (const _ of source.frames()) if (++count > total + 5) break;
    await source.close();
    assert.ok(count > total);
    await assert.rejects(
      () => new FileAudioSource({ path: "/nope/x.wav" }).open(),
      /Cannot read AUDIO_FILE \/nope\/x\.wav/,
    );
    const text = `${clips.dir}/not-audio.wav`;
    await Deno.writeTextFile(text, "hello");
    await assert.rejects(() => new FileAudioSource({ path: text }).open(), /AUDIO_FILE .*RIFF/);
  },
);

Deno.test("stt source file: audio already read (by stt-worker's prepare) is not read again", async () => {
  // The path no longer exists: open() must play the given PCM, not read the file.
  const pcm = new Uint8Array(640 * 3 + 100).map((_, i) => i % 251);
  const source = new FileAudioSource({ path: "/nope/gone.wav", speed: 0, pcm });
  await source.open();
  const frames: Uint8Array[] = [];
  for await (const frame of source.frames()) frames.push(frame);
  await source.close();
  assert.equal(frames.length, 4);
  assert.deepEqual(frames.slice(0, 3).map((f) => f.length), [640, 640, 640]);
  assert.deepEqual(frames[0], pcm.subarray(0, 640));
  assert.deepEqual(frames[3].subarray(0, 100), pcm.subarray(1920));
});
