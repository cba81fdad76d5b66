/**
 * The camera's HTTP server (Deno.serve): `GET /stream` (multipart MJPEG, every viewer fed
 * from the one capture), `GET /snapshot` (the newest JPEG, 503 until there is one) and
 * `GET /healthz` (JSON status).
 *
 * Every request must name an allowed host (`Host`: loopback names, the bind address,
 * `CAMERA_ALLOWED_HOSTS`), else 421, so a page whose name resolves to 127.0.0.1 (DNS
 * rebinding) cannot watch. With `CAMERA_TOKEN` set, `/`, `/stream` and `/snapshot` need it:
 * `Authorization: Bearer <token>` or `?token=<token>` (an `<img>` cannot send headers);
 * `/healthz` stays open. The dashboard relays the stream with the header (ui-web
 * `/camera/stream`), so browsers never get the token from it.
 *
 * Memory stays bounded: a viewer's stream is pulled (`highWaterMark: 0`), so the next frame
 * is taken from the hub only when the viewer's connection has taken the previous one. A
 * slow viewer therefore holds at most one frame (shared, not copied) and skips the frames it
 * was too slow for.
 *
 * @module
 */
import {
  bearerToken,
  HostAllowList,
  type Logger,
  misdirected,
  tokenMatches,
} from "../../core/mod.ts";
import type { Frame, FrameHub } from "./frame_hub.ts";

/** The multipart boundary of /stream (py-tars: `frame`). */
export const STREAM_BOUNDARY = "frame";

/** What /healthz reports (besides `ok`). */
export type CameraHealthReport = Record<string, unknown>;

/** Options of {@linkcode startCameraHttpServer}. */
export interface CameraHttpOptions {
  /** Bind address. */
  readonly hostname: string;
  /** Port; 0 = any free port (see `port` of the result). */
  readonly port: number;
  /** Frames to serve. */
  readonly hub: FrameHub;
  /** Concurrent /stream viewers allowed; more get 503. */
  readonly maxViewers: number;
  /** Whether capture is enabled (for the 503 text of /snapshot and /stream). */
  readonly enabled: boolean;
  /** The token the pictures need, if any. */
  readonly token?: string;
  /** The Host values answered (others get 421); default loopback names only. */
  readonly allowedHosts?: HostAllowList;
  /** Extra fields of /healthz. */
  readonly health?: () => CameraHealthReport;
  /** Logger. */
  readonly logger?: Logger;
}

/** A running camera HTTP server. */
export interface CameraHttpServer {
  /** The port it listens on. */
  readonly port: number;
  /** The address it listens on. */
  readonly hostname: string;
  /** Open /stream connections. */
  readonly viewers: number;
  /** /stream parts written so far (all viewers). */
  readonly partsSent: number;
  /** Ends every stream and stops listening. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const NO_CACHE = "no-cache, no-store, must-revalidate";

/** The part header written before each JPEG of /stream. */
export function partHeader(frame: Frame): Uint8Array {
  return encoder.encode(
    `--${STREAM_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.bytes.length}` +
      `\r\nX-Frame-Seq: ${frame.seq}\r\nX-Timestamp: ${(frame.capturedAt / 1000).toFixed(3)}` +
      `\r\n\r\n`,
  );
}

/**
 * The body of one /stream viewer: a pull stream that takes the newest frame from `hub` each
 * time the consumer wants more. Ends when `signal` aborts or the hub closes.
 */
export function mjpegStream(
  hub: FrameHub,
  signal: AbortSignal,
  onPart?: (frame: Frame) => void,
  onCancel?: () => void,
): ReadableStream<Uint8Array> {
  let lastSeq = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const frame = await hub.next(lastSeq, signal);
      if (!frame) {
        controller.close();
        return;
      }
      lastSeq = frame.seq;
      controller.enqueue(partHeader(frame));
      controller.enqueue(frame.bytes);
      controller.enqueue(CRLF);
      onPart?.(frame);
    },
    cancel() {
      onCancel?.(); // the viewer went away
    },
  }, { highWaterMark: 0 });
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": NO_CACHE, ...headers },
  });
}

/**
 * Starts the server; resolves once it listens. Rejects with an error naming
 * `CAMERA_HTTP_HOST`/`CAMERA_HTTP_PORT` when the address cannot be bound.
 */
