/**
 * A small MJPEG server for ui-web tests: one JPEG test pattern made by ffmpeg (lavfi
 * testsrc), served as `multipart/x-mixed-replace` on `/stream` like camera-service does.
 *
 * @module
 */

/** A running MJPEG server; dispose to stop it. */
export interface MjpegServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>/stream`. */
  readonly url: string;
}

/** Makes one 320x240 JPEG test pattern with ffmpeg. */
export async function testPatternJpeg(): Promise<Uint8Array> {
  const out = await new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      "testsrc=size=320x240:rate=1",
      "-frames:v",
      "1",
      "-f",
      "mjpeg",
      "pipe:1",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}

/** Serves the test pattern every 200 ms until the client goes away. */
export async function startMjpegServer(): Promise<MjpegServer> {
  const jpeg = await testPatternJpeg();
  const timers = new Set<ReturnType<typeof setInterval>>();
  const encoder = new TextEncoder();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (new URL(req.url).pathname !== "/stream") return new Response("not found", { status: 404 });
    let timer: ReturnType<typeof setInterval> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = () => {
          try {
            controller.enqueue(encoder.encode(
              `--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`,
            ));
            controller.enqueue(jpeg);
            controller.enqueue(encoder.encode("\r\n"));
          } catch {
            clearInterval(timer);
            if (timer !== undefined) timers.delete(timer);
          }
        };
        send();
        timer = setInterval(send, 200);
        timers.add(timer);
      },
      cancel() {
        clearInterval(timer);
        if (timer !== undefined) timers.delete(timer);
      },
    });
    return new Response(body, {
      headers: { "content-type": "multipart/x-mixed-replace; boundary=frame" },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/stream`,
    async [Symbol.asyncDispose]() {
      for (const timer of timers) clearInterval(timer);
      timers.clear();
      await server.shutdown();
    },
  };
}
