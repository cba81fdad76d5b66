/**
 * Runs the shared frame-source suite against every capture input: ffmpeg's lavfi test
 * pattern, a looped video file (re-encoded), an MJPEG file copied without re-encoding (the
 * path a MJPEG webcam takes), and a V4L2 camera when this machine has one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Logger } from "../../core/mod.ts";
import {
  type CaptureEvent,
  CaptureSupervisor,
  MISSING_TOOL_RETRY_MS,
} from "../../services/camera-service/capture.ts";
import { FrameHub } from "../../services/camera-service/frame_hub.ts";
import {
  CaptureToolMissingError,
  ffmpegArgs,
  FfmpegSource,
  fileInput,
  type FrameSource,
  testsrcInput,
  v4l2Input,
} from "../../services/camera-service/source.ts";
import { serviceTable } from "../../ops/services.ts";
import { frameSourceSuite } from "../helpers/camera_source_suite.ts";
import { makeTestVideo } from "../helpers/camera_media.ts";
import { waitFor } from "../helpers/wait.ts";

const FFMPEG = "/usr/bin/ffmpeg";
const ROOT = new URL("../../", import.meta.url).pathname;

const settings = { width: 320, height: 240, fps: 25, quality: 80, rotation: 0 } as const;
const noTempFiles = () => Promise.resolve();

frameSourceSuite("ffmpeg testsrc", () =>
  Promise.resolve({
    source: new FfmpegSource({ input: testsrcInput(settings), settings }),
    width: 320,
    height: 240,
    [Symbol.asyncDispose]: noTempFiles,
  }));

frameSourceSuite("ffmpeg testsrc rotated 90°", () => {
  const rotated = { ...settings, rotation: 90 } as const;
  return Promise.resolve({
    source: new FfmpegSource({ input: testsrcInput(rotated), settings: rotated }),
    width: 240,
    height: 320,
    [Symbol.asyncDispose]: noTempFiles,
  });
});

frameSourceSuite("ffmpeg file (mpeg4, scaled)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camera-file-" });
  const path = join(dir, "clip.mp4");
  await makeTestVideo(path, { width: 400, height: 300, seconds: 1 });
  return {
    source: new FfmpegSource({ input: fileInput(path, settings), settings }),
    width: 320,
    height: 240,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
});

frameSourceSuite("ffmpeg MJPEG copy (file standing in for a MJPEG webcam)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camera-mjpeg-" });
  const path = join(dir, "clip.mjpeg");
  await makeTestVideo(path, { width: 320, height: 240, seconds: 1, codec: "mjpeg" });
  const input = {
    label: `mjpeg copy ${path}`,
    args: ["-re", "-stream_loop", "-1", "-f", "mjpeg", "-framerate", "25", "-i", path],
    sized: true,
    mjpeg: true,
  };
  const source = new FfmpegSource({ input, settings });
  assert.ok(source.args.includes("copy"), "copies instead of re-encoding");
  return {
    source,
    width: 320,
    height: 240,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
});

const camera = "/dev/video0";
const hasCamera = (() => {
  try {
    return Deno.statSync(camera).isCharDevice === true;
  } catch {
    return false;
  }
})();
frameSourceSuite(
  `ffmpeg v4l2 ${camera}${hasCamera ? "" : " (no camera on this machine)"}`,
  () =>
    Promise.resolve({
      source: new FfmpegSource({ input: v4l2Input(camera, settings, "mjpeg"), settings }),
      width: 320,
      height: 240,
      [Symbol.asyncDispose]: noTempFiles,
    }),
  { ignore: !hasCamera },
);

Deno.test("camera source: a missing ffmpeg fails with an error that says what to do", async () => {
  const source = new FfmpegSource({
    input: testsrcInput(settings),
    settings,
    ffmpeg: "/nonexistent/ffmpeg",
  });
  await assert.rejects(async () => {
    for await (const _ of source.frames(new AbortController().signal)) { /* none */ }
  }, /ffmpeg not found .*CAMERA_FFMPEG/);
});

