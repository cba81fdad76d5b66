/**
 * ui-web configuration from the environment (py-tars names where they exist).
 *
 * @module
 */
import {
  checkHttpExposure,
  ConfigError,
  type ConfigIssue,
  envVar,
  type HostName,
  isLoopbackHost,
  readEnv,
} from "../../core/mod.ts";

export { isLoopbackHost };

/** The variables, their defaults and ranges. */
export const UI_WEB_ENV = {
  UI_HOST: envVar.string("127.0.0.1"),
  UI_PORT: envVar.int(5010, { min: 0, max: 65535 }),
  UI_TOKEN: envVar.optionalString(),
  UI_ALLOWED_HOSTS: envVar.optionalString(),
  UI_CAMERA_URL: envVar.string("http://127.0.0.1:8080/stream"),
  CAMERA_TOKEN: envVar.optionalString(),
  UI_STALE_AFTER_SEC: envVar.float(20, { min: 1, max: 3600 }),
  UI_MEMORY_TIMEOUT_MS: envVar.int(5_000, { min: 100, max: 60_000 }),
  UI_MAX_CLIENTS: envVar.int(32, { min: 1, max: 1000 }),
  UI_HISTORY_SIZE: envVar.int(200, { min: 0, max: 10_000 }),
};

/** py-tars' older names, read when the `UI_*` name is unset. */
export const UI_WEB_ENV_ALIASES = { UI_PORT: ["PORT"] } as const;

/** The parsed configuration. */
export interface UiWebConfig {
  /** Interface the HTTP server binds (`UI_HOST`). */
  readonly host: string;
  /** TCP port (`UI_PORT`, py-tars `PORT`); 0 picks a free one. */
  readonly port: number;
  /** Token the views and control actions need (`UI_TOKEN`); required when `host` is not loopback. */
  readonly token: string | undefined;
  /** Host names answered besides the loopback names and `host` (`UI_ALLOWED_HOSTS`). */
  readonly allowedHosts: readonly HostName[];
  /** The camera-service MJPEG stream ui-web relays to the page (`UI_CAMERA_URL`). */
  readonly cameraUrl: string;
  /** camera-service's token (`CAMERA_TOKEN`), sent with the relay's requests. */
  readonly cameraToken: string | undefined;
  /** A client that sent heartbeats and then none for this long is shown stale, ms. */
  readonly staleAfterMs: number;
  /** How long a memory search waits for memory/results, ms. */
  readonly memoryTimeoutMs: number;
  /** Browsers connected to the live event stream at once, at most. */
  readonly maxClients: number;
  /** Conversation events replayed to a browser that connects, at most. */
  readonly historySize: number;
}

/**
 * Reads the configuration; throws one `ConfigError` naming every bad variable. A host that is
 * not loopback without `UI_TOKEN` is an error: anyone on the network could drive the robot.
 */
export function readUiWebConfig(
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): UiWebConfig {
  const { values, issues } = readEnv(UI_WEB_ENV, env, { aliases: UI_WEB_ENV_ALIASES });
  const problems: ConfigIssue[] = [...issues];
  const exposure = checkHttpExposure({
    host: values.UI_HOST,
    token: values.UI_TOKEN,
    tokenVariable: "UI_TOKEN",
    allowedHosts: values.UI_ALLOWED_HOSTS,
    allowedHostsVariable: "UI_ALLOWED_HOSTS",
    missingToken: `a secret token, because UI_HOST=${values.UI_HOST} is not loopback ` +
      "(or set UI_HOST=127.0.0.1)",
  });
  problems.push(...exposure.issues);
  try {
    const url = new URL(values.UI_CAMERA_URL);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("scheme");
  } catch {
    problems.push({
      variable: "UI_CAMERA_URL",
      value: values.UI_CAMERA_URL,
      expected: "an http:// or https:// URL, e.g. http://127.0.0.1:8080/stream",
    });
  }
  if (problems.length > 0) throw new ConfigError(problems, "ui-web configuration");
  return {
    host: values.UI_HOST,
    port: values.UI_PORT,
    token: values.UI_TOKEN?.trim(),
    allowedHosts: exposure.allowedHosts,
    cameraUrl: values.UI_CAMERA_URL,
    cameraToken: values.CAMERA_TOKEN?.trim(),
    staleAfterMs: Math.round(values.UI_STALE_AFTER_SEC * 1000),
    memoryTimeoutMs: values.UI_MEMORY_TIMEOUT_MS,
    maxClients: values.UI_MAX_CLIENTS,
    historySize: values.UI_HISTORY_SIZE,
  };
}
