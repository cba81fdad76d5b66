/**
 * Capture sources: where JPEG frames come from. One interface, {@linkcode FrameSource}, and
 * one implementation, {@linkcode FfmpegSource}, that runs ffmpeg as a child process with one
 * of three inputs: a V4L2 camera, ffmpeg's lavfi test pattern, or a looped video file.
 *
 * @module
 */
import {
  type CameraConfig,
  type CameraDevice,
  type CameraRotation,
  ffmpegQscale,
  ffmpegTool,
} from "./config.ts";
import type { V4l2InputFormat } from "./config.ts";
import { type JpegImage, JpegSplitter } from "./jpeg.ts";
import { spawnTool, ToolUnavailableError } from "../../lib/process/mod.ts";

/** A producer of JPEG frames. */
export interface FrameSource {
  /** What it captures, for logs (`ffmpeg testsrc 640x480@10`). */
  readonly description: string;
  /** Process id of the running capture process, if any (diagnostics, tests). */
  readonly pid: number | undefined;
  /**
   * Opens the capture and yields whole JPEG images until it ends (the iterator returns) or
   * fails (it throws an error that says why). Aborting `signal`, or leaving the loop, stops
   * the capture and releases everything it holds.
   */
  frames(signal: AbortSignal): AsyncIterable<JpegImage>;
}

/** How ffmpeg reads its input: `-i` and the flags before it. */
export interface FfmpegInput {
  /** Short name for logs. */
  readonly label: string;
  /** Arguments up to and including `-i <input>`. */
  readonly args: readonly string[];
  /** The input already has the wanted size (no scale filter needed). */
  readonly sized: boolean;
  /** The input is MJPEG that may be copied without re-encoding. */
  readonly mjpeg: boolean;
}

/** The capture settings an ffmpeg source needs. */
export interface CaptureSettings {
  /** Frame width before rotation. */
  readonly width: number;
  /** Frame height before rotation. */
  readonly height: number;
  /** Frames per second. */
  readonly fps: number;
  /** JPEG quality 1..100. */
  readonly quality: number;
  /** Clockwise rotation. */
  readonly rotation: CameraRotation;
}

/** ffmpeg's lavfi test pattern, paced to real time with `-re`. */
export function testsrcInput(settings: CaptureSettings): FfmpegInput {
  const size = `${settings.width}x${settings.height}`;
  return {
    label: `testsrc ${size}@${settings.fps}`,
    args: ["-re", "-f", "lavfi", "-i", `testsrc=size=${size}:rate=${settings.fps}`],
    sized: true,
    mjpeg: false,
  };
}

/** A V4L2 camera (`/dev/videoN`), asking for `format` at the configured size and rate. */
export function v4l2Input(
  path: string,
  settings: CaptureSettings,
  format: V4l2InputFormat,
): FfmpegInput {
  const size = `${settings.width}x${settings.height}`;
  return {
    label: `v4l2 ${path} ${format} ${size}@${settings.fps}`,
    args: [
      "-f",
      "v4l2",
      ...(format === "any" ? [] : ["-input_format", format]),
      "-framerate",
      String(settings.fps),
      "-video_size",
      size,
      "-i",
      path,
    ],
    sized: true,
    mjpeg: format === "mjpeg",
  };
}

/** A video file played in a loop at its own speed (`-re -stream_loop -1`), resampled to fps. */
export function fileInput(path: string, settings: CaptureSettings): FfmpegInput {
  return {
    label: `file ${path} ${settings.width}x${settings.height}@${settings.fps}`,
    args: ["-re", "-stream_loop", "-1", "-i", path],
    sized: false,
    mjpeg: false,
  };
}

/** The input of a configured device. */
export function inputForDevice(
  device: CameraDevice,
  settings: CaptureSettings,
  v4l2Format: V4l2InputFormat = "mjpeg",
): FfmpegInput {
  switch (device.kind) {
    case "testsrc":
      return testsrcInput(settings);
    case "v4l2":
      return v4l2Input(device.path, settings, v4l2Format);
    case "file":
      return fileInput(device.path, settings);
  }
}

/** The video filters needed for `settings` on `input` (empty when none). */
function filters(input: FfmpegInput, settings: CaptureSettings): string[] {
  const chain: string[] = [];
  if (!input.sized) chain.push(`scale=${settings.width}:${settings.height}`, `fps=${settings.fps}`);
  if (settings.rotation === 90) chain.push("transpose=clock");
  else if (settings.rotation === 180) chain.push("hflip", "vflip");
  else if (settings.rotation === 270) chain.push("transpose=cclock");
  return chain;
}

/**
 * The full ffmpeg argument list: the input, then MJPEG on stdout. MJPEG input that needs no
 * filter is copied as it is (no decode, no encode: the cheapest path on the robot), with
 * `mjpeg2jpeg` adding the Huffman tables some UVC cameras leave out.
 */
