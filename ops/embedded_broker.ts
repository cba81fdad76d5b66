/**
 * An in-process MQTT broker (npm:aedes) for `deno task dev` and for tests that run without
 * Mosquitto. It speaks MQTT 3.1.1 only (a v5 CONNECT is refused) and keeps everything in
 * memory: retained messages and sessions are lost when it closes.
 *
 * Needs `--allow-net` and `--allow-env` (aedes' dependencies read `process.env`).
 *
 * ```ts
 * await using broker = await startEmbeddedBroker({ port: 0 });
 * console.log(broker.url); // mqtt://127.0.0.1:<port>
 * ```
 *
 * @module
 */
import { Aedes } from "aedes";
import net from "node:net";

/** Options of {@linkcode startEmbeddedBroker}. */
export interface EmbeddedBrokerOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port. Default 1883; 0 picks a free port (read it back from `port`). */
  port?: number;
  /** Receives one line per broker event (client connected/disconnected, errors). */
  log?: (line: string) => void;
}

/** A running embedded broker. */
export interface EmbeddedBroker {
  /** `mqtt://<host>:<port>`, ready to hand to clients as `MQTT_URL`. */
  readonly url: string;
  /** The port actually listened on (the real one when 0 was asked for). */
  readonly port: number;
  /** Graceful stop: disconnects every client, stops listening. Idempotent. */
  close(): Promise<void>;
  /**
   * Abrupt stop, like a crashed broker: destroys every client socket at once (no clean
   * disconnect reaches the clients), then closes. Idempotent.
   */
  abort(): Promise<void>;
  /** Same as {@linkcode EmbeddedBroker.close}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Thrown by {@linkcode startEmbeddedBroker} when the port is taken by another process. */
export class BrokerPortInUseError extends Error {
  /** The port that was asked for. */
  readonly port: number;
  /** The interface that was asked for. */
  readonly host: string;
  /** Builds the error for `host:port`. */
  constructor(host: string, port: number, options?: ErrorOptions) {
    super(
      `port ${port} on ${host} is in use: set MQTT_URL to use that broker, ` +
        `or TARS_DEV_BROKER_PORT to pick another port`,
      options,
    );
    this.name = "BrokerPortInUseError";
    this.host = host;
    this.port = port;
  }
}

/**
 * Starts an aedes broker listening on `host:port` (default 127.0.0.1:1883).
 *
 * @throws {BrokerPortInUseError} when the port is already in use.
 */
export async function startEmbeddedBroker(
  opts: EmbeddedBrokerOptions = {},
): Promise<EmbeddedBroker> {
  const host = opts.host ?? "127.0.0.1";
  const wanted = opts.port ?? 1883;
  const log = opts.log ?? (() => {});
  const aedes = await Aedes.createBroker();
  aedes.on("client", (c) => log(`client connected: ${c.id}`));
  aedes.on("clientDisconnect", (c) => log(`client disconnected: ${c.id}`));
  aedes.on("clientError", (c, e) => log(`client error: ${c.id}: ${e.message}`));
  aedes.on("connectionError", (c, e) => log(`connection error: ${c.id}: ${e.message}`));

  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    aedes.handle(socket);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        server.off("listening", onListening);
        reject(
          err.code === "EADDRINUSE" ? new BrokerPortInUseError(host, wanted, { cause: err }) : err,
        );
      };
      const onListening = () => {
        server.off("error", onError);
        resolve();
      };
      server.once("error", onError);
      server.once("listening", onListening);
      server.listen(wanted, host);
    });
  } catch (err) {
    await closeAedes(aedes);
    throw err;
  }
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : wanted;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  log(`listening on ${host}:${port}`);

  let closing: Promise<void> | undefined;
  const shutdown = (abrupt: boolean): Promise<void> => {
    closing ??= (async () => {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (abrupt) { for (const s of sockets) s.destroy(); }
      await closeAedes(aedes);
      // Connections that never sent CONNECT are not aedes clients: drop them too.
      for (const s of sockets) s.destroy();
      await serverClosed;
      log(abrupt ? "aborted" : "closed");
    })();
    return closing;
  };
  return {
    url: `mqtt://${urlHost}:${port}`,
    port,
    close: () => shutdown(false),
    abort: () => shutdown(true),
    [Symbol.asyncDispose]: () => shutdown(false),
  };
}

function closeAedes(aedes: Aedes): Promise<void> {
  return new Promise((resolve) => aedes.close(() => resolve()));
}
