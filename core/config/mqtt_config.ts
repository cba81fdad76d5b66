/**
 * Configuration of {@linkcode MqttClient}: py-tars' `MQTTClientConfig`, read from the same
 * environment variables with the same defaults, validated with zod.
 *
 * @module
 */
import { z } from "zod";
import { registerSecret } from "../log/redact.ts";
import { ConfigError, type ConfigIssue, envVar, readEnv } from "./env.ts";

/** URL schemes the client can connect with. */
export const MQTT_URL_SCHEMES = ["mqtt", "mqtts", "ws", "wss"] as const;

/** Parsed connection target of an MQTT URL. */
export interface MqttConnectionParams {
  /** `mqtt`, `mqtts`, `ws` or `wss`. */
  readonly scheme: (typeof MQTT_URL_SCHEMES)[number];
  /** Host name; `localhost` when the URL has none (py-tars). */
  readonly hostname: string;
  /** Port; 1883/8883/80/443 by scheme when the URL has none. */
  readonly port: number;
  /** Path for WebSocket URLs (`/mqtt` when empty); ignored for TCP. */
  readonly path: string;
  /** User name from the URL, if any. */
  readonly username?: string;
  /** Password from the URL, if any. Never logged: use {@linkcode redactUrl}. */
  readonly password?: string;
}

const DEFAULT_PORTS: Record<MqttConnectionParams["scheme"], number> = {
  mqtt: 1883,
  mqtts: 8883,
  ws: 80,
  wss: 443,
};

/** Replaces the password in a URL's `user:password@` part with `***`; the rest is kept as is. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, "$1:***@");
}

/**
 * `mqtt://:1883` (and `mqtt://user:pass@:1883`) with `localhost` put in the empty host, as
 * py-tars read such URLs; WHATWG URLs refuse a port without a host.
 */
