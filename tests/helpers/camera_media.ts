/**
 * Test helpers of camera-service: an independent JPEG SOF0 reader, ffprobe checks, a
 * multipart MJPEG reader for /stream, and process-tree lookups (the ffmpeg child).
 *
 * @module
 */

/** One part of a multipart MJPEG stream. */
export interface StreamPart {
  /** Part headers, lower-case names. */
  readonly headers: Record<string, string>;
  /** The part body (a JPEG). */
  readonly body: Uint8Array;
  /** When the part was fully received, epoch ms. */
  readonly receivedAt: number;
}

/**
 * Width and height from the baseline SOF0 (FFC0) marker, walking the segments by their
 * lengths: written here independently of the service's parser. `null` if absent.
 */
export function sof0Size(jpeg: Uint8Array): { width: number; height: number } | null {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < jpeg.length) {
    if (jpeg[i] !== 0xff) return null;
    const marker = jpeg[i + 1];
    const length = jpeg[i + 2] * 256 + jpeg[i + 3];
    if (marker === 0xc0) {
      return { height: jpeg[i + 5] * 256 + jpeg[i + 6], width: jpeg[i + 7] * 256 + jpeg[i + 8] };
    }
    if (marker === 0xda) return null;
    i += 2 + length;
  }
  return null;
}

/** Whether bytes start with SOI and end with EOI. */
export function isWholeJpeg(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n > 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[n - 2] === 0xff &&
    bytes[n - 1] === 0xd9;
}

/** Decodes an image with ffprobe: codec name and size, or throws with ffprobe's error. */
export async function ffprobeImage(
  bytes: Uint8Array,
): Promise<{ codec: string; width: number; height: number }> {
  const child = new Deno.Command("ffprobe", {
    args: [
      "-v",
      "error",
      "-show_entries",
      "stream=codec_name,width,height",
      "-of",
      "json",
      "-i",
      "pipe:0",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const written = writer.write(bytes).then(() => writer.close()).catch(() => {});
  const [out] = await Promise.all([child.output(), written]);
  if (!out.success) throw new Error(`ffprobe: ${new TextDecoder().decode(out.stderr)}`);
  const json = JSON.parse(new TextDecoder().decode(out.stdout));
  const stream = json.streams?.[0];
  if (!stream) throw new Error("ffprobe found no stream");
  return { codec: stream.codec_name, width: stream.width, height: stream.height };
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Reads `count` parts from a multipart MJPEG response (by Content-Length), then cancels the
 * body. Throws after `timeoutMs`.
 */
export async function readStreamParts(
  response: Response,
  count: number,
  timeoutMs = 15_000,
): Promise<StreamPart[]> {
  const reader = response.body!.getReader();
  const parts: StreamPart[] = [];
  const separator = new TextEncoder().encode("\r\n\r\n");
  let buf = new Uint8Array(0);
  const timer = setTimeout(() => reader.cancel(new Error("timeout")).catch(() => {}), timeoutMs);
  try {
    while (parts.length < count) {
      // Parse what we have.
      const headerEnd = indexOf(buf, separator);
      if (headerEnd >= 0) {
        const lines = new TextDecoder().decode(buf.subarray(0, headerEnd)).split("\r\n");
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(":");
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        if (!lines[0].startsWith("--")) throw new Error(`bad boundary line: ${lines[0]}`);
        const length = Number(headers["content-length"]);
        const start = headerEnd + 4;
        if (buf.length >= start + length + 2) {
          parts.push({
            headers,
            body: buf.slice(start, start + length),
            receivedAt: Date.now(),
          });
          buf = buf.slice(start + length + 2);
          continue;
        }
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended after ${parts.length} parts`);
      const joined = new Uint8Array(buf.length + value.length);
      joined.set(buf);
      joined.set(value, buf.length);
      buf = joined;
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
  return parts;
}

/** Runs `ps` and returns its trimmed stdout ("" when it matched nothing). */
function ps(args: string[]): string {
  // Deno needs --allow-all to read /proc directly; `ps` only needs --allow-run.
  const out = new Deno.Command("ps", { args, stdout: "piped", stderr: "null" }).outputSync();
  return new TextDecoder().decode(out.stdout).trim();
}

/** Process ids and command names of the children of `pid`. */
export function childProcesses(pid: number = Deno.pid): Array<{ pid: number; name: string }> {
  return ps(["--ppid", String(pid), "-o", "pid=,comm="]).split("\n").filter((line) => line.trim())
    .map((line) => {
      const [child, ...name] = line.trim().split(/\s+/);
      return { pid: Number(child), name: name.join(" ") };
    });
}

/** Whether a process is gone or a zombie (`ps` state Z). */
export function processGone(pid: number): boolean {
  const state = ps(["-o", "stat=", "-p", String(pid)]);
  return state === "" || state.startsWith("Z");
}

/** The ffmpeg children of `pid` that are still running. */
export function ffmpegChildren(pid: number = Deno.pid): number[] {
  return childProcesses(pid).filter((child) => child.name === "ffmpeg")
    .map((child) => child.pid).filter((child) => !processGone(child));
}

/** Writes a short test video (`testsrc2`, `seconds` long) to `path` with ffmpeg. */
export async function makeTestVideo(
  path: string,
  options: { width?: number; height?: number; seconds?: number; codec?: "mjpeg" | "mpeg4" } = {},
): Promise<void> {
  const { width = 320, height = 240, seconds = 2, codec = "mpeg4" } = options;
  const out = await new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=${width}x${height}:rate=10`,
      "-t",
      String(seconds),
      "-c:v",
      codec,
      ...(codec === "mjpeg" ? ["-pix_fmt", "yuvj420p", "-f", "mjpeg"] : []),
      path,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ffmpeg: ${new TextDecoder().decode(out.stderr)}`);
}