export function ffmpegArgs(input: FfmpegInput, settings: CaptureSettings): string[] {
  const chain = filters(input, settings);
  const copy = input.mjpeg && chain.length === 0;
  return [
    "-hide_banner",
    "-nostdin",
    "-loglevel",
    "error",
    ...input.args,
    "-an",
    ...(copy ? ["-c:v", "copy", "-bsf:v", "mjpeg2jpeg"] : [
      ...(chain.length > 0 ? ["-vf", chain.join(",")] : []),
      "-c:v",
      "mjpeg",
      "-pix_fmt",
      "yuvj420p",
      "-q:v",
      String(ffmpegQscale(settings.quality)),
    ]),
    "-f",
    "mjpeg",
    "pipe:1",
  ];
}

/** Options of {@linkcode FfmpegSource}. */
export interface FfmpegSourceOptions {
  /** The input. */
  readonly input: FfmpegInput;
  /** Size, rate, quality and rotation. */
  readonly settings: CaptureSettings;
  /** The ffmpeg executable; default `ffmpeg`. */
  readonly ffmpeg?: string;
  /** Bound of one frame in bytes (the splitter drops bigger ones). */
  readonly maxFrameBytes?: number;
}

const STDERR_TAIL_BYTES = 4096;

/**
 * Runs ffmpeg with `-f mjpeg pipe:1` and cuts its stdout into JPEG images. Each call of
 * `frames()` starts a new ffmpeg process; the process is killed when the signal aborts or
 * the consumer leaves the loop, and always awaited.
 */
export class FfmpegSource implements FrameSource {
  readonly #options: FfmpegSourceOptions;
  #pid: number | undefined;

  /** Creates a source; nothing runs until `frames()` is iterated. */
  constructor(options: FfmpegSourceOptions) {
    this.#options = options;
  }

  /** Builds the source of a configuration. */
  static fromConfig(config: CameraConfig): FfmpegSource {
    const settings: CaptureSettings = {
      width: config.width,
      height: config.height,
      fps: config.fps,
      quality: config.quality,
      rotation: config.rotation,
    };
    return new FfmpegSource({
      input: inputForDevice(config.device, settings, config.v4l2Format),
      settings,
      ffmpeg: config.ffmpeg,
    });
  }

  /** `ffmpeg <input label>`. */
  get description(): string {
    return `ffmpeg ${this.#options.input.label}`;
  }

  /** The running ffmpeg's pid. */
  get pid(): number | undefined {
    return this.#pid;
  }

  /** The arguments ffmpeg is started with. */
  get args(): string[] {
    return ffmpegArgs(this.#options.input, this.#options.settings);
  }

  /** Starts ffmpeg and yields its frames (see {@linkcode FrameSource.frames}). */
  async *frames(signal: AbortSignal): AsyncGenerator<JpegImage> {
    if (signal.aborted) return;
    const ffmpeg = this.#options.ffmpeg ?? "ffmpeg";
    let child: Deno.ChildProcess;
    try {
      child = spawnTool(ffmpegTool(ffmpeg), {
        args: this.args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      });
    } catch (error) {
      if (error instanceof ToolUnavailableError) throw new CaptureToolMissingError(error.message);
      throw error;
    }
    this.#pid = child.pid;
    const kill = () => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    };
    signal.addEventListener("abort", kill, { once: true });
    const stderrTail = readTail(child.stderr, STDERR_TAIL_BYTES);
    const splitter = new JpegSplitter(this.#options.maxFrameBytes);
    const reader = child.stdout.getReader();
    let finished = false;
    let exit = "";
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const image of splitter.push(value)) yield image;
      }
      finished = true;
    } finally {
      signal.removeEventListener("abort", kill);
      if (!finished) kill(); // the consumer left early or reading failed
      await reader.cancel().catch(() => {});
      reader.releaseLock();
      const status = await child.status;
      const stderr = await stderrTail;
      this.#pid = undefined;
      const how = status.signal
        ? `was killed by ${status.signal}`
        : `exited with code ${status.code}`;
      const detail = stderr.trim().split("\n").slice(-3).join(" | ");
      exit = `${this.description} ${how}${detail ? `: ${detail}` : ""}`;
    }
    // The stream ended without being asked to: ffmpeg died or the input ran out.
    if (finished && !signal.aborted) throw new Error(exit);
  }
}

/**
 * The capture program cannot be started at all: not installed, or not allowed to this
 * process. A quick retry cannot help, so the capture waits long between attempts and the
 * service reports degraded health with this message (which says what to do).
 */
export class CaptureToolMissingError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CaptureToolMissingError";
  }
}

/** Reads a stream to its end, keeping only its last `limit` bytes, as text. */
async function readTail(stream: ReadableStream<Uint8Array>, limit: number): Promise<string> {
  let tail = new Uint8Array(0);
  try {
    for await (const chunk of stream) {
      const joined = new Uint8Array(Math.min(limit, tail.length + chunk.length));
      const all = new Uint8Array(tail.length + chunk.length);
      all.set(tail);
      all.set(chunk, tail.length);
      joined.set(all.subarray(all.length - joined.length));
      tail = joined;
    }
  } catch { /* the stream errored: keep what we have */ }
  return new TextDecoder().decode(tail);
}
