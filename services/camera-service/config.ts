/**
 * camera-service configuration from the environment (py-tars names and defaults where they
 * exist, except the device: the test pattern, not py-tars' `/dev/video0`; see the README for the
 * table and docs/migration.md for the reason).
 *
 * @module
 */
import {
  checkHttpExposure,
  ConfigError,
  type ConfigIssue,
  envVar,
  type HostName,
  readEnv,
} from "../../core/mod.ts";
import type { ToolSpec } from "../../lib/process/mod.ts";

/** How camera-service runs ffmpeg (`CAMERA_FFMPEG`), and how to install it when it is missing. */
export function ffmpegTool(bin: string): ToolSpec {
  return {
    tool: "ffmpeg",
    bin,
    aptPackage: "ffmpeg",
    envVar: "CAMERA_FFMPEG",
    service: "camera-service",
    showBin: true,
  };
}

/** Rotations ffmpeg applies before encoding, in degrees clockwise. */
export const CAMERA_ROTATIONS = [0, 90, 180, 270] as const;
/** One of {@linkcode CAMERA_ROTATIONS}. */
export type CameraRotation = typeof CAMERA_ROTATIONS[number];

/** Pixel formats asked of a V4L2 camera (`-input_format`); `any` lets ffmpeg choose. */
export const V4L2_INPUT_FORMATS = ["mjpeg", "yuyv422", "any"] as const;
/** One of {@linkcode V4L2_INPUT_FORMATS}. */
export type V4l2InputFormat = typeof V4L2_INPUT_FORMATS[number];

/** The variables, their defaults and ranges. */
export const CAMERA_ENV = {
  CAMERA_ENABLED: envVar.bool(true),
  CAMERA_DEVICE: envVar.optionalString(),
  CAMERA_DEVICE_INDEX: envVar.optionalString(),
  CAMERA_WIDTH: envVar.int(640, { min: 16, max: 7680 }),
  CAMERA_HEIGHT: envVar.int(480, { min: 16, max: 4320 }),
  CAMERA_FPS: envVar.int(10, { min: 1, max: 60 }),
  CAMERA_QUALITY: envVar.int(80, { min: 1, max: 100 }),
  CAMERA_ROTATION: envVar.choice("0", ["0", "90", "180", "270"]),
  CAMERA_TIMEOUT_MS: envVar.int(5000, { min: 100, max: 600_000 }),
  CAMERA_MQTT_RATE: envVar.float(2, { min: 0, max: 60 }),
  CAMERA_HTTP_HOST: envVar.string("127.0.0.1"),
  CAMERA_HTTP_PORT: envVar.int(8080, { min: 0, max: 65535 }),
  CAMERA_HTTP_MAX_VIEWERS: envVar.int(16, { min: 1, max: 1000 }),
  CAMERA_TOKEN: envVar.optionalString(),
  CAMERA_ALLOWED_HOSTS: envVar.optionalString(),
  CAMERA_V4L2_FORMAT: envVar.choice<V4l2InputFormat>("mjpeg", V4L2_INPUT_FORMATS),
  CAMERA_FFMPEG: envVar.string("ffmpeg"),
  CAMERA_RESTART_MIN_MS: envVar.int(500, { min: 10, max: 600_000 }),
  CAMERA_RESTART_MAX_MS: envVar.int(10_000, { min: 10, max: 3_600_000 }),
};

/** Where frames come from. */
export type CameraDevice =
  | { readonly kind: "testsrc" }
  | { readonly kind: "v4l2"; readonly path: string }
  | { readonly kind: "file"; readonly path: string };

/** The parsed configuration. */
export interface CameraConfig {
  /** `CAMERA_ENABLED`: false = no capture, HTTP and MQTT still answer. */
  readonly enabled: boolean;
  /** `CAMERA_DEVICE` (or `/dev/video<CAMERA_DEVICE_INDEX>`), default the test pattern. */
  readonly device: CameraDevice;
  /** Frame width in pixels (before rotation). */
  readonly width: number;
  /** Frame height in pixels (before rotation). */
  readonly height: number;
  /** Capture rate, frames per second. */
  readonly fps: number;
  /** JPEG quality 1..100 of the encoded frames. */
  readonly quality: number;
  /** Clockwise rotation in degrees. */
  readonly rotation: CameraRotation;
  /** No frame for this long = stalled capture (restart); also the capture-request wait, ms. */
  readonly timeoutMs: number;
  /** camera/frame publications per second; 0 = none. */
  readonly mqttRate: number;
  /** HTTP bind address (default loopback). */
  readonly httpHost: string;
  /** Token the pictures need (`CAMERA_TOKEN`); required when `httpHost` is not loopback. */
  readonly token: string | undefined;
  /** Host names answered besides the loopback names and `httpHost` (`CAMERA_ALLOWED_HOSTS`). */
  readonly allowedHosts: readonly HostName[];
  /** HTTP port; 0 = any free port. */
  readonly httpPort: number;
  /** Concurrent /stream viewers allowed. */
  readonly maxViewers: number;
  /** Pixel format asked of a V4L2 camera. */
  readonly v4l2Format: V4l2InputFormat;
  /** The ffmpeg executable. */
  readonly ffmpeg: string;
  /** First restart delay after the capture died, ms. */
  readonly restartMinMs: number;
  /** Longest restart delay, ms. */
  readonly restartMaxMs: number;
}

