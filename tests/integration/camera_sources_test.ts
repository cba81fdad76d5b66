/**
 * Runs the shared frame-source suite against every capture input: ffmpeg's lavfi test
 * pattern, a looped video file (re-encoded), an MJPEG file copied without re-encoding (the
 * path a MJPEG webcam takes), and a V4L2 camera when this machine has one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ffmpegArgs,
  FfmpegSource,
  fileInput,
  testsrcInput,
  v4l2Input,
} from "../../services/camera-service/source.ts";
import { frameSourceSuite } from "../helpers/camera_source_suite.ts";
import { makeTestVideo } from "../helpers/camera_media.ts";

const settings = { width: 320, height: 240, fps: 25, quality: 80, rotation: 0 } as const;

frameSourceSuite("ffmpeg testsrc", () =>
  Promise.resolve({
    source: new FfmpegSource({ input: testsrcInput(settings), settings }),
    width: 320,
    height: 240,
  }));

frameSourceSuite("ffmpeg testsrc rotated 90°", () => {
  const rotated = { ...settings, rotation: 90 } as const;
  return Promise.resolve({
    source: new FfmpegSource({ input: testsrcInput(rotated), settings: rotated }),
    width: 240,
    height: 320,
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
    cleanup: () => Deno.remove(dir, { recursive: true }),
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
  return { source, width: 320, height: 240, cleanup: () => Deno.remove(dir, { recursive: true }) };
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
