/** Unit tests of camera-service configuration and the ffmpeg command lines it leads to. */
import assert from "node:assert/strict";
import { ConfigError } from "../../core/mod.ts";
import {
  ffmpegQscale,
  parseCameraDevice,
  readCameraConfig,
} from "../../services/camera-service/config.ts";
import {
  ffmpegArgs,
  FfmpegSource,
  inputForDevice,
  v4l2Input,
} from "../../services/camera-service/source.ts";
import { canPassThrough, targetSize } from "../../services/camera-service/transcode.ts";

Deno.test("camera config: py-tars defaults, test pattern as the dev default", () => {
  const config = readCameraConfig({});
  assert.deepEqual(config.device, { kind: "testsrc" });
  assert.equal(config.enabled, true);
  assert.deepEqual([config.width, config.height, config.fps], [640, 480, 10]);
  assert.equal(config.quality, 80);
  assert.equal(config.mqttRate, 2);
  assert.equal(config.httpHost, "127.0.0.1", "the camera stays on this machine by default");
  assert.equal(config.token, undefined);
  assert.deepEqual(config.allowedHosts, []);
  assert.equal(config.httpPort, 8080);
  assert.equal(config.timeoutMs, 5000);
  assert.equal(config.rotation, 0);
});

Deno.test("camera config: off loopback CAMERA_TOKEN is required", () => {
  for (const host of ["0.0.0.0", "192.168.1.5", "::"]) {
    assert.throws(() => readCameraConfig({ CAMERA_HTTP_HOST: host }), (error) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.issues.map((i) => i.variable), ["CAMERA_TOKEN"]);
      assert.match(error.message, /Set CAMERA_TOKEN/);
      return true;
    }, host);
  }
  const open = readCameraConfig({ CAMERA_HTTP_HOST: "0.0.0.0", CAMERA_TOKEN: " cam-token-1 " });
  assert.equal(open.token, "cam-token-1");
  assert.throws(() => readCameraConfig({ CAMERA_TOKEN: "short" }), (error) => {
    assert.ok(error instanceof ConfigError);
    assert.ok(!error.message.includes("short"), "the token is not echoed");
    assert.match(error.message, /CAMERA_TOKEN.*at least 8 characters/);
    return true;
  });
  assert.deepEqual(
    readCameraConfig({ CAMERA_ALLOWED_HOSTS: "camera-service, cam.local:8080" }).allowedHosts,
    [{ name: "camera-service" }, { name: "cam.local", port: 8080 }],
  );
  assert.throws(
    () => readCameraConfig({ CAMERA_ALLOWED_HOSTS: "http://x/" }),
    /CAMERA_ALLOWED_HOSTS/,
  );
});

Deno.test("camera config: devices, py-tars CAMERA_DEVICE_INDEX, booleans", () => {
  assert.deepEqual(parseCameraDevice("/dev/video2"), { kind: "v4l2", path: "/dev/video2" });
  assert.deepEqual(parseCameraDevice("TESTSRC"), { kind: "testsrc" });
  assert.deepEqual(parseCameraDevice("/tmp/clip.mp4"), { kind: "file", path: "/tmp/clip.mp4" });
  assert.deepEqual(readCameraConfig({ CAMERA_DEVICE_INDEX: "1" }).device, {
    kind: "v4l2",
    path: "/dev/video1",
  });
  assert.deepEqual(
    readCameraConfig({ CAMERA_DEVICE: "testsrc", CAMERA_DEVICE_INDEX: "1" }).device,
    { kind: "testsrc" },
    "CAMERA_DEVICE wins",
  );
  assert.equal(readCameraConfig({ CAMERA_ENABLED: "off" }).enabled, false);
  assert.equal(readCameraConfig({ CAMERA_ENABLED: "yes" }).enabled, true);
  assert.equal(readCameraConfig({ CAMERA_ROTATION: "270", CAMERA_MQTT_RATE: "0.5" }).rotation, 270);
});

