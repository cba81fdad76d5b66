/**
 * One-shot image conversion for camera/capture requests: a frame of the stream (JPEG) to the
 * requested size and format (JPEG at a quality, PNG, or raw RGB24), through an ffmpeg child.
 *
 * @module
 */
import type { CameraImageFormat } from "../../core/mod.ts";
import { spawnTool } from "../../lib/process/mod.ts";
import { ffmpegQscale, ffmpegTool } from "./config.ts";
import { readJpegSize, readPngSize } from "./jpeg.ts";

/** What a capture request asks for. */
export interface ImageRequest {
  /** Output format. */
  readonly format: CameraImageFormat;
  /** JPEG quality 1..100. */
  readonly quality: number;
  /** Wanted width; with only one of width/height the other keeps the aspect ratio. */
  readonly width?: number | null;
  /** Wanted height. */
  readonly height?: number | null;
}

/** A converted image. */
export interface ConvertedImage {
  /** The encoded bytes (raw: RGB24, row by row). */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** The format of `bytes`. */
  readonly format: CameraImageFormat;
}

/** The output size for a request on a `sourceWidth`×`sourceHeight` frame. */
export function targetSize(
  sourceWidth: number,
  sourceHeight: number,
  request: Pick<ImageRequest, "width" | "height">,
): { width: number; height: number } {
  const width = request.width ?? undefined;
  const height = request.height ?? undefined;
  if (width && height) return { width, height };
  if (width) {
    return { width, height: Math.max(1, Math.round((sourceHeight * width) / sourceWidth)) };
  }
  if (height) {
    return { width: Math.max(1, Math.round((sourceWidth * height) / sourceHeight)), height };
  }
  return { width: sourceWidth, height: sourceHeight };
}

/**
 * Whether the stream's frame can be sent as it is: JPEG, same size, and a requested quality
 * not below the stream's (re-encoding at a higher quality cannot add detail).
 */
export function canPassThrough(
  frame: { width: number; height: number },
  streamQuality: number,
  request: ImageRequest,
): boolean {
  const size = targetSize(frame.width, frame.height, request);
  return request.format === "jpeg" && size.width === frame.width &&
    size.height === frame.height && request.quality >= streamQuality;
}

/** Options of {@linkcode convertImage}. */
export interface ConvertOptions {
  /** The ffmpeg executable; default `ffmpeg`. */
  readonly ffmpeg?: string;
  /** Kills ffmpeg when aborted (e.g. a timeout). */
  readonly signal?: AbortSignal;
}

/** Converts a JPEG frame as `request` asks; throws an error that says why on failure. */
export async function convertImage(
  jpeg: { bytes: Uint8Array; width: number; height: number },
  request: ImageRequest,
  options: ConvertOptions = {},
): Promise<ConvertedImage> {
  const size = targetSize(jpeg.width, jpeg.height, request);
  const output = request.format === "jpeg"
    ? ["-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-q:v", String(ffmpegQscale(request.quality))]
    : request.format === "png"
    ? ["-c:v", "png"]
    : ["-pix_fmt", "rgb24"];
  const muxer = request.format === "raw" ? "rawvideo" : "image2pipe";
  const child = spawnTool(ffmpegTool(options.ffmpeg ?? "ffmpeg"), {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "jpeg_pipe",
      "-i",
      "pipe:0",
      "-vf",
      `scale=${size.width}:${size.height}`,
      "-frames:v",
      "1",
      ...output,
      "-f",
      muxer,
      "pipe:1",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  });
  const writer = child.stdin.getWriter();
  const written = writer.write(jpeg.bytes).then(() => writer.close()).catch(() => {});
  const [result] = await Promise.all([child.output(), written]);
  if (!result.success) {
    const why = options.signal?.aborted
      ? "it took too long (CAMERA_TIMEOUT_MS)"
      : new TextDecoder().decode(result.stderr).trim().split("\n").slice(-2).join(" | ") ||
        `exit code ${result.code}`;
    throw new Error(`Converting the frame to ${request.format} failed: ${why}`);
  }
  const bytes = result.stdout;
  const actual = request.format === "jpeg"
    ? readJpegSize(bytes)
    : request.format === "png"
    ? readPngSize(bytes)
    : bytes.length === size.width * size.height * 3
    ? size
    : null;
  if (!actual) {
    throw new Error(`ffmpeg produced no valid ${request.format} image (${bytes.length} bytes)`);
  }
  return { bytes, width: actual.width, height: actual.height, format: request.format };
}