/** Reads `CAMERA_DEVICE`: `testsrc`, a `/dev/...` node (V4L2) or a video file path. */
export function parseCameraDevice(value: string): CameraDevice {
  const trimmed = value.trim();
  if (trimmed.toLowerCase() === "testsrc") return { kind: "testsrc" };
  if (trimmed.startsWith("/dev/")) return { kind: "v4l2", path: trimmed };
  return { kind: "file", path: trimmed };
}

/** Reads the configuration; throws one `ConfigError` naming every bad variable. */
export function readCameraConfig(
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): CameraConfig {
  const { values, issues: readIssues } = readEnv(CAMERA_ENV, env);
  const issues: ConfigIssue[] = [...readIssues];
  let device: CameraDevice = { kind: "testsrc" };
  if (values.CAMERA_DEVICE !== undefined) {
    device = parseCameraDevice(values.CAMERA_DEVICE);
  } else if (values.CAMERA_DEVICE_INDEX !== undefined) {
    // py-tars opened OpenCV device N; keep that variable working.
    const index = values.CAMERA_DEVICE_INDEX.trim();
    if (/^\d{1,3}$/.test(index)) device = { kind: "v4l2", path: `/dev/video${Number(index)}` };
    else {
      issues.push({
        variable: "CAMERA_DEVICE_INDEX",
        value: values.CAMERA_DEVICE_INDEX,
        expected: "a device number such as 0 (for /dev/video0), or set CAMERA_DEVICE instead",
      });
    }
  }
  if (values.CAMERA_RESTART_MAX_MS < values.CAMERA_RESTART_MIN_MS) {
    issues.push({
      variable: "CAMERA_RESTART_MAX_MS",
      value: String(values.CAMERA_RESTART_MAX_MS),
      expected: `a delay >= CAMERA_RESTART_MIN_MS (${values.CAMERA_RESTART_MIN_MS})`,
    });
  }
  const host = values.CAMERA_HTTP_HOST;
  const exposure = checkHttpExposure({
    host,
    token: values.CAMERA_TOKEN,
    tokenVariable: "CAMERA_TOKEN",
    allowedHosts: values.CAMERA_ALLOWED_HOSTS,
    allowedHostsVariable: "CAMERA_ALLOWED_HOSTS",
    missingToken:
      `a secret of 8+ characters. Cannot serve the camera on CAMERA_HTTP_HOST=${host} ` +
      "without a token: anyone on the network could watch. Set CAMERA_TOKEN (and give ui-web " +
      "the same CAMERA_TOKEN), or set CAMERA_HTTP_HOST=127.0.0.1",
  });
  issues.push(...exposure.issues);
  if (issues.length > 0) throw new ConfigError(issues, "camera-service configuration");
  return {
    enabled: values.CAMERA_ENABLED,
    device,
    width: values.CAMERA_WIDTH,
    height: values.CAMERA_HEIGHT,
    fps: values.CAMERA_FPS,
    quality: values.CAMERA_QUALITY,
    rotation: Number(values.CAMERA_ROTATION) as CameraRotation,
    timeoutMs: values.CAMERA_TIMEOUT_MS,
    mqttRate: values.CAMERA_MQTT_RATE,
    httpHost: values.CAMERA_HTTP_HOST,
    token: values.CAMERA_TOKEN?.trim(),
    allowedHosts: exposure.allowedHosts,
    httpPort: values.CAMERA_HTTP_PORT,
    maxViewers: values.CAMERA_HTTP_MAX_VIEWERS,
    v4l2Format: values.CAMERA_V4L2_FORMAT,
    ffmpeg: values.CAMERA_FFMPEG,
    restartMinMs: values.CAMERA_RESTART_MIN_MS,
    restartMaxMs: values.CAMERA_RESTART_MAX_MS,
  };
}

/** py-tars `quality` (1..100, Pillow) → ffmpeg's MJPEG `-q:v` (2 best .. 31 worst). */
export function ffmpegQscale(quality: number): number {
  const clamped = Math.min(100, Math.max(1, quality));
  return Math.round(31 - ((clamped - 1) * 29) / 99);
}