Deno.test("camera config: every bad variable is named in one ConfigError", () => {
  assert.throws(
    () =>
      readCameraConfig({
        CAMERA_ENABLED: "maybe",
        CAMERA_FPS: "0",
        CAMERA_ROTATION: "45",
        CAMERA_HTTP_PORT: "99999",
        CAMERA_DEVICE_INDEX: "front",
        CAMERA_RESTART_MIN_MS: "5000",
        CAMERA_RESTART_MAX_MS: "100",
      }),
    (error) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.issues.map((issue) => issue.variable).sort(), [
        "CAMERA_DEVICE_INDEX",
        "CAMERA_ENABLED",
        "CAMERA_FPS",
        "CAMERA_HTTP_PORT",
        "CAMERA_RESTART_MAX_MS",
        "CAMERA_ROTATION",
      ]);
      assert.match(error.message, /CAMERA_ROTATION="45": expected one of 0, 90, 180, 270/);
      return true;
    },
  );
});

Deno.test("camera config: JPEG quality maps onto ffmpeg's -q:v 2..31", () => {
  assert.equal(ffmpegQscale(100), 2);
  assert.equal(ffmpegQscale(1), 31);
  assert.equal(ffmpegQscale(80), 8);
  assert.ok(ffmpegQscale(90) < ffmpegQscale(50));
});

Deno.test("camera config: v4l2 MJPEG is copied; rotation or raw formats re-encode", () => {
  const settings = { width: 640, height: 480, fps: 15, quality: 80, rotation: 0 } as const;
  const copy = ffmpegArgs(v4l2Input("/dev/video0", settings, "mjpeg"), settings);
  assert.deepEqual(copy.slice(copy.indexOf("-f")), [
    "-f",
    "v4l2",
    "-input_format",
    "mjpeg",
    "-framerate",
    "15",
    "-video_size",
    "640x480",
    "-i",
    "/dev/video0",
    "-an",
    "-c:v",
    "copy",
    "-bsf:v",
    "mjpeg2jpeg",
    "-f",
    "mjpeg",
    "pipe:1",
  ]);
  const rotated = { ...settings, rotation: 180 } as const;
  const flipped = ffmpegArgs(v4l2Input("/dev/video0", rotated, "mjpeg"), rotated);
  assert.ok(
    flipped.includes("hflip,vflip") && flipped.includes("mjpeg") && !flipped.includes("copy"),
  );
  const yuyv = ffmpegArgs(v4l2Input("/dev/video0", settings, "yuyv422"), settings);
  assert.ok(yuyv.includes("yuyv422") && yuyv.includes("-q:v") && !yuyv.includes("copy"));
  const any = ffmpegArgs(v4l2Input("/dev/video0", settings, "any"), settings);
  assert.ok(!any.includes("-input_format"));
  const file = ffmpegArgs(inputForDevice({ kind: "file", path: "/x.mp4" }, settings), settings);
  assert.ok(file.includes("scale=640:480,fps=15") && file.includes("-stream_loop"));
  assert.equal(
    FfmpegSource.fromConfig(readCameraConfig({})).description,
    "ffmpeg testsrc 640x480@10",
  );
});

Deno.test("camera capture sizing: aspect ratio kept, pass-through only when nothing changes", () => {
  assert.deepEqual(targetSize(640, 480, {}), { width: 640, height: 480 });
  assert.deepEqual(targetSize(640, 480, { width: 320 }), { width: 320, height: 240 });
  assert.deepEqual(targetSize(640, 480, { height: 120 }), { width: 160, height: 120 });
  assert.deepEqual(targetSize(640, 480, { width: 100, height: 100 }), { width: 100, height: 100 });
  const frame = { width: 640, height: 480 };
  assert.equal(canPassThrough(frame, 80, { format: "jpeg", quality: 85 }), true);
  assert.equal(canPassThrough(frame, 80, { format: "jpeg", quality: 50 }), false);
  assert.equal(canPassThrough(frame, 80, { format: "png", quality: 85 }), false);
  assert.equal(canPassThrough(frame, 80, { format: "jpeg", quality: 85, width: 320 }), false);
  assert.equal(canPassThrough(frame, 80, { format: "jpeg", quality: 85, width: 640 }), true);
});
