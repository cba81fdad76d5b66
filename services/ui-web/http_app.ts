/**
 * The HTTP side of ui-web: the page and its files, the live event stream (SSE), the control
 * API and the microphone WebSocket.
 *
 * | route | what |
 * |---|---|
 * | `GET /`, `GET /static/<file>` | the page (allow-listed files only) |
 * | `GET /events` | Server-Sent Events: a `hello` snapshot, then live events (view) |
 * | `GET /api/state` | the snapshot as JSON (view) |
 * | `GET /camera/stream` | camera-service's MJPEG stream, relayed (view) |
 * | `GET /healthz` | `{ok, mqtt}` |
 * | `POST /api/say` `{text}` | stt/final from source ui-web (control) |
 * | `POST /api/move` `{command, speed?, params?}` | movement/test (control) |
 * | `POST /api/stop` `{reason?}` | movement/stop (control) |
 * | `POST /api/clear` `{reason?}` | movement/clear (control) |
 * | `POST /api/character` `{trait, value}` or `{action: "reset_traits"}` | character/update (control) |
 * | `POST /api/memory` `{query, k?}` | memory/query → memory/results (control) |
 * | `GET /ws/mic?token=` | WebSocket of binary PCM16LE 16 kHz frames → audio/pcm/ui-web (control) |
 *
 * Every request must name an allowed host (`Host` header: loopback names, the bind address,
 * `UI_ALLOWED_HOSTS`), else it is answered 421: a page whose name resolves to 127.0.0.1 (DNS
 * rebinding) cannot reach the dashboard. When a token is configured, the views and the control
 * actions need it: header `X-UI-Token` or `Authorization: Bearer`, or the `token` query
 * parameter for what a browser cannot add headers to (the views and the WebSocket; never a
 * POST). Control requests must be JSON of at most 16 KiB (checked while reading) and are
 * refused when the browser says they come from another origin.
 *
 * The camera is relayed rather than linked: the browser only talks to ui-web (same origin, one
 * port to publish), and ui-web sends camera-service's `CAMERA_TOKEN` itself, so that token never
 * reaches the page.
 *
 * @module
 */
import {
  bearerToken,
  BodyTooLargeError,
  CharacterUpdate,
  type HostAllowList,
  type Logger,
  misdirected,
  readBodyLimited,
  RequestTimeoutError,
  TEST_MOVEMENT_COMMANDS,
  TestMovementRequest,
  tokenMatches,
} from "../../core/mod.ts";
import type { DashboardBridge, DashboardSnapshot } from "./bridge.ts";
import type { EventHub } from "./event_hub.ts";
import type { StaticFiles } from "./static_files.ts";

/** What the page is told about the server (part of the `hello` event). */
export interface PageConfig {
  /** The camera MJPEG stream to embed: ui-web's relay, `/camera/stream`. */
  readonly cameraUrl: string;
  /** Whether the views and control actions need a token (`UI_TOKEN`). */
  readonly tokenRequired: boolean;
  /** The movement commands the buttons offer (from the contract). */
  readonly movementCommands: readonly string[];
}

/** The `hello` event: config and snapshot. */
export interface HelloEvent extends DashboardSnapshot {
  /** Always `hello`. */
  readonly type: "hello";
  /** What the page needs to know about the server. */
  readonly config: PageConfig;
}

/** Options of {@linkcode createHandler}. */
export interface HttpAppOptions {
  /** The MQTT bridge. */
  readonly bridge: DashboardBridge;
  /** The live event hub. */
  readonly hub: EventHub;
  /** The page's files. */
  readonly files: StaticFiles;
  /** The token the views and control actions need, if any. */
  readonly token: string | undefined;
  /** The Host values answered; others get 421. */
  readonly allowedHosts: HostAllowList;
  /** camera-service's stream, relayed on `/camera/stream`. */
  readonly cameraUrl: string;
  /** camera-service's `CAMERA_TOKEN`, sent to it as a bearer token. */
  readonly cameraToken?: string;
  /** How long the relay waits for the camera's answer, ms; default 5000. */
  readonly cameraTimeoutMs?: number;
  /** Camera relays open at once, at most; default 8. */
  readonly maxCameraStreams?: number;
  /** Where problems are logged. */
  readonly logger: Logger;
  /** Microphone WebSockets open at once, at most; default 4. */
  readonly maxMicSockets?: number;
}

/** The request handler plus what it holds open. */
export interface HttpApp {
  /** Handles one request. */
  handle(request: Request): Promise<Response>;
  /** Closes the open microphone sockets and camera relays. */
  closeSockets(): void;
  /** Counters: requests refused and bad microphone frames. */
  readonly stats: { refused: number; badFrames: number };
}

/** Control request bodies, at most. */
export const MAX_BODY_BYTES = 16 * 1024;
/** The path the page shows the camera from. */
export const CAMERA_PATH = "/camera/stream";
/** One frame at most: 1 s of 16 kHz PCM16. */
export const MAX_AUDIO_FRAME_BYTES = 32_000;
const MAX_TEXT = 2_000;

