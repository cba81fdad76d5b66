/**
 * `runService(name, service)`: the one way a service process starts and stops.
 *
 * It sets up logging, reads and validates the whole configuration from the environment
 * before it connects (the MQTT settings, with the service's defaults from the
 * {@linkcode serviceCatalog}, and the service's own settings through its `readConfig`), so a
 * bad setting exits 78 at once even when the broker is down. It then connects (health
 * `ok:false, event:"starting"`), runs `main` with the config, publishes health `ready` once
 * `main` has returned (its handlers are subscribed, its servers listen), and on SIGINT/SIGTERM
 * aborts `signal`, shuts the client down (health `shutdown`) and exits. Exit codes: 0 after a
 * signal (or `options.signal`), 78 for a configuration error (EX_CONFIG), 1 for a crash.
 *
 * @module
 */
import { ConfigError } from "../config/env.ts";
import { MqttClientConfig } from "../config/mqtt_config.ts";
import { getLogger, type Logger, type LoggingOptions, setupLogging } from "../log/logging.ts";
import { MqttClient } from "../mqtt/client.ts";
import { isServiceName, mqttDefaultsOf, type ServiceName } from "./catalog.ts";

/** Exit code for an invalid configuration (BSD `EX_CONFIG`). */
export const EXIT_CONFIG = 78;

/** The environment a service reads its settings from. */
export type ServiceEnv = Readonly<Record<string, string | undefined>>;

/**
 * What every service's start function takes first: `startX(deps: ServiceDeps, options)`,
 * with its config and any ready-made backends in `options`.
 */
export interface ServiceDeps {
  /** The connected shared client. */
  readonly client: MqttClient;
  /** The service's logger (`tars.<name>`). */
  readonly logger: Logger;
}

/** What a service's `main` receives: its {@linkcode ServiceDeps} and its config. */
export interface ServiceContext<C = undefined> extends ServiceDeps {
  /** Service name, e.g. `router`. */
  readonly name: string;
  /** Aborted on SIGINT/SIGTERM: stop work and return. */
  readonly signal: AbortSignal;
  /** The process environment (read once). */
  readonly env: ServiceEnv;
  /** What the service's {@linkcode ServiceDefinition.readConfig} returned. */
  readonly config: C;
}

/** What a service's `main` may return: closed on shutdown, before the client disconnects. */
export interface RunningService {
  /** Stops the service's work (servers, timers, devices); the client is still connected. */
  close(): void | Promise<void>;
}

/** A service's setup: subscribes, starts its servers, returns what to close on shutdown. */
export type ServiceMain<C = undefined> = (
  ctx: ServiceContext<C>,
) => void | RunningService | Promise<void | RunningService>;

/** A service with settings of its own: how to read them, and its setup. */
export interface ServiceDefinition<C> {
  /**
   * Reads and validates the service's settings from `env`, before the client connects;
   * throws a `ConfigError` naming every bad variable (exit 78).
   */
  readConfig(env: ServiceEnv): C;
  /** The service's setup, run once connected, with `ctx.config` the settings read. */
  main: ServiceMain<C>;
}

/** Options of {@linkcode runService}. */
export interface RunServiceOptions {
  /**
   * MQTT config defaults for unset env vars, over the service's own from the
   * {@linkcode serviceCatalog} (a name outside the catalog gets client id = name, health on).
   */
  mqtt?: Partial<MqttClientConfig>;
  /** Environment; default the process environment. */
  env?: ServiceEnv;
  /** Exit the process at the end (default true; tests pass false). */
  exit?: boolean;
  /** Stops the service like a signal does (tests). */
  signal?: AbortSignal;
  /** Logging options; `LOG_LEVEL` is read from `env` unless `level` is given. */
  logging?: LoggingOptions;
}

/**
 * Runs a service. `service` is its {@linkcode ServiceDefinition} (`readConfig` and `main`), or
 * just a `main` for a service without settings of its own. Every setting is read before the
 * client connects: a bad one ends the run with exit 78 and a message naming each bad variable,
 * without a connection attempt. `main` then sets the service up (subscribes, starts its
 * servers) and returns, optionally with a {@linkcode RunningService} to close on shutdown; the
 * service runs until a signal, and health says `ready` from the moment `main` returned. A
 * `main` that runs its own loop until `ctx.signal` aborts is never announced ready. Resolves
 * with the exit code when `exit` is false.
 *
 * `name` is a {@linkcode ServiceName} of the catalog, whose row supplies the MQTT defaults
 * (client id, envelope source, heartbeat, de-duplication); tests and benches may pass any other
 * name (client id = name).
 *
 * @example
 * ```ts ignore
 * import { runService } from "../mod.ts";
 * import { readRouterConfig } from "../../services/router/config.ts";
 * import { startRouterService } from "../../services/router/service.ts";
 *
 * await runService("router", {
 *   readConfig: readRouterConfig,
 *   main: (ctx) => startRouterService(ctx, { config: ctx.config }),
 * });
 * ```
 */
export function runService<C>(
  name: ServiceName | (string & Record<never, never>),
  service: ServiceDefinition<C> | ServiceMain,
  options: RunServiceOptions = {},
): Promise<number> {
  if (typeof service !== "function") return run(name, service, options);
  return run<undefined>(name, { readConfig: () => undefined, main: service }, options);
}

async function run<C>(
  name: string,
  service: ServiceDefinition<C>,
  options: RunServiceOptions,
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
    const configured = configure(name, service, options, env);
    client = configured.client;
    logger.info("Starting {name} as {clientId}", {
      name,
      clientId: client.config.clientId,
      config: MqttClientConfig.redacted(client.config),
    });
    await client.connect({ signal: stop.signal });
    const running = await service.main({
      name,
      client,
      logger,
      signal: stop.signal,
      env,
      config: configured.config,
    });
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

/**
 * Reads the MQTT settings and the service's own, both before any connection; when either is
 * bad, one `ConfigError` lists the bad variables of both.
 */
function configure<C>(
  name: string,
  service: ServiceDefinition<C>,
  options: RunServiceOptions,
  env: ServiceEnv,
): { client: MqttClient; config: C } {
  const errors: ConfigError[] = [];
  let client: MqttClient | null = null;
  let config: C | undefined;
  try {
    client = MqttClient.fromEnv({
      defaults: {
        clientId: name,
        enableHealth: true,
        ...(isServiceName(name) ? mqttDefaultsOf(name) : {}),
        ...options.mqtt,
      },
      logger: getLogger(name, "mqtt"),
      initialHealth: { ok: false, event: "starting" },
    }, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    errors.push(error);
  }
  try {
    config = service.readConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    errors.push(error);
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new ConfigError(errors.flatMap((e) => e.issues), `${name} configuration`);
  }
  return { client: client!, config: config as C };
}