function withDefaultHost(url: string): string {
  const authority = url.indexOf("://") + 3;
  if (authority < 3) return url;
  const end = url.slice(authority).search(/[/?#]/);
  const hostAndPort = url.slice(authority, end < 0 ? undefined : authority + end);
  const at = hostAndPort.lastIndexOf("@") + 1;
  if (hostAndPort[at] !== ":") return url;
  return `${url.slice(0, authority + at)}localhost${url.slice(authority + at)}`;
}

/**
 * Parses an MQTT URL (`mqtt://`, `mqtts://`, `ws://`, `wss://`, credentials allowed:
 * `mqtt://user:pass@host:1883`; no host means `localhost`, so `mqtt://:1883` is
 * `localhost:1883` as in py-tars). Throws an error that names the URL (password redacted)
 * and what is allowed.
 */
export function parseMqttUrl(url: string): MqttConnectionParams {
  let parsed: URL;
  try {
    parsed = new URL(withDefaultHost(url));
  } catch {
    throw new Error(
      `Invalid MQTT URL ${JSON.stringify(redactUrl(url))}: expected e.g. mqtt://127.0.0.1:1883`,
    );
  }
  const scheme = parsed.protocol.replace(/:$/, "");
  if (!(MQTT_URL_SCHEMES as readonly string[]).includes(scheme)) {
    throw new Error(
      `Invalid MQTT URL scheme "${scheme}" in ${JSON.stringify(redactUrl(url))}: ` +
        `expected one of ${MQTT_URL_SCHEMES.map((s) => s + "://").join(", ")}`,
    );
  }
  const typed = scheme as MqttConnectionParams["scheme"];
  if (parsed.password) {
    // The broker password: hidden from every log record of this process from now on.
    registerSecret(parsed.password);
    registerSecret(decodeURIComponent(parsed.password));
  }
  return {
    scheme: typed,
    hostname: parsed.hostname.replace(/^\[|\]$/g, "") || "localhost",
    port: parsed.port ? Number(parsed.port) : DEFAULT_PORTS[typed],
    path: parsed.pathname && parsed.pathname !== "/" ? parsed.pathname : "/mqtt",
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
}

/**
 * Settings of an {@linkcode MqttClient}; every field has the py-tars default, except `url`
 * (py-tars required it; `mqtt://127.0.0.1:1883` here, without py-tars' services' password).
 */
export interface MqttClientConfig {
  /** Broker URL. Env `MQTT_URL`, default `mqtt://127.0.0.1:1883`. */
  readonly url: string;
  /** MQTT client id; also names the health topic. Env `MQTT_CLIENT_ID`. */
  readonly clientId: string;
  /** Envelope `source`; defaults to the client id. Env `MQTT_SOURCE_NAME`. */
  readonly sourceName: string;
  /** Keepalive in seconds (1..3600). Env `MQTT_KEEPALIVE`, default 60. */
  readonly keepalive: number;
  /** Retained health on `system/health/<client_id>` + last will. Env `MQTT_ENABLE_HEALTH`. */
  readonly enableHealth: boolean;
  /** Heartbeat on `system/keepalive/<client_id>` + watchdog. Env `MQTT_ENABLE_HEARTBEAT`. */
  readonly enableHeartbeat: boolean;
  /** Heartbeat interval in seconds (>= 1). Env `MQTT_HEARTBEAT_INTERVAL`, default 5. */
  readonly heartbeatInterval: number;
  /** De-duplication window in seconds; 0 = off. Env `MQTT_DEDUPE_TTL`. */
  readonly dedupeTtl: number;
  /** De-duplication cache size; must be > 0 when the TTL is. Env `MQTT_DEDUPE_MAX_ENTRIES`. */
  readonly dedupeMaxEntries: number;
  /** First reconnect delay in seconds (>= 0.1). Env `MQTT_RECONNECT_MIN_DELAY`, default 0.5. */
  readonly reconnectMinDelay: number;
  /** Largest reconnect delay in seconds (>= 0.5). Env `MQTT_RECONNECT_MAX_DELAY`, default 5. */
  readonly reconnectMaxDelay: number;
  /**
   * Start a clean session on every connect (true) or keep a persistent session so QoS 1/2
   * messages are queued by the broker while offline (false). Env `MQTT_CLEAN_SESSION`,
   * default true.
   */
  readonly cleanSession: boolean;
  /**
   * PEM file of the CA that signed the broker's certificate (`mqtts://`, `wss://`), for a
   * broker with a private CA; unset = the system's trusted CAs. Env `MQTT_CA_FILE`.
   */
  readonly caFile?: string;
  /** PEM client certificate, for a broker with `require_certificate true`. Env `MQTT_CERT_FILE`. */
  readonly certFile?: string;
  /** PEM private key of {@linkcode MqttClientConfig.certFile}. Env `MQTT_KEY_FILE`. */
  readonly keyFile?: string;
}

/** Input of {@linkcode MqttClientConfig.parse}: `clientId` is required, the rest optional. */
export type MqttClientConfigInput = Partial<MqttClientConfig> & { clientId: string };

/** Zod schema of the config object (constructor path); cross-field rules included. */
export const MqttClientConfigSchema = z.strictObject({
  url: z.string().default("mqtt://127.0.0.1:1883"),
  clientId: z.string().min(1).max(65535).regex(/^[^+#/]*$/, {
    message: "must not contain '/', '+' or '#' (it names the topic system/health/<client_id>)",
  }),
  sourceName: z.string().min(1).optional(),
  keepalive: z.number().int().min(1).max(3600).default(60),
  enableHealth: z.boolean().default(false),
  enableHeartbeat: z.boolean().default(false),
  heartbeatInterval: z.number().min(1).default(5),
  dedupeTtl: z.number().min(0).default(0),
  dedupeMaxEntries: z.number().int().min(0).default(0),
  reconnectMinDelay: z.number().min(0.1).default(0.5),
  reconnectMaxDelay: z.number().min(0.5).default(5),
  cleanSession: z.boolean().default(true),
  caFile: z.string().min(1).optional(),
  certFile: z.string().min(1).optional(),
  keyFile: z.string().min(1).optional(),
});

/** Maps config fields to their env variable names (for error messages). */
export const MQTT_ENV_NAMES: Readonly<Record<keyof MqttClientConfig, string>> = {
  url: "MQTT_URL",
  clientId: "MQTT_CLIENT_ID",
  sourceName: "MQTT_SOURCE_NAME",
  keepalive: "MQTT_KEEPALIVE",
  enableHealth: "MQTT_ENABLE_HEALTH",
  enableHeartbeat: "MQTT_ENABLE_HEARTBEAT",
  heartbeatInterval: "MQTT_HEARTBEAT_INTERVAL",
  dedupeTtl: "MQTT_DEDUPE_TTL",
  dedupeMaxEntries: "MQTT_DEDUPE_MAX_ENTRIES",
  reconnectMinDelay: "MQTT_RECONNECT_MIN_DELAY",
  reconnectMaxDelay: "MQTT_RECONNECT_MAX_DELAY",
  cleanSession: "MQTT_CLEAN_SESSION",
  caFile: "MQTT_CA_FILE",
  certFile: "MQTT_CERT_FILE",
  keyFile: "MQTT_KEY_FILE",
};

/** Rules that involve two fields or the URL; returns one issue per broken rule. */
function crossFieldIssues(config: MqttClientConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  try {
    parseMqttUrl(config.url);
  } catch {
    issues.push({
      variable: "MQTT_URL",
      value: redactUrl(config.url),
      expected: "an mqtt://, mqtts://, ws:// or wss:// URL, e.g. mqtt://user:pass@127.0.0.1:1883",
    });
  }
  if (config.reconnectMaxDelay < config.reconnectMinDelay) {
    issues.push({
      variable: "MQTT_RECONNECT_MAX_DELAY",
      value: String(config.reconnectMaxDelay),
      expected: `a number >= MQTT_RECONNECT_MIN_DELAY (${config.reconnectMinDelay})`,
    });
  }
  if (config.dedupeTtl > 0 && config.dedupeMaxEntries <= 0) {
    issues.push({
      variable: "MQTT_DEDUPE_MAX_ENTRIES",
      value: String(config.dedupeMaxEntries),
      expected: `an integer > 0 when MQTT_DEDUPE_TTL=${config.dedupeTtl} ` +
        "(deduplication needs a cache size limit)",
    });
  }
  issues.push(...tlsIssues(config));
  return issues;
}

/** The TLS file settings must come together and need a TLS URL. */
function tlsIssues(config: MqttClientConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (Boolean(config.certFile) !== Boolean(config.keyFile)) {
    const [set, unset] = config.certFile
      ? ["MQTT_CERT_FILE", "MQTT_KEY_FILE"]
      : ["MQTT_KEY_FILE", "MQTT_CERT_FILE"];
    issues.push({
      variable: unset,
      value: "",
      expected: `a PEM file: ${set} is set, and a client certificate needs both ` +
        "MQTT_CERT_FILE and MQTT_KEY_FILE",
    });
  }
  const tlsFile = (["caFile", "certFile", "keyFile"] as const).find((k) => config[k]);
  let scheme: string | undefined;
  try {
    scheme = parseMqttUrl(config.url).scheme;
  } catch {
    scheme = undefined; // reported as a bad MQTT_URL already
  }
  if (tlsFile && (scheme === "mqtt" || scheme === "ws")) {
    issues.push({
      variable: "MQTT_URL",
      value: redactUrl(config.url),
      expected: `an mqtts:// or wss:// URL: ${MQTT_ENV_NAMES[tlsFile]} is set, but ` +
        `${scheme}:// would connect without TLS`,
    });
  }
  return issues;
}

/** The contents of the TLS files of a config, ready for the connection. */
export interface MqttTlsFiles {
  /** The CA certificate(s) to trust instead of the system's (`MQTT_CA_FILE`). */
  readonly ca?: string;
  /** The client certificate (`MQTT_CERT_FILE`). */
  readonly cert?: string;
  /** The client's private key (`MQTT_KEY_FILE`). Never logged. */
  readonly key?: string;
}

const PEM_LABEL: Record<"caFile" | "certFile" | "keyFile", RegExp> = {
  caFile: /-----BEGIN CERTIFICATE-----/,
  certFile: /-----BEGIN CERTIFICATE-----/,
  keyFile: /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
};

const PEM_WHAT: Record<"caFile" | "certFile" | "keyFile", string> = {
  caFile: "the PEM certificate of the CA that signed the broker's certificate",
  certFile: "this service's PEM client certificate",
  keyFile: "the PEM private key of MQTT_CERT_FILE",
};

/**
 * Reads the files `MQTT_CA_FILE`, `MQTT_CERT_FILE` and `MQTT_KEY_FILE` name (synchronously,
 * once, when the client is created). Throws one {@linkcode ConfigError} naming every file that
 * cannot be read or is not PEM, with the reason ("Cannot read MQTT_CA_FILE ...: ...").
 */
export function readMqttTlsFiles(config: MqttClientConfig): MqttTlsFiles {
  const files: { ca?: string; cert?: string; key?: string } = {};
  const issues: ConfigIssue[] = [];
  const fields = { caFile: "ca", certFile: "cert", keyFile: "key" } as const;
  for (const [field, option] of Object.entries(fields) as [keyof typeof fields, string][]) {
    const path = config[field];
    if (!path) continue;
    const variable = MQTT_ENV_NAMES[field];
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      issues.push({
        variable,
        value: path,
        expected: `a readable file. Cannot read ${variable} ${path}: ${why}. Set ${variable} ` +
          `to ${PEM_WHAT[field]} (readable by the service's user; Deno needs --allow-read)`,
      });
      continue;
    }
    if (!PEM_LABEL[field].test(text)) {
      issues.push({
        variable,
        value: path,
        expected: `${PEM_WHAT[field]}; ${path} has no PEM block ` +
          `(${PEM_LABEL[field].source.replaceAll("[A-Z ]*", "")})`,
      });
      continue;
    }
    files[option as "ca" | "cert" | "key"] = text;
  }
  if (issues.length > 0) throw new ConfigError(issues, "MQTT client configuration");
  return files;
}

/** Options of {@linkcode MqttClientConfig.fromEnv}. */
export interface MqttConfigFromEnvOptions {
  /** Values used when a variable is unset (e.g. a service's default client id). */
  defaults?: Partial<MqttClientConfig>;
}

function optionalEntry<K extends string>(
  key: K,
  value: string | undefined,
): Partial<Record<K, string>> {
  return value ? { [key]: value } as Record<K, string> : {};
}

/** Builds and validates client configs. */
export const MqttClientConfig = {
  /**
   * Validates a config object, filling py-tars defaults. Throws a {@linkcode ConfigError}
   * naming every bad field (by its env variable name).
   */
  parse(input: MqttClientConfigInput): MqttClientConfig {
    const result = MqttClientConfigSchema.safeParse(input);
    if (!result.success) {
      const issues = result.error.issues.map((issue): ConfigIssue => {
        const key = String(issue.path[0] ?? "") as keyof MqttClientConfig;
        const raw = (input as Record<string, unknown>)[key];
        const value = key === "url" && typeof raw === "string" ? redactUrl(raw) : String(raw);
        return { variable: MQTT_ENV_NAMES[key] ?? key, value, expected: issue.message };
      });
      throw new ConfigError(issues, "MQTT client configuration");
    }
    const config: MqttClientConfig = {
      ...result.data,
      sourceName: result.data.sourceName ?? result.data.clientId,
    };
    const issues = crossFieldIssues(config);
    if (issues.length > 0) throw new ConfigError(issues, "MQTT client configuration");
    return config;
  },

  /**
   * Reads `MQTT_URL`, `MQTT_CLIENT_ID`, `MQTT_SOURCE_NAME`, `MQTT_KEEPALIVE`,
   * `MQTT_ENABLE_HEALTH`, `MQTT_ENABLE_HEARTBEAT`, `MQTT_HEARTBEAT_INTERVAL`,
   * `MQTT_DEDUPE_TTL`, `MQTT_DEDUPE_MAX_ENTRIES`, `MQTT_RECONNECT_MIN_DELAY`,
   * `MQTT_RECONNECT_MAX_DELAY`, `MQTT_CLEAN_SESSION`, `MQTT_CA_FILE`, `MQTT_CERT_FILE` and
   * `MQTT_KEY_FILE` (paths only: the files are read by {@linkcode readMqttTlsFiles}). Every bad value is reported in one
   * {@linkcode ConfigError}; the password of `MQTT_URL` never appears in it.
   *
   * @example
   * ```ts
   * const config = MqttClientConfig.fromEnv(Deno.env.toObject(), {
   *   defaults: { clientId: "tars-router", enableHealth: true },
   * });
   * ```
   */
  fromEnv(
    env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
    options: MqttConfigFromEnvOptions = {},
  ): MqttClientConfig {
    const d = options.defaults ?? {};
    const { values, issues: envIssues } = readEnv(
      {
        MQTT_URL: envVar.string(d.url ?? "mqtt://127.0.0.1:1883"),
        MQTT_CLIENT_ID: envVar.string(d.clientId ?? ""),
        MQTT_SOURCE_NAME: envVar.optionalString(),
        MQTT_KEEPALIVE: envVar.int(d.keepalive ?? 60, { min: 1, max: 3600 }),
        MQTT_ENABLE_HEALTH: envVar.bool(d.enableHealth ?? false),
        MQTT_ENABLE_HEARTBEAT: envVar.bool(d.enableHeartbeat ?? false),
        MQTT_HEARTBEAT_INTERVAL: envVar.float(d.heartbeatInterval ?? 5, { min: 1 }),
        MQTT_DEDUPE_TTL: envVar.float(d.dedupeTtl ?? 0, { min: 0 }),
        MQTT_DEDUPE_MAX_ENTRIES: envVar.int(d.dedupeMaxEntries ?? 0, { min: 0 }),
        MQTT_RECONNECT_MIN_DELAY: envVar.float(d.reconnectMinDelay ?? 0.5, { min: 0.1 }),
        MQTT_RECONNECT_MAX_DELAY: envVar.float(d.reconnectMaxDelay ?? 5, { min: 0.5 }),
        MQTT_CLEAN_SESSION: envVar.bool(d.cleanSession ?? true),
        MQTT_CA_FILE: envVar.optionalString(),
        MQTT_CERT_FILE: envVar.optionalString(),
        MQTT_KEY_FILE: envVar.optionalString(),
      },
      env,
      {
        context: "MQTT client configuration",
        redact: (variable, value) => variable === "MQTT_URL" ? redactUrl(value) : value,
      },
    );
    const config: MqttClientConfig = {
      url: values.MQTT_URL,
      clientId: values.MQTT_CLIENT_ID,
      sourceName: values.MQTT_SOURCE_NAME ?? d.sourceName ?? values.MQTT_CLIENT_ID,
      keepalive: values.MQTT_KEEPALIVE,
      enableHealth: values.MQTT_ENABLE_HEALTH,
      enableHeartbeat: values.MQTT_ENABLE_HEARTBEAT,
      heartbeatInterval: values.MQTT_HEARTBEAT_INTERVAL,
      dedupeTtl: values.MQTT_DEDUPE_TTL,
      dedupeMaxEntries: values.MQTT_DEDUPE_MAX_ENTRIES,
      reconnectMinDelay: values.MQTT_RECONNECT_MIN_DELAY,
      reconnectMaxDelay: values.MQTT_RECONNECT_MAX_DELAY,
      cleanSession: values.MQTT_CLEAN_SESSION,
      ...optionalEntry("caFile", values.MQTT_CA_FILE ?? d.caFile),
      ...optionalEntry("certFile", values.MQTT_CERT_FILE ?? d.certFile),
      ...optionalEntry("keyFile", values.MQTT_KEY_FILE ?? d.keyFile),
    };
    const issues = [...envIssues, ...crossFieldIssues(config)];
    if (!config.clientId) {
      issues.unshift({
        variable: "MQTT_CLIENT_ID",
        value: "",
        expected: "a client id, e.g. tars-router (it names system/health/<client_id>)",
      });
    } else if (/[+#/]/.test(config.clientId)) {
      issues.unshift({
        variable: "MQTT_CLIENT_ID",
        value: config.clientId,
        expected: "a client id without '/', '+' or '#'",
      });
    }
    if (issues.length > 0) throw new ConfigError(issues, "MQTT client configuration");
    return config;
  },

  /** A copy safe to log: the URL password replaced by `***`. */
  redacted(config: MqttClientConfig): MqttClientConfig {
    return { ...config, url: redactUrl(config.url) };
  },
} as const;