/** Builds the request handler. */
export function createHandler(options: HttpAppOptions): HttpApp {
  const { bridge, hub, files, token, logger } = options;
  const sockets = new Set<WebSocket>();
  const cameras = new Set<AbortController>();
  const stats = { refused: 0, badFrames: 0 };
  const csp = contentSecurityPolicy();
  const config: PageConfig = {
    cameraUrl: CAMERA_PATH,
    tokenRequired: token !== undefined,
    movementCommands: TEST_MOVEMENT_COMMANDS,
  };

  const hello = (): HelloEvent => ({ type: "hello", config, ...bridge.snapshot() });

  const control: Record<string, (body: Record<string, unknown>) => Promise<Response>> = {
    "/api/say": async (body) => {
      const text = typeof body.text === "string" ? body.text.trim() : "";
      if (!text) return error(400, 'Send {"text": "..."} with something to say.');
      if (text.length > MAX_TEXT) return error(413, `Text is longer than ${MAX_TEXT} characters.`);
      return json(202, { id: await bridge.say(text) });
    },
    "/api/move": async (body) => {
      const parsed = TestMovementRequest.safeParse(body);
      if (!parsed.success) return error(400, `Invalid movement command: ${parsed.error.message}`);
      return json(202, { id: await bridge.move(parsed.data) });
    },
    "/api/stop": async (body) => {
      const reason = typeof body.reason === "string" && body.reason ? body.reason : "ui-web e-stop";
      return json(202, { id: await bridge.emergencyStop(reason.slice(0, 200)) });
    },
    "/api/clear": async (body) => {
      const reason = typeof body.reason === "string" && body.reason ? body.reason : "ui-web clear";
      return json(202, { id: await bridge.clearStop(reason.slice(0, 200)) });
    },
    "/api/character": async (body) => {
      const parsed = CharacterUpdate.safeParse(body);
      if (!parsed.success) return error(400, `Invalid character update: ${parsed.error.message}`);
      return json(202, { id: await bridge.updateCharacter(parsed.data) });
    },
    "/api/memory": async (body) => {
      const query = typeof body.query === "string" ? body.query.trim() : "";
      if (!query) return error(400, 'Send {"query": "...", "k": 5} to search memory.');
      const k = typeof body.k === "number" && Number.isInteger(body.k) ? body.k : 5;
      if (k < 1 || k > 50) return error(400, "k must be an integer from 1 to 50.");
      try {
        return json(200, await bridge.searchMemory(query.slice(0, MAX_TEXT), k));
      } catch (err) {
        if (err instanceof RequestTimeoutError) {
          return error(504, "memory-worker did not answer in time; is it running?");
        }
        throw err;
      }
    },
  };

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname;
    const host = request.headers.get("host");
    if (!options.allowedHosts.allows(host)) {
      stats.refused++;
      return misdirected(host, "UI_ALLOWED_HOSTS");
    }
    try {
      if (request.method === "GET" || request.method === "HEAD") {
        if (path === "/events" || path === "/api/state" || path === CAMERA_PATH) {
          const refused = refuseToken(request, url, true);
          if (refused) return refused;
          if (path === "/events") return hub.connect(hello());
          if (path === "/api/state") return json(200, hello());
          return await relayCamera();
        }
        if (path === "/healthz") {
          return json(200, { ok: true, mqtt: bridge.snapshot().connected });
        }
        if (path === "/ws/mic") return openMic(request, url);
        const file = files.respond(path, request.method, pageHeaders(csp));
        if (file) return file;
        if (Object.hasOwn(control, path)) {
          return error(405, `Use POST for ${path}.`, { allow: "POST" });
        }
        return error(404, `Not found: ${path}`);
      }
      const action = Object.hasOwn(control, path) ? control[path] : undefined;
      if (!action) return error(404, `Not found: ${request.method} ${path}`);
      if (request.method !== "POST") {
        return error(405, `Use POST for ${path}.`, { allow: "POST" });
      }
      const refused = refuse(request, url);
      if (refused) return refused;
      const body = await readJson(request);
      if (body instanceof Response) return body;
      return await action(body);
    } catch (err) {
      logger.error("ui-web request {method} {path} failed: {error}", {
        method: request.method,
        path,
        error: String(err),
      });
      return error(500, `The server failed: ${err instanceof Error ? err.message : err}`);
    }
  }

  /** Why a control request is refused, or `undefined` when it may proceed. */
  function refuse(request: Request, url: URL, isSocket = false): Response | undefined {
    const origin = request.headers.get("origin");
    if (
      origin !== null && origin !== url.origin && origin !== `${url.protocol}//${hostOf(request)}`
    ) {
      stats.refused++;
      return error(403, `Cross-origin request from ${origin} refused.`);
    }
    return refuseToken(request, url, isSocket);
  }

  /** A 401 when a token is configured and `request` lacks it; the query counts if `inUrl`. */
  function refuseToken(request: Request, url: URL, inUrl: boolean): Response | undefined {
    if (token !== undefined && !tokenMatches(presentedToken(request, url, inUrl), token)) {
      stats.refused++;
      return error(401, "This needs the dashboard token (UI_TOKEN): enter it in the page.");
    }
    return undefined;
  }

  async function readJson(request: Request): Promise<Record<string, unknown> | Response> {
    const type = request.headers.get("content-type") ?? "";
    if (!type.toLowerCase().startsWith("application/json")) {
      await request.body?.cancel().catch(() => {});
      return error(415, "Send the body as application/json.");
    }
    let bytes: Uint8Array;
    try {
      bytes = await readBodyLimited(request, MAX_BODY_BYTES);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        return error(413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`, {
          connection: "close",
        });
      }
      throw err;
    }
    if (bytes.length === 0) return {};
    try {
      const value = JSON.parse(new TextDecoder().decode(bytes));
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        return error(400, "The body must be a JSON object.");
      }
      return value as Record<string, unknown>;
    } catch {
      return error(400, "The body is not valid JSON.");
    }
  }

  function openMic(request: Request, url: URL): Response {
    if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
      return error(426, "This is a WebSocket endpoint.", { upgrade: "websocket" });
    }
    const refused = refuse(request, url, true);
    if (refused) return refused;
    if (sockets.size >= (options.maxMicSockets ?? 4)) {
      return error(503, "Too many microphones are connected.");
    }
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = "arraybuffer";
    sockets.add(socket);
    socket.onmessage = (event) => {
      const data = event.data;
      if (data instanceof ArrayBuffer && data.byteLength > MAX_AUDIO_FRAME_BYTES) {
        // Not a frame from the page (20 ms each): a client to stop, not a frame to skip.
        stats.badFrames++;
        socket.close(1009, `A frame is at most ${MAX_AUDIO_FRAME_BYTES} bytes.`);
        return;
      }
      if (!(data instanceof ArrayBuffer) || data.byteLength === 0 || data.byteLength % 2 !== 0) {
        stats.badFrames++;
        return;
      }
      bridge.publishAudio(new Uint8Array(data)).catch((err) => {
        logger.warn("Could not publish a microphone frame: {error}", { error: String(err) });
      });
    };
    socket.onclose = () => sockets.delete(socket);
    socket.onerror = () => sockets.delete(socket);
    return response;
  }

  /** Relays camera-service's MJPEG stream, adding its token; 502 when the camera fails. */
  async function relayCamera(): Promise<Response> {
    if (cameras.size >= (options.maxCameraStreams ?? 8)) {
      return error(503, "Too many camera views are open; close one.", { "retry-after": "5" });
    }
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), options.cameraTimeoutMs ?? 5_000);
    let upstream: Response;
    try {
      upstream = await fetch(options.cameraUrl, {
        headers: options.cameraToken ? { authorization: `Bearer ${options.cameraToken}` } : {},
        signal: abort.signal,
        redirect: "error",
      });
    } catch (err) {
      return error(
        502,
        `Cannot reach the camera at UI_CAMERA_URL=${options.cameraUrl}: ` +
          `${err instanceof Error ? err.message : err}. Is camera-service running?`,
      );
    } finally {
      clearTimeout(timer);
    }
    const type = upstream.headers.get("content-type") ?? "";
    if (!upstream.ok || !upstream.body || !/^(multipart|image)\//i.test(type)) {
      await upstream.body?.cancel().catch(() => {});
      const hint = upstream.status === 401 || upstream.status === 403
        ? ": give ui-web camera-service's token (CAMERA_TOKEN)"
        : upstream.status === 421
        ? ": add the camera's host name to CAMERA_ALLOWED_HOSTS"
        : "";
      return error(502, `The camera answered HTTP ${upstream.status} ${type}${hint}.`);
    }
    cameras.add(abort);
    const reader = upstream.body.getReader();
    const end = () => {
      cameras.delete(abort);
      abort.abort();
    };
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { value, done } = await reader.read();
          if (done) {
            end();
            controller.close();
          } else controller.enqueue(value);
        } catch {
          end(); // closed by closeSockets or the camera went away
          controller.close();
        }
      },
      cancel(reason) {
        end(); // the browser went away
        return reader.cancel(reason).catch(() => {});
      },
    }, { highWaterMark: 0 });
    return new Response(body, {
      headers: {
        "content-type": type,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      },
    });
  }

  return {
    handle,
    stats,
    closeSockets() {
      for (const camera of cameras) camera.abort();
      cameras.clear();
      for (const socket of sockets) {
        try {
          socket.close(1001, "server stopping");
        } catch {
          // already closing
        }
      }
      sockets.clear();
    },
  };
}

function presentedToken(request: Request, url: URL, inUrl: boolean): string | null {
  const header = request.headers.get("x-ui-token");
  if (header) return header;
  return bearerToken(request.headers) ?? (inUrl ? url.searchParams.get("token") : null);
}

function hostOf(request: Request): string {
  return request.headers.get("host") ?? "";
}

function contentSecurityPolicy(): string {
  return [
    "default-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "media-src 'self' blob:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; ");
}

function pageHeaders(csp: string): HeadersInit {
  return {
    "content-security-policy": csp,
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
  };
}

function json(status: number, value: unknown): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

function error(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: message }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}
