/**
 * `runService(name, service)`: the one way a service process starts and stops.
 *
 * It sets up logging, reads and validates the whole configuration from the environment
 * before it connects (the MQTT settings, with the service's defaults from the
 * {@linkcode serviceCatalog}, and the service's own settings through its `readConfig`), then
 * runs the service's optional `prepare` (loading the models and files its settings name), so a
 * bad setting exits 78 at once even when the broker is down. It then connects (health
 * `ok:false, event:"starting"`), runs `main` with the config and what `prepare` built,
 * publishes health `ready` once
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

/**
 * What a service's {@linkcode ServiceDefinition.prepare} receives: everything of a
 * {@linkcode ServiceContext} but the client, which is not connected yet.
 */
export interface PrepareContext {
  /** Service name, e.g. `stt-worker`. */
  readonly name: string;
  /** The service's logger (`tars.<name>`). */
  readonly logger: Logger;
  /** The process environment (read once). */
  readonly env: ServiceEnv;
  /** The MQTT settings read, with the catalog's defaults (the client is not connected yet). */
  readonly mqtt: Readonly<MqttClientConfig>;
  /** Aborted on SIGINT/SIGTERM: give up loading (the run then ends with exit 0). */
  readonly signal: AbortSignal;
}

/**
 * What a service's `main` receives: its {@linkcode ServiceDeps}, its config and what its
 * `prepare` built.
 */
export interface ServiceContext<C = undefined, P = undefined> extends ServiceDeps {
  /** Service name, e.g. `router`. */
  readonly name: string;
  /** Aborted on SIGINT/SIGTERM: stop work and return. */
  readonly signal: AbortSignal;
  /** The process environment (read once). */
  readonly env: ServiceEnv;
  /** What the service's {@linkcode ServiceDefinition.readConfig} returned. */
  readonly config: C;
  /**
   * What the service's {@linkcode ServiceDefinition.prepare} returned (`undefined` without a
   * `prepare`). Once `main` has returned, the service owns it and closes it on shutdown.
   */
  readonly prepared: P;
}

/** What a service's `main` may return: closed on shutdown, before the client disconnects. */
export interface RunningService {
  /** Stops the service's work (servers, timers, devices); the client is still connected. */
  close(): void | Promise<void>;
}

/** A service's setup: subscribes, starts its servers, returns what to close on shutdown. */
export type ServiceMain<C = undefined, P = undefined> = (
  ctx: ServiceContext<C, P>,
) => void | RunningService | Promise<void | RunningService>;

/**
 * A service with settings of its own: how to read them, what to load before connecting, and
 * its setup.
 *
 * The run goes `readConfig` → `prepare` → connect → `main`. What `prepare` returns belongs to
 * `runService` until `main` has returned: when connecting fails, the run is stopped before
 * `main`, or `main` throws, `runService` calls `release` with it (so `main` must not close it
 * on its own failure path). Once `main` has returned, the service owns it: the
 * {@linkcode RunningService} `main` returned closes it on shutdown.
 */
export interface ServiceDefinition<C, P = undefined> {
  /**
   * Reads and validates the service's settings from `env`, before the client connects;
   * throws a `ConfigError` naming every bad variable (exit 78).
   */
  readConfig(env: ServiceEnv): C;
  /**
   * Optional: loads what the settings name and needs no MQTT client (models, files), after
   * `readConfig` and before the client connects, so a setting that only loading can check
   * (a model path) exits 78 even when no broker is up: throw a `ConfigError` naming the
   * variable. Its result is `ctx.prepared` in `main`. Without it, `ctx.prepared` is
   * `undefined`.
   */
  prepare?(config: C, ctx: PrepareContext): P | Promise<P>;
  /**
   * Optional: closes what `prepare` built when `main` never took it over (connecting failed,
   * the run was stopped before `main`, or `main` threw). Its errors are logged, not thrown.
   */
  release?(prepared: P): void | Promise<void>;
  /**
   * The service's setup, run once connected, with `ctx.config` the settings read and
   * `ctx.prepared` what `prepare` built.
   */
  main: ServiceMain<C, P>;
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
 * Runs a service. `service` is its {@linkcode ServiceDefinition} (`readConfig`, optionally
 * `prepare` and `release`, and `main`), or just a `main` for a service without settings of its
 * own. Every setting is read, and what `prepare` loads is loaded, before the client connects:
 * a bad one ends the run with exit 78 and a message naming each bad variable, without a
 * connection attempt. `main` then sets the service up (subscribes, starts its
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
 *
 * A service whose settings name a model loads it in `prepare`, and closes it in `release` for
 * a run that fails before `main` took it over:
 *
 * ```ts ignore
 * await runService("memory-worker", {
 *   readConfig: readMemoryConfig,
 *   prepare: (config) => createEmbedder(config.embedder), // a bad EMBED_MODEL: exit 78
 *   release: (embedder) => embedder?.close(),
 *   main: (ctx) => startMemoryWorker(ctx, { config: ctx.config, embedder: ctx.prepared }),
 * });
 * ```
 */
export function runService<C, P = undefined>(
  name: ServiceName | (string & Record<never, never>),
  service: ServiceDefinition<C, P> | ServiceMain,
  options: RunServiceOptions = {},
): Promise<number> {
  if (typeof service !== "function") return run(name, service, options);
  return run<undefined, undefined>(name, { readConfig: () => undefined, main: service }, options);
}

async function run<C, P>(
  name: string,
  service: ServiceDefinition<C, P>,
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
  // What prepare built, while runService owns it (until main has returned).
  let unclaimed: { readonly value: P } | null = null;
  let code = 0;
  try {
    const configured = configure(name, service, options, env);
    client = configured.client;
    logger.info("Starting {name} as {clientId}", {
      name,
      clientId: client.config.clientId,
      config: MqttClientConfig.redacted(client.config),
    });
    let prepared = undefined as P;
    if (service.prepare) {
      const ctx = { name, logger, env, mqtt: client.config, signal: stop.signal };
      prepared = await service.prepare(configured.config, ctx);
      unclaimed = { value: prepared };
    }
    stop.signal.throwIfAborted();
    await client.connect({ signal: stop.signal });
    const running = await service.main({
      name,
      client,
      logger,
      signal: stop.signal,
      env,
      config: configured.config,
      prepared,
    });
    unclaimed = null; // main took it over: its RunningService closes it
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
    if (unclaimed && service.release) {
      try {
        await service.release(unclaimed.value);
      } catch (error) {
        logger.warn("Releasing what {name} prepared failed: {error}", { name, error });
      }
    }
    await client?.shutdown();
  }
  if (options.exit ?? true) Deno.exit(code);
  return code;
}

/**
 * Reads the MQTT settings and the service's own, both before any connection; when either is
 * bad, one `ConfigError` lists the bad variables of both.
 */
function configure<C, P>(
  name: string,
  service: ServiceDefinition<C, P>,
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
