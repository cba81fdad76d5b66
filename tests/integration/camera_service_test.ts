/**
 * camera-service end to end, in-process: ffmpeg test pattern → /snapshot, /stream,
 * camera/frame on a real Mosquitto, camera/capture → camera/image, capture restarts.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  type CameraFrame,
  type CameraImageResponse,
  type CameraStatusUpdate,
  topics,
} from "../../core/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import {
  ffmpegChildren,
  ffprobeImage,
  isWholeJpeg,
  processGone,
  readStreamParts,
  sof0Size,
} from "../helpers/camera_media.ts";
import { startTestCamera } from "../helpers/camera_service.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

const T = 20_000; // generous: a loaded 2-core box

Deno.test("camera: /snapshot is a valid JPEG of the configured size", async () => {
  await using broker = await startBroker();
  await using camera = await startTestCamera(broker.url, {
    CAMERA_WIDTH: "352",
    CAMERA_HEIGHT: "288",
  });
  await waitFor(() => camera.service.hub.latest, "a first frame", T);
  const response = await fetch(`${camera.baseUrl}/snapshot`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "image/jpeg");
  const jpeg = new Uint8Array(await response.arrayBuffer());
  assert.ok(isWholeJpeg(jpeg));
  assert.deepEqual(sof0Size(jpeg), { width: 352, height: 288 });
  assert.deepEqual(await ffprobeImage(jpeg), { codec: "mjpeg", width: 352, height: 288 });

  const health = await (await fetch(`${camera.baseUrl}/healthz`)).json();
  assert.equal(health.ok, true);
  assert.equal(health.state, "streaming");
  assert.deepEqual([health.width, health.height], [352, 288]);
  const missing = await fetch(`${camera.baseUrl}/nope`);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /Try \/stream, \/snapshot or \/healthz/);
});

Deno.test("camera: /stream delivers several frames to two clients at once", async () => {
  await using broker = await startBroker();
  await using camera = await startTestCamera(broker.url, { CAMERA_FPS: "15" });
  const [a, b] = await Promise.all([
    fetch(`${camera.baseUrl}/stream`),
    fetch(`${camera.baseUrl}/stream`),
  ]);
  for (const response of [a, b]) {
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "multipart/x-mixed-replace; boundary=frame");
  }
  await waitFor(() => camera.service.http.viewers === 2, "two viewers", T);
  const [partsA, partsB] = await Promise.all([readStreamParts(a, 6, T), readStreamParts(b, 6, T)]);
  for (const parts of [partsA, partsB]) {
    assert.equal(parts.length, 6);
    for (const part of parts) {
      assert.equal(part.headers["content-type"], "image/jpeg");
      assert.ok(isWholeJpeg(part.body));
      assert.deepEqual(sof0Size(part.body), { width: 320, height: 240 });
    }
    const seqs = parts.map((part) => Number(part.headers["x-frame-seq"]));
    assert.ok(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]), `increasing: ${seqs}`);
  }
  // Both were served from the one capture at the same time: their frame numbers overlap.
  const seqsA = new Set(partsA.map((part) => part.headers["x-frame-seq"]));
  assert.ok(partsB.some((part) => seqsA.has(part.headers["x-frame-seq"])), "shared frames");
  assert.equal(ffmpegChildren().length, 1, "one ffmpeg for every viewer");
  await waitFor(() => camera.service.http.viewers === 0, "viewers gone after cancel", T);
});

Deno.test("camera: more viewers than CAMERA_HTTP_MAX_VIEWERS get 503", async () => {
  await using broker = await startBroker();
  await using camera = await startTestCamera(broker.url, { CAMERA_HTTP_MAX_VIEWERS: "1" });
  const first = await fetch(`${camera.baseUrl}/stream`);
  const second = await fetch(`${camera.baseUrl}/stream`);
  assert.equal(second.status, 503);
  assert.match(await second.text(), /Too many viewers .*CAMERA_HTTP_MAX_VIEWERS=1/);
  await first.body?.cancel();
});

Deno.test("camera: /snapshot says 503 with a clear body while there is no frame", async () => {
  await using broker = await startBroker();
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const statuses: CameraStatusUpdate[] = [];
  await watcher.subscribe(topics.cameraStatus, (status) => void statuses.push(status));
  await using camera = await startTestCamera(broker.url, { CAMERA_FFMPEG: "/nonexistent/ffmpeg" });
  const response = await fetch(`${camera.baseUrl}/snapshot`);
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "1");
  assert.match(await response.text(), /No frame available yet/);
  await waitFor(() => statuses.some((s) => s.event === "camera_unavailable"), "unavailable", T);
  const unavailable = statuses.find((s) => s.event === "camera_unavailable")!;
  assert.match(unavailable.detail ?? "", /ffmpeg not found/);
  // Not a warning every few seconds: the next try is a minute away (ffmpeg must be installed).
  assert.match(unavailable.detail ?? "", /retrying in 60000 ms/);
  assert.equal(camera.service.capture?.stats.state, "backoff");
  assert.equal(camera.service.capture?.stats.failures, 1);
  const health = await (await fetch(`${camera.baseUrl}/healthz`)).json();
  assert.equal(health.ok, true, "the service itself is fine");
  assert.match(health.last_error, /apt-get install -y ffmpeg/);
});

Deno.test("camera: camera/frame on a real broker at CAMERA_MQTT_RATE", async () => {
  await using broker = await startBroker();
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const frames: Array<{ frame: CameraFrame; at: number; source: string }> = [];
  await watcher.subscribe(topics.cameraFrame, (frame, context) => {
    frames.push({ frame, at: Date.now(), source: context.envelope?.source ?? "" });
  });
  await using camera = await startTestCamera(broker.url, {
    CAMERA_FPS: "10",
    CAMERA_MQTT_RATE: "4",
  });
  await waitFor(() => frames.length >= 1, "a first camera/frame", T);
  const start = frames[0].at;
  await waitFor(() => Date.now() - start >= 3000, "3 s of frames", T);
  const inWindow = frames.filter((f) => f.at - start < 3000).length;
  assert.ok(inWindow >= 9 && inWindow <= 14, `~4/s for 3 s, got ${inWindow}`);
  const first = frames[0].frame;
  assert.equal(first.format, "jpeg");
  assert.equal(first.fps, 4);
  assert.deepEqual([first.width, first.height], [320, 240]);
  const jpeg = new Uint8Array(Buffer.from(first.frame_data, "base64"));
  assert.deepEqual(sof0Size(jpeg), { width: 320, height: 240 });
  assert.deepEqual(frames.slice(0, 5).map((f) => f.frame.frame_number), [0, 1, 2, 3, 4]);
  assert.equal(frames[0].source, camera.client.config.sourceName);
});

Deno.test("camera: CAMERA_MQTT_RATE above CAMERA_FPS publishes every frame (py-tars crashed)", async () => {
  await using broker = await startBroker();
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const frames: CameraFrame[] = [];
  await watcher.subscribe(topics.cameraFrame, (frame) => void frames.push(frame));
  await using camera = await startTestCamera(broker.url, {
    CAMERA_FPS: "5",
    CAMERA_MQTT_RATE: "30",
  });
  await waitFor(() => frames.length >= 8, "8 frames", T);
  const published = camera.service.hub.published;
  assert.ok(camera.service.frames.published >= published - 2, "every captured frame was sent");
  assert.equal(frames[0].fps, 5, "fps reports the effective rate");
  assert.equal(camera.service.frames.failed, 0);
});

Deno.test("camera: camera/capture → camera/image with the request id (jpeg, png, raw)", async () => {
  await using broker = await startBroker();
  await using _camera = await startTestCamera(broker.url);
  await using user = testClient(broker.url);
  await user.connect({ timeoutMs: T });
  const images = new Map<string, { image: CameraImageResponse; correlationId: string | null }>();
  const statuses: CameraStatusUpdate[] = [];
  await user.subscribe(topics.cameraImage, (image, context) => {
    images.set(image.request_id, { image, correlationId: context.correlationId });
  });
  await user.subscribe(topics.cameraStatus, (status) => void statuses.push(status));

  const jpegId = "a".repeat(32);
  const envelopeId = await user.publishEvent(topics.cameraCapture, {
    request_id: jpegId,
    purpose: "test",
  });
  await waitFor(() => images.has(jpegId), "jpeg image", T);
  const jpeg = images.get(jpegId)!;
  assert.equal(jpeg.correlationId, envelopeId, "the reply reuses the request envelope id");
  assert.equal(jpeg.image.success, true);
  assert.equal(jpeg.image.purpose, "test");
  const jpegBytes = new Uint8Array(Buffer.from(jpeg.image.image_data, "base64"));
  assert.equal(jpeg.image.size_bytes, jpegBytes.length);
  assert.deepEqual(sof0Size(jpegBytes), { width: 320, height: 240 });
  assert.deepEqual([jpeg.image.width, jpeg.image.height], [320, 240]);
  assert.ok(Math.abs(jpeg.image.capture_timestamp - Date.now() / 1000) < 10);

  const pngId = "b".repeat(32);
  await user.publishEvent(topics.cameraCapture, { request_id: pngId, format: "png", width: 160 });
  const rawId = "c".repeat(32);
  await user.publishEvent(topics.cameraCapture, {
    request_id: rawId,
    format: "raw",
    width: 64,
    height: 48,
  });
  const smallId = "d".repeat(32);
  await user.publishEvent(topics.cameraCapture, { request_id: smallId, quality: 20 });
  await waitFor(() => images.has(pngId) && images.has(rawId) && images.has(smallId), "all", T);

  const png = images.get(pngId)!.image;
  assert.equal(png.success, true, png.error ?? "");
  assert.deepEqual([png.format, png.width, png.height], ["png", 160, 120]);
  assert.deepEqual(await ffprobeImage(new Uint8Array(Buffer.from(png.image_data, "base64"))), {
    codec: "png",
    width: 160,
    height: 120,
  });
  const raw = images.get(rawId)!.image;
  assert.equal(raw.success, true, raw.error ?? "");
  assert.equal(raw.size_bytes, 64 * 48 * 3);
  assert.equal(Buffer.from(raw.image_data, "base64").length, 64 * 48 * 3);
  const small = images.get(smallId)!.image;
  assert.ok(small.success && small.size_bytes < jpeg.image.size_bytes, "quality 20 is smaller");

  const forRequest = (id: string) =>
    statuses.filter((s) => s.request_id === id).map((s) => s.event);
  await waitFor(() => forRequest(rawId).length === 2, "raw statuses", T);
  assert.deepEqual(forRequest(rawId), ["capture_started", "capture_completed"]);
});

Deno.test("camera: killing the ffmpeg child → capture resumes", async () => {
  await using broker = await startBroker();
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const statuses: CameraStatusUpdate[] = [];
  await watcher.subscribe(topics.cameraStatus, (status) => void statuses.push(status));
  await using camera = await startTestCamera(broker.url);
  const capture = camera.service.capture!;
  await waitFor(() => camera.service.hub.latest, "first frame", T);
  const pid = capture.pid!;
  assert.deepEqual(ffmpegChildren(), [pid]);
  Deno.kill(pid, "SIGKILL");
  await waitFor(() => processGone(pid), "ffmpeg gone", T);
  await waitFor(() => capture.stats.failures === 1, "failure noticed", T);
  const before = camera.service.hub.published;
  await waitFor(() => camera.service.hub.published >= before + 3, "frames again", T);
  assert.notEqual(capture.pid, pid);
  assert.deepEqual(ffmpegChildren(), [capture.pid]);
  assert.match(capture.stats.lastError ?? "", /killed by SIGKILL/);
  await waitFor(() => statuses.filter((s) => s.event === "camera_ready").length >= 2, "ready", T);
  assert.deepEqual(statuses.map((s) => s.event), [
    "camera_ready",
    "camera_unavailable",
    "camera_ready",
  ]);
  const snapshot = await fetch(`${camera.baseUrl}/snapshot`);
  assert.equal(snapshot.status, 200);
  await snapshot.body?.cancel();
});

Deno.test("camera: a stalled ffmpeg (SIGSTOP) is killed after CAMERA_TIMEOUT_MS and restarted", async () => {
  await using broker = await startBroker();
  await using camera = await startTestCamera(broker.url, { CAMERA_TIMEOUT_MS: "1000" });
  const capture = camera.service.capture!;
  await waitFor(() => camera.service.hub.latest, "first frame", T);
  const pid = capture.pid!;
  Deno.kill(pid, "SIGSTOP");
  await waitFor(() => capture.stats.failures === 1, "stall noticed", T);
  assert.match(capture.stats.lastError ?? "", /no frame for 1000 ms \(CAMERA_TIMEOUT_MS\)/);
  await waitFor(() => processGone(pid), "stalled ffmpeg killed", T);
  const before = camera.service.hub.published;
  await waitFor(() => camera.service.hub.published > before, "frames again", T);
});

Deno.test("camera: CAMERA_ENABLED=0 idles cleanly (health ok, no ffmpeg)", async () => {
  await using broker = await startBroker();
  await using user = testClient(broker.url);
  await user.connect({ timeoutMs: T });
  const images: CameraImageResponse[] = [];
  const frames: CameraFrame[] = [];
  await user.subscribe(topics.cameraImage, (image) => void images.push(image));
  await user.subscribe(topics.cameraFrame, (frame) => void frames.push(frame));
  await using camera = await startTestCamera(broker.url, { CAMERA_ENABLED: "0" });
  assert.equal(camera.service.capture, null);
  const health = await (await fetch(`${camera.baseUrl}/healthz`)).json();
  assert.deepEqual([health.ok, health.enabled, health.state], [true, false, "disabled"]);
  const snapshot = await fetch(`${camera.baseUrl}/snapshot`);
  assert.equal(snapshot.status, 503);
  assert.match(await snapshot.text(), /camera is disabled \(CAMERA_ENABLED=0\)/);
  const stream = await fetch(`${camera.baseUrl}/stream`);
  assert.equal(stream.status, 503);
  await stream.body?.cancel();
  await user.publishEvent(topics.cameraCapture, { request_id: "e".repeat(32) });
  await waitFor(() => images.length === 1, "a failure answer", T);
  assert.equal(images[0].success, false);
  assert.match(images[0].error ?? "", /CAMERA_ENABLED=0/);
  assert.deepEqual([images[0].width, images[0].size_bytes, images[0].image_data], [0, 0, ""]);
  assert.deepEqual(ffmpegChildren(), [], "no ffmpeg process");
  assert.equal(frames.length, 0);
});
