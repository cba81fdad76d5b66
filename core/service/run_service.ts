/**
 * `runService(name, main)`: the one way a service process starts and stops.
 *
 * It sets up logging, reads the MQTT config from the environment (with the service's
 * default client id, health on), connects (health `ok:false, event:"starting"`), runs `main`,
 * publishes health `ready` once `main` has returned (its handlers are subscribed, its servers
 * listen), and on SIGINT/SIGTERM aborts
 * `signal`, shuts the client down (health `shutdown`) and exits. Exit codes: 0 after a
 * signal (or `options.signal`), 78 for a configuration error (EX_CONFIG), 1 for a crash.
 *
 * @module
 */
import { ConfigError } from "../config/env.ts";
import { MqttClientConfig } from "../config/mqtt_config.ts";
import { getLogger, type Logger, type LoggingOptions, setupLogging } from "../log/logging.ts";
import { MqttClient } from "../mqtt/client.ts";

/** Exit code for an invalid configuration (BSD `EX_CONFIG`). */
export const EXIT_CONFIG = 78;

/** What a service's `main` receives. */
export interface ServiceContext {
  /** Service name, e.g. `router`. */
  readonly name: string;
  /** The connected shared client. */
  readonly client: MqttClient;
  /** The service's logger (`tars.<name>`). */
  readonly logger: Logger;
  /** Aborted on SIGINT/SIGTERM: stop work and return. */
  readonly signal: AbortSignal;
  /** The process environment (read once). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** What a service's `main` may return: closed on shutdown, before the client disconnects. */
export interface RunningService {
  /** Stops the service's work (servers, timers, devices); the client is still connected. */
  close(): void | Promise<void>;
}

/** A service's setup: subscribes, starts its servers, returns what to close on shutdown. */
export type ServiceMain = (
  ctx: ServiceContext,
) => void | RunningService | Promise<void | RunningService>;

/** Options of {@linkcode runService}. */
export interface RunServiceOptions {
  /** MQTT config defaults for unset env vars, e.g. `{ clientId: "tars-router" }`. */
  mqtt?: Partial<MqttClientConfig>;
  /** Environment; default the process environment. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Exit the process at the end (default true; tests pass false). */
  exit?: boolean;
  /** Stops the service like a signal does (tests). */
  signal?: AbortSignal;
  /** Logging options; `LOG_LEVEL` is read from `env` unless `level` is given. */
  logging?: LoggingOptions;
}

/**
 * Runs a service. `main` sets the service up (subscribes, starts its servers) and returns,
 * optionally with a {@linkcode RunningService} to close on shutdown; the service then runs
 * until a signal, and health says `ready` from the moment `main` returned. A `main` that runs
 * its own loop until `ctx.signal` aborts is never announced ready. Resolves with the exit code
 * when `exit` is false.
 *
 * @example
 * ```ts ignore
 * import { runService, topics } from "../mod.ts";
 * await runService("router", async ({ client }) => {
 *   await client.subscribe(topics.sttFinal, (final) => console.log(final.text));
 * }, { mqtt: { clientId: "tars-router" } });
 * ```
 */
export async function runService(
  name: string,
  main: ServiceMain,
  options: RunServiceOptions = {},
): Promise<number> {
  const env = options.env ?? Deno.env.toObject();
  setupLogging({ env, ...options.logging });
  const logger = getLogger(name);
  const stop = new AbortController();
  const onSignal = () => stop.abort(new Error("signal"));
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const sig of signals) Deno.addSignalListener(sig, onSignal);
  if (options.signal?.aborted) onSignal();
  else options.signal?.addEventListener("abort", onSignal, { once: true });
  let client: MqttClient | null = null;
  let code = 0;
  try {
    client = MqttClient.fromEnv({
      defaults: { clientId: name, enableHealth: true, ...options.mqtt },
      logger: getLogger(name, "mqtt"),
      initialHealth: { ok: false, event: "starting" },
    }, env);
    logger.info("Starting {name} as {clientId}", {
      name,
      clientId: client.config.clientId,
      config: MqttClientConfig.redacted(client.config),
    });
    const connected = client.connect({ signal: stop.signal });
    await connected;
    const running = await main({ name, client, logger, signal: stop.signal, env });
    if (!stop.signal.aborted) await client.announceReady();
    if (!stop.signal.aborted) {
      await new Promise<void>((resolve) =>
        stop.signal.addEventListener("abort", () => resolve(), { once: true })
      );
    }
    logger.info("Stopping {name}", { name });
    await running?.close();
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.fatal("{message}", { message: error.message });
      console.error(error.message);
      code = EXIT_CONFIG;
    } else if (stop.signal.aborted) {
      logger.info("Stopped {name} before it was ready", { name });
    } else {
      logger.fatal("{name} crashed: {error}", { name, error });
      code = 1;
    }
  } finally {
    for (const sig of signals) Deno.removeSignalListener(sig, onSignal);
    options.signal?.removeEventListener("abort", onSignal);
    await client?.shutdown();
  }
  if (options.exit ?? true) Deno.exit(code);
  return code;
}
