/**
 * `deno task bench camera-service`: CPU per frame and frame latency of camera-service.
 *
 * Starts Mosquitto (the test harness) and the service as its own process (`main.ts`, ffmpeg
 * test pattern 640x480 at `BENCH_CAMERA_FPS` (30), camera/frame at 2/s), then for
 * `BENCH_CAMERA_WINDOW_S` (5) s per scenario:
 *
 * - CPU per captured frame of the Deno service process and of its ffmpeg child (the baseline:
 *   the work the camera needs anyway), from `/proc/<pid>/stat` utime+stime;
 * - latency from "frame complete in the service" (the part's `X-Timestamp`) to "part fully
 *   received" by an HTTP viewer in this process, median and p95;
 * - RSS of the service with 8 viewers that never read (slow viewers must not grow memory).
 *
 * @module
 */
import { freePort, startBroker } from "../tests/helpers/broker.ts";
import { readStreamParts } from "../tests/helpers/camera_media.ts";

const FPS = Number(Deno.env.get("BENCH_CAMERA_FPS") ?? 30);
const WINDOW_S = Number(Deno.env.get("BENCH_CAMERA_WINDOW_S") ?? 5);
const CLK_TCK = 100; // `getconf CLK_TCK` on Linux
const ENTRY = new URL("../services/camera-service/main.ts", import.meta.url).pathname;

function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK; // utime + stime
}

function rssKb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

function ffmpegChild(pid: number): number {
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    const children = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`).trim();
    for (const child of children.split(/\s+/).filter(Boolean).map(Number)) {
      if (Deno.readTextFileSync(`/proc/${child}/comm`).trim() === "ffmpeg") return child;
    }
  }
  throw new Error("camera-service has no ffmpeg child");
}

async function frames(url: string): Promise<number> {
  return (await (await fetch(`${url}/healthz`)).json()).frames;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Window {
  name: string;
  frames: number;
  serviceMs: number;
  ffmpegMs: number;
  latencies: number[];
}

async function measure(
  name: string,
  url: string,
  pid: number,
  viewers: number,
): Promise<Window> {
  const ffmpeg = ffmpegChild(pid);
  const responses = await Promise.all(
    Array.from({ length: viewers }, () => fetch(`${url}/stream`)),
  );
  const startFrames = await frames(url);
  const [service0, ffmpeg0] = [cpuMs(pid), cpuMs(ffmpeg)];
  const expected = Math.round(WINDOW_S * FPS * 0.9);
  const reads = responses.map((response) => readStreamParts(response, expected, WINDOW_S * 3000));
  const parts = viewers > 0 ? await Promise.all(reads) : [];
  if (viewers === 0) await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
  const [service1, ffmpeg1] = [cpuMs(pid), cpuMs(ffmpeg)];
  const captured = (await frames(url)) - startFrames;
  const latencies = parts.flat().map((part) =>
    part.receivedAt - Number(part.headers["x-timestamp"]) * 1000
  );
  return {
    name,
    frames: captured,
    serviceMs: service1 - service0,
    ffmpegMs: ffmpeg1 - ffmpeg0,
    latencies,
  };
}

/** Runs the benchmark; returns its Markdown section. */
export async function run(): Promise<string> {
  await using broker = await startBroker();
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-run=ffmpeg", ENTRY],
    env: {
      MQTT_URL: broker.url,
      LOG_LEVEL: "warning",
      CAMERA_HTTP_HOST: "127.0.0.1",
      CAMERA_HTTP_PORT: String(port),
      CAMERA_FPS: String(FPS),
      CAMERA_HTTP_MAX_VIEWERS: "64",
    },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    const deadline = Date.now() + 20_000;
    while ((await frames(url).catch(() => 0)) < FPS) {
      if (Date.now() > deadline) throw new Error("camera-service produced no frames");
      await new Promise((r) => setTimeout(r, 100));
    }
    const windows: Window[] = [];
    windows.push(await measure("no viewer (MQTT 2/s only)", url, child.pid, 0));
    windows.push(await measure("1 viewer", url, child.pid, 1));
    windows.push(await measure("4 viewers", url, child.pid, 4));

    // Slow viewers: open /stream and never read.
    const rssBefore = rssKb(child.pid);
    const sockets: Deno.TcpConn[] = [];
    for (let i = 0; i < 8; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
      sockets.push(conn);
    }
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
    const rssSlow = rssKb(child.pid);
    for (const conn of sockets) conn.close();

    const rows = windows.map((w) => {
      const perFrameService = w.serviceMs / Math.max(1, w.frames);
      const perFrameFfmpeg = w.ffmpegMs / Math.max(1, w.frames);
      const latency = w.latencies.length
        ? `${percentile(w.latencies, 50).toFixed(1)} / ${percentile(w.latencies, 95).toFixed(1)}`
        : "-";
      return `| ${w.name} | ${w.frames} | ${perFrameFfmpeg.toFixed(2)} | ` +
        `${perFrameService.toFixed(2)} | ${(perFrameService / perFrameFfmpeg).toFixed(2)} | ` +
        `${latency} |`;
    });
    return [
      "## camera-service",
      "",
      `ffmpeg lavfi testsrc 640x480 @ ${FPS} fps → MJPEG (q 80), camera/frame at 2/s; ` +
      `${WINDOW_S} s per row. CPU from /proc (10 ms ticks). The ffmpeg child is the baseline.`,
      "",
      "| scenario | frames | ffmpeg CPU ms/frame | service CPU ms/frame | service / ffmpeg | " +
      "latency to viewer ms (p50 / p95) |",
      "|---|---|---|---|---|---|",
      ...rows,
      "",
      `RSS of the service: ${(rssBefore / 1024).toFixed(1)} MiB before, ` +
      `${(rssSlow / 1024).toFixed(1)} MiB after ${WINDOW_S} s with 8 viewers that never read.`,
      "",
    ].join("\n");
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

if (import.meta.main) console.log(await run());
