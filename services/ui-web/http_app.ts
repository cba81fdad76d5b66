/**
 * The HTTP side of ui-web: the page and its files, the live event stream (SSE), the control
 * API and the microphone WebSocket.
 *
 * | route | what |
 * |---|---|
 * | `GET /`, `GET /static/<file>` | the page (allow-listed files only) |
 * | `GET /events` | Server-Sent Events: a `hello` snapshot, then live events |
 * | `GET /api/state` | the snapshot as JSON |
 * | `GET /healthz` | `{ok, mqtt}` |
 * | `POST /api/say` `{text}` | stt/final from source ui-web (control) |
 * | `POST /api/move` `{command, speed?, params?}` | movement/test (control) |
 * | `POST /api/stop` `{reason?}` | movement/stop (control) |
 * | `POST /api/clear` `{reason?}` | movement/clear (control) |
 * | `POST /api/character` `{trait, value}` or `{action: "reset_traits"}` | character/update (control) |
 * | `POST /api/memory` `{query, k?}` | memory/query → memory/results (control) |
 * | `GET /ws/mic?token=` | WebSocket of binary PCM16LE 16 kHz frames → audio/pcm/ui-web (control) |
 *
 * Control requests need the token (header `X-UI-Token` or `Authorization: Bearer`, `token`
 * query parameter for the WebSocket) when one is configured, must be JSON, and are refused
 * when the browser says they come from another origin.
 *
 * @module
 */
import {
  CharacterUpdate,
  type Logger,
  RequestTimeoutError,
  TEST_MOVEMENT_COMMANDS,
  TestMovementRequest,
} from "../../core/mod.ts";
import type { DashboardBridge, DashboardSnapshot } from "./bridge.ts";
import type { EventHub } from "./event_hub.ts";
import type { StaticFiles } from "./static_files.ts";

/** What the page is told about the server (part of the `hello` event). */
export interface PageConfig {
  /** The camera MJPEG stream to embed. */
  readonly cameraUrl: string;
  /** Whether control actions need a token. */
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
  /** The token control actions need, if any. */
  readonly token: string | undefined;
  /** The camera stream URL. */
  readonly cameraUrl: string;
  /** Where problems are logged. */
  readonly logger: Logger;
  /** Microphone WebSockets open at once, at most; default 4. */
  readonly maxMicSockets?: number;
}

/** The request handler plus what it holds open. */
export interface HttpApp {
  /** Handles one request. */
  handle(request: Request): Promise<Response>;
  /** Closes the open microphone sockets. */
  closeSockets(): void;
  /** Counters: requests refused and bad microphone frames. */
  readonly stats: { refused: number; badFrames: number };
}

const MAX_BODY_BYTES = 16 * 1024;
/** One frame at most: 1 s of 16 kHz PCM16. */
export const MAX_AUDIO_FRAME_BYTES = 32_000;
const MAX_TEXT = 2_000;

/** Builds the request handler. */
export function createHandler(options: HttpAppOptions): HttpApp {
  const { bridge, hub, files, token, logger } = options;
  const sockets = new Set<WebSocket>();
  const stats = { refused: 0, badFrames: 0 };
  const csp = contentSecurityPolicy(options.cameraUrl);
  const config: PageConfig = {
    cameraUrl: options.cameraUrl,
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
    try {
      if (request.method === "GET" || request.method === "HEAD") {
        if (path === "/events") return hub.connect(hello());
        if (path === "/api/state") return json(200, hello());
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
    if (token !== undefined && !tokenMatches(presentedToken(request, url, isSocket), token)) {
      stats.refused++;
      return error(401, "This action needs the dashboard token (UI_TOKEN): enter it in the page.");
    }
    return undefined;
  }

  async function readJson(request: Request): Promise<Record<string, unknown> | Response> {
    const type = request.headers.get("content-type") ?? "";
    if (!type.toLowerCase().startsWith("application/json")) {
      return error(415, "Send the body as application/json.");
    }
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.length > MAX_BODY_BYTES) return error(413, "The request body is too large.");
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
      if (
        !(data instanceof ArrayBuffer) || data.byteLength === 0 ||
        data.byteLength % 2 !== 0 || data.byteLength > MAX_AUDIO_FRAME_BYTES
      ) {
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

  return {
    handle,
    stats,
    closeSockets() {
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

function presentedToken(request: Request, url: URL, isSocket: boolean): string | null {
  const header = request.headers.get("x-ui-token");
  if (header) return header;
  const auth = request.headers.get("authorization");
  if (auth?.toLowerCase().startsWith("bearer ")) return auth.slice(7).trim();
  return isSocket ? url.searchParams.get("token") : null;
}

/** Compares a presented token with the configured one in time independent of the content. */
export function tokenMatches(presented: string | null, expected: string): boolean {
  if (presented === null) return false;
  const a = new TextEncoder().encode(presented);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i];
  return diff === 0;
}

function hostOf(request: Request): string {
  return request.headers.get("host") ?? "";
}

function contentSecurityPolicy(cameraUrl: string): string {
  let camera = "";
  try {
    camera = new URL(cameraUrl).origin;
  } catch {
    // validated by the config
  }
  return [
    "default-src 'self'",
    `img-src 'self' data: ${camera}`.trim(),
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