Deno.test("camera source: an ffmpeg that exits reports its code and stderr", async () => {
  const source = new FfmpegSource({
    input: {
      label: "bad device",
      args: ["-f", "v4l2", "-i", "/nonexistent/video9"],
      sized: true,
      mjpeg: true,
    },
    settings,
  });
  await assert.rejects(async () => {
    for await (const _ of source.frames(new AbortController().signal)) { /* none */ }
  }, (error: Error) => /exited with code \d+: .*video9/.test(error.message));
  assert.ok(ffmpegArgs(testsrcInput(settings), settings).includes("pipe:1"));
});

Deno.test("camera source: ffmpeg installed after start under --allow-run=ffmpeg says to restart, not to pass --allow-run", async () => {
  // The issue #20 sequence in a child with ops' camera permission: no ffmpeg on PATH at
  // start, then ffmpeg appears (installed while the stack runs), then the next attempt.
  const dir = await Deno.makeTempDir({ prefix: "camera-late-ffmpeg-" });
  try {
    const script = join(dir, "late.ts");
    const source = new URL("../../services/camera-service/source.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { FfmpegSource, testsrcInput } from ${JSON.stringify(source)};
const settings = { width: 64, height: 48, fps: 5, quality: 80, rotation: 0 } as const;
const src = new FfmpegSource({ input: testsrcInput(settings), settings });
const attempt = async () => {
  try {
    for await (const _ of src.frames(new AbortController().signal)) return "frames";
    return "ended";
  } catch (e) {
    return (e as Error).name + ": " + (e as Error).message;
  }
};
const first = await attempt();
Deno.copyFileSync(${JSON.stringify(FFMPEG)}, ${JSON.stringify(join(dir, "bin", "ffmpeg"))});
console.log(JSON.stringify([first, await attempt()]));
`,
    );
    await Deno.mkdir(join(dir, "bin"));
    const out = await new Deno.Command(Deno.execPath(), {
      // camera-service's permissions (ops/services.ts), plus writing the fake install
      args: [
        "run",
        `--config=${ROOT}deno.json`,
        ...serviceTable["camera-service"].permissions,
        `--allow-write=${dir}`,
        script,
      ],
      env: { PATH: join(dir, "bin"), NO_COLOR: "1", HOME: Deno.env.get("HOME") ?? dir },
      clearEnv: true,
      cwd: ROOT, // the project's deno.json and node_modules
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const [first, second] = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.match(first, /^CaptureToolMissingError: ffmpeg not found .*apt-get install -y ffmpeg/);
    assert.match(first, /restart camera-service/);
    assert.match(second, /^CaptureToolMissingError: camera-service may not run ffmpeg/);
    assert.match(second, /restart camera-service/);
    assert.doesNotMatch(second, /run again with the --allow-run flag/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("camera capture: a missing ffmpeg is retried after a long wait, with one warning", async () => {
  const source: FrameSource = {
    description: "ffmpeg testsrc",
    pid: undefined,
    // deno-lint-ignore require-yield
    async *frames() {
      throw new CaptureToolMissingError("ffmpeg not found (ffmpeg): install it");
    },
  };
  const events: CaptureEvent[] = [];
  const warnings: string[] = [];
  const logger = { warn: (m: string) => warnings.push(m), info: () => {} } as unknown as Logger;
  const capture = new CaptureSupervisor({
    source,
    hub: new FrameHub(),
    restartMinMs: 10,
    restartMaxMs: 50,
    stallTimeoutMs: 1000,
    logger,
    onEvent: (event) => events.push(event),
  });
  capture.start();
  await waitFor(() => events.length === 1, "unavailable", 5_000);
  assert.deepEqual(events[0], {
    kind: "unavailable",
    detail: "ffmpeg not found (ffmpeg): install it",
    retryInMs: MISSING_TOOL_RETRY_MS,
    toolMissing: true,
  });
  assert.equal(warnings.length, 1);
  assert.equal(capture.stats.state, "backoff");
  await capture.stop(); // ends the long wait at once
  assert.equal(capture.stats.failures, 1);
});
