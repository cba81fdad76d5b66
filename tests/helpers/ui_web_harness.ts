/**
 * Test harness for ui-web: a real broker, ui-web started in-process on a free port with its
 * own MQTT client, a "world" client that plays the other services, and an SSE reader.
 *
 * @module
 */
import { getLogger, MqttClient } from "../../core/mod.ts";
import { readUiWebConfig, type UiWebConfig } from "../../services/ui-web/config.ts";
import { startUiWeb, type UiWebServer } from "../../services/ui-web/server.ts";
import { startBroker, type TestBroker } from "./broker.ts";
import { testClient, waitFor } from "./wait.ts";

/** A running ui-web with its broker and a client for the rest of the world. */
export interface UiWebHarness extends AsyncDisposable {
  /** The broker. */
  readonly broker: TestBroker;
  /** ui-web's own MQTT client (client id `ui-web`, health on). */
  readonly uiClient: MqttClient;
  /** A client that publishes what the other services would. */
  readonly world: MqttClient;
  /** The running service. */
  readonly server: UiWebServer;
  /** `http://127.0.0.1:<port>` without the trailing slash. */
  readonly base: string;
}

/** Options of {@linkcode startUiWebHarness}. */
export interface UiWebHarnessOptions {
  /** Extra env for `readUiWebConfig` (`UI_PORT` defaults to 0: a free port). */
  readonly env?: Record<string, string>;
  /** Runs with the broker up before ui-web starts (e.g. to publish retained health). */
  readonly before?: (world: MqttClient, broker: TestBroker) => Promise<void>;
}

/** Starts broker, world client and ui-web; dispose to stop everything. */
export async function startUiWebHarness(opts: UiWebHarnessOptions = {}): Promise<UiWebHarness> {
  const broker = await startBroker();
  const world = testClient(broker.url);
  let uiClient: MqttClient | undefined;
  try {
    await world.connect({ timeoutMs: 10_000 });
    await opts.before?.(world, broker);
    const config: UiWebConfig = readUiWebConfig({ UI_PORT: "0", ...opts.env });
    uiClient = new MqttClient({
      url: broker.url,
      clientId: "ui-web",
      enableHealth: true,
      shutdownGraceMs: 500,
    });
    await uiClient.connect({ timeoutMs: 10_000 });
    const server = await startUiWeb({ client: uiClient, logger: getLogger("ui-web") }, { config });
    const ui = uiClient;
    return {
      broker,
      uiClient: ui,
      world,
      server,
      base: `http://127.0.0.1:${server.port}`,
      async [Symbol.asyncDispose]() {
        await server.close();
        await ui.shutdown();
        await world.shutdown();
        await broker[Symbol.asyncDispose]();
      },
    };
  } catch (err) {
    await uiClient?.shutdown();
    await world.shutdown();
    await broker[Symbol.asyncDispose]();
    throw err;
  }
}

/** A live event as the browser receives it. */
export type UiEvent = { type: string } & Record<string, unknown>;

/** Reads `/events` like a browser's EventSource; dispose to disconnect. */
export interface SseReader extends AsyncDisposable {
  /** Every event so far, in order (the first is `hello`). */
  readonly events: UiEvent[];
  /** Waits until an event satisfies `match` and returns it. */
  next(match: (event: UiEvent) => boolean, message: string, timeoutMs?: number): Promise<UiEvent>;
}

/** Connects to `<base>/events<query>` and collects the events. */
export async function readEvents(base: string, query = ""): Promise<SseReader> {
  const abort = new AbortController();
  const response = await fetch(`${base}/events${query}`, { signal: abort.signal });
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new Error(`GET /events answered ${response.status}`);
  }
  const events: UiEvent[] = [];
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const pump = (async () => {
    let buffer = "";
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          for (const line of block.split("\n")) {
            if (line.startsWith("data: ")) events.push(JSON.parse(line.slice(6)));
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  let seen = 0;
  return {
    events,
    async next(match, message, timeoutMs = 10_000) {
      let found: UiEvent | undefined;
      await waitFor(
        () => {
          for (; seen < events.length; seen++) {
            if (match(events[seen])) {
              found = events[seen++];
              return true;
            }
          }
          return false;
        },
        message,
        timeoutMs,
      );
      return found!;
    },
    async [Symbol.asyncDispose]() {
      abort.abort();
      await reader.cancel().catch(() => {});
      await pump;
    },
  };
}

/** POSTs JSON to ui-web and returns status and parsed body. */
export async function postJson(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}
