/**
 * camera-service as a process (`services/camera-service/main.ts`), the way `deno task dev`
 * and systemd run it: health on MQTT, HTTP on a free port, ffmpeg child killed → capture
 * resumes, SIGTERM → clean exit with no ffmpeg left, CAMERA_ENABLED=0, bad env → exit 78.
 */
import assert from "node:assert/strict";
import { type HealthPing, topicFor, topics } from "../../core/mod.ts";
import { freePort, startBroker } from "../helpers/broker.ts";
import { ffmpegChildren, processGone, sof0Size } from "../helpers/camera_media.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

const T = 20_000;
/** camera-service with the ops permissions and this PATH (for ffmpeg) unless `env` sets one. */
function spawnCamera(env: Record<string, string>): Deno.ChildProcess {
  return spawnService("camera-service", { PATH: Deno.env.get("PATH") ?? "", ...env });
}

async function snapshotSeq(url: string): Promise<number> {
  const response = await fetch(`${url}/snapshot`);
  const body = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 200) return 0;
  assert.deepEqual(sof0Size(body), { width: 320, height: 240 });
  return Number(response.headers.get("x-frame-seq"));
}

Deno.test("camera process: serves, publishes health as tars-camera, survives a killed ffmpeg, stops cleanly", async () => {
  await using broker = await startBroker();
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const health: HealthPing[] = [];
  await watcher.subscribe(topics.systemHealth, (ping) => void health.push(ping), {
    params: { client_id: "tars-camera" },
  });
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnCamera({
    MQTT_URL: broker.url,
    CAMERA_HTTP_HOST: "127.0.0.1",
    CAMERA_HTTP_PORT: String(port),
    CAMERA_WIDTH: "320",
    CAMERA_HEIGHT: "240",
    CAMERA_RESTART_MIN_MS: "100",
  });
  let stopped: { code: number; stderr: string } | null = null;
  try {
    await waitFor(() => health.some((ping) => ping.ok && ping.event === "ready"), "ready", T);
    assert.equal(
      topicFor(topics.systemHealth, { client_id: "tars-camera" }),
      "system/health/tars-camera",
    );
    let seq = 0;
    await waitFor(async () => (seq = await snapshotSeq(url).catch(() => 0)) > 0, "snapshot", T);
    const [ffmpeg] = ffmpegChildren(child.pid);
    assert.ok(ffmpeg, "the service runs one ffmpeg child");
    Deno.kill(ffmpeg, "SIGKILL");
    await waitFor(() => processGone(ffmpeg), "ffmpeg killed", T);
    await waitFor(
      () => {
        const now = ffmpegChildren(child.pid);
        return now.length === 1 && now[0] !== ffmpeg;
      },
      "a new ffmpeg",
      T,
    );
    const afterKill = await snapshotSeq(url).catch(() => 0);
    await waitFor(
      async () => (await snapshotSeq(url).catch(() => 0)) > Math.max(seq, afterKill),
      "frames resume",
      T,
    );
    const healthz = await (await fetch(`${url}/healthz`)).json();
    assert.equal(healthz.ok, true);
    assert.ok(healthz.restarts >= 1);
    const last = ffmpegChildren(child.pid)[0];
    stopped = await stopService(child);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.ok(processGone(last), "no ffmpeg left behind");
    await waitFor(() => health.some((ping) => ping.event === "shutdown"), "health shutdown", T);
  } finally {
    if (!stopped) await stopService(child);
  }
});

Deno.test("camera process: without ffmpeg, health is degraded with the fix, and it keeps serving", async () => {
  await using broker = await startBroker();
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const health: HealthPing[] = [];
  await watcher.subscribe(topics.systemHealth, (ping) => void health.push(ping), {
    params: { client_id: "tars-camera" },
  });
  const empty = await Deno.makeTempDir({ prefix: "camera-no-ffmpeg-" });
  const port = freePort();
  const child = spawnCamera({
    MQTT_URL: broker.url,
    PATH: empty, // a machine without ffmpeg
    CAMERA_HTTP_HOST: "127.0.0.1",
    CAMERA_HTTP_PORT: String(port),
    CAMERA_RESTART_MIN_MS: "10",
    CAMERA_RESTART_MAX_MS: "50",
  });
  let stopped: { code: number; stderr: string } | null = null;
  try {
    await waitFor(
      () => health.some((ping) => ping.event === "camera_unavailable"),
      "health camera_unavailable",
      T,
    );
    const ping = health.find((p) => p.event === "camera_unavailable")!;
    assert.equal(ping.ok, false);
    assert.match(ping.err ?? "", /ffmpeg not found .*sudo apt-get install -y ffmpeg/);
    assert.match(ping.err ?? "", /restart camera-service/);
    const healthz = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
    assert.equal(healthz.restarts, 1, JSON.stringify(healthz));
    stopped = await stopService(child);
    assert.equal(stopped.code, 0, stopped.stderr);
    // One warning (the next try is a minute away), not one per CAMERA_RESTART_MAX_MS.
    const warnings = stopped.stderr.split("\n").filter((l) => /ffmpeg not found/.test(l));
    assert.equal(warnings.length, 1, stopped.stderr);
  } finally {
    if (!stopped) await stopService(child);
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("camera process: CAMERA_ENABLED=0 idles with health ok and no ffmpeg", async () => {
  await using broker = await startBroker();
  const port = freePort();
  const child = spawnCamera({
    MQTT_URL: broker.url,
    CAMERA_ENABLED: "0",
    CAMERA_HTTP_HOST: "127.0.0.1",
    CAMERA_HTTP_PORT: String(port),
  });
  try {
    let healthz: { ok?: boolean; enabled?: boolean } = {};
    await waitFor(
      async () => {
        healthz = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.json()).catch(
          () => ({}),
        );
        return healthz.ok;
      },
      "healthz",
      T,
    );
    assert.equal(healthz.enabled, false);
    assert.deepEqual(ffmpegChildren(child.pid), []);
  } finally {
    const { code, stderr } = await stopService(child);
    assert.equal(code, 0, stderr);
  }
});

Deno.test("camera process: off loopback without CAMERA_TOKEN it refuses to start (78)", async () => {
  // No broker: the check comes before connecting, like ui-web's.
  const child = spawnCamera({ MQTT_URL: "mqtt://127.0.0.1:1", CAMERA_HTTP_HOST: "0.0.0.0" });
  // A camera that starts anyway would wait for the broker forever: end it, and fail below.
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  clearTimeout(timer);
  assert.equal(status.code, 78, stderr);
  assert.match(stderr, /Cannot serve the camera on CAMERA_HTTP_HOST=0\.0\.0\.0 without a token/);
  assert.match(stderr, /Set CAMERA_TOKEN/);
});

Deno.test("camera process: a bad variable exits 78 naming it", async () => {
  await using broker = await startBroker();
  const child = spawnCamera({ MQTT_URL: broker.url, CAMERA_FPS: "fast", CAMERA_ROTATION: "45" });
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  assert.equal(status.code, 78, stderr);
  assert.match(stderr, /CAMERA_FPS="fast": expected an integer from 1 to 60/);
  assert.match(stderr, /CAMERA_ROTATION="45"/);
});