export async function startCameraHttpServer(
  options: CameraHttpOptions,
): Promise<CameraHttpServer> {
  const { hub, logger } = options;
  const closing = new AbortController();
  const viewers = new Set<AbortController>();
  let partsSent = 0;
  const noFrame = options.enabled
    ? "No frame available yet: the camera has not produced a frame (capture starting or " +
      "camera unavailable). Retry in a moment; /healthz shows the capture state."
    : "No frame available: the camera is disabled (CAMERA_ENABLED=0). Set CAMERA_ENABLED=1 " +
      "to capture.";

  const hosts = options.allowedHosts ?? new HostAllowList({ bindHost: options.hostname });
  const handler = (request: Request, info: Deno.ServeHandlerInfo): Response => {
    const url = new URL(request.url);
    const host = request.headers.get("host");
    if (!hosts.allows(host)) return misdirected(host, "CAMERA_ALLOWED_HOSTS");
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text(405, `Method ${request.method} not allowed: use GET`, { allow: "GET, HEAD" });
    }
    const token = options.token;
    const presented = bearerToken(request.headers) ?? url.searchParams.get("token");
    if (token !== undefined && url.pathname !== "/healthz") {
      if (!tokenMatches(presented, token)) {
        return text(
          401,
          "This camera needs its token (CAMERA_TOKEN): send Authorization: Bearer <token> " +
            "or ?token=<token>.",
          { "www-authenticate": "Bearer" },
        );
      }
    }
    switch (url.pathname) {
      case "/healthz":
        return Response.json({
          ok: true,
          enabled: options.enabled,
          viewers: viewers.size,
          ...options.health?.(),
        }, { headers: { "cache-control": NO_CACHE } });
      case "/snapshot": {
        const frame = hub.latest;
        if (!frame) return text(503, noFrame, { "retry-after": "1" });
        return new Response(frame.bytes, {
          headers: {
            "content-type": "image/jpeg",
            "content-length": String(frame.bytes.length),
            "cache-control": NO_CACHE,
            "x-frame-seq": String(frame.seq),
            "x-timestamp": (frame.capturedAt / 1000).toFixed(3),
          },
        });
      }
      case "/stream":
      case "/stream.mjpg": {
        if (!options.enabled) return text(503, noFrame);
        if (viewers.size >= options.maxViewers) {
          return text(
            503,
            `Too many viewers (${viewers.size}, CAMERA_HTTP_MAX_VIEWERS=${options.maxViewers}): ` +
              `close another stream or raise the limit.`,
            { "retry-after": "5" },
          );
        }
        const viewer = new AbortController();
        viewers.add(viewer);
        const end = () => {
          viewer.abort();
          viewers.delete(viewer);
        };
        info.completed.then(end, end);
        const signal = AbortSignal.any([viewer.signal, closing.signal]);
        signal.addEventListener("abort", () => viewers.delete(viewer), { once: true });
        const body = mjpegStream(hub, signal, () => partsSent++, end);
        logger?.debug("Viewer joined /stream ({viewers} now)", { viewers: viewers.size });
        return new Response(body, {
          headers: {
            "content-type": `multipart/x-mixed-replace; boundary=${STREAM_BOUNDARY}`,
            "cache-control": NO_CACHE,
            pragma: "no-cache",
            connection: "close",
          },
        });
      }
      case "/": {
        // The token (already checked) goes on to the <img>, which cannot send a header.
        const query = token === undefined ? "" : `?token=${encodeURIComponent(presented ?? "")}`;
        const src = `/stream${query}`.replaceAll("&", "&amp;").replaceAll('"', "&quot;");
        return new Response(
          `<!doctype html><title>TARS camera</title><img src="${src}" alt="camera stream">\n`,
          {
            headers: {
              "content-type": "text/html; charset=utf-8",
              "referrer-policy": "no-referrer",
              "cache-control": NO_CACHE,
            },
          },
        );
      }
      default:
        return text(404, `Not found: ${url.pathname}. Try /stream, /snapshot or /healthz.`);
    }
  };

  const listening = Promise.withResolvers<Deno.NetAddr>();
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
      onError: (error) => {
        logger?.warn("HTTP handler failed: {error}", { error });
        return text(500, "Internal error; see the camera-service log.");
      },
    }, handler);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot serve HTTP on ${options.hostname}:${options.port} (${why}): set ` +
        `CAMERA_HTTP_HOST/CAMERA_HTTP_PORT to a free address`,
    );
  }
  const addr = await listening.promise;
  return {
    port: addr.port,
    hostname: addr.hostname,
    get viewers() {
      return viewers.size;
    },
    get partsSent() {
      return partsSent;
    },
    async close() {
      closing.abort();
      await server.shutdown();
    },
  };
}
