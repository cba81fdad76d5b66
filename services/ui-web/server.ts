/**
 * Starts ui-web on a connected client: the MQTT bridge, the event hub and the HTTP server.
 *
 * @module
 */
import { HostAllowList, type ServiceDeps } from "../../core/mod.ts";
import { DashboardBridge } from "./bridge.ts";
import type { UiWebConfig } from "./config.ts";
import { EventHub } from "./event_hub.ts";
import { createHandler, type HttpApp } from "./http_app.ts";
import { DEFAULT_STATIC_DIR, StaticFiles } from "./static_files.ts";

/** Options of {@linkcode startUiWeb}. */
export interface UiWebOptions {
  /** Its configuration (`readUiWebConfig`). */
  readonly config: UiWebConfig;
  /** The page's folder; default `static/` beside this module. */
  readonly staticDir?: URL | string;
  /** Clock, epoch ms (tests). */
  readonly now?: () => number;
}

/** A running ui-web. */
export interface UiWebServer {
  /** `http://<host>:<port>/`. */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** The MQTT bridge (its state and control actions). */
  readonly bridge: DashboardBridge;
  /** The browser hub. */
  readonly hub: EventHub;
  /** The HTTP handler (its counters). */
  readonly app: HttpApp;
  /** Closes every browser connection, the HTTP server and the subscriptions. */
  close(): Promise<void>;
}

/** Subscribes, starts the HTTP server and resolves once it listens. */
export async function startUiWeb(
  deps: ServiceDeps,
  options: UiWebOptions,
): Promise<UiWebServer> {
  const { client, logger } = deps;
  const { config } = options;
  const files = await StaticFiles.load(options.staticDir ?? DEFAULT_STATIC_DIR);
  const hub = new EventHub({ maxClients: config.maxClients });
  const bridge = new DashboardBridge({
    client,
    logger,
    emit: (event) => hub.broadcast(event),
    staleAfterMs: config.staleAfterMs,
    historySize: config.historySize,
    memoryTimeoutMs: config.memoryTimeoutMs,
    now: options.now,
  });
  await bridge.start();
  const app = createHandler({
    bridge,
    hub,
    files,
    token: config.token,
    allowedHosts: new HostAllowList({ bindHost: config.host, extra: config.allowedHosts }),
    cameraUrl: config.cameraUrl,
    cameraToken: config.cameraToken,
    logger,
  });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    const listening = Promise.withResolvers<void>();
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      onListen: () => listening.resolve(),
      onError: (err) => {
        logger.error("ui-web HTTP error: {error}", { error: String(err) });
        return new Response("Internal error", { status: 500 });
      },
    }, app.handle);
    await listening.promise;
  } catch (err) {
    await bridge.close();
    throw err;
  }
  const port = server.addr.port;
  const shownHost = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${shownHost}:${port}/`;
  logger.info("ui-web dashboard on {url}", { url });
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    bridge,
    hub,
    app,
    close() {
      closing ??= (async () => {
        hub.close();
        app.closeSockets();
        await server.shutdown();
        await bridge.close();
      })();
      return closing;
    },
  };
}
