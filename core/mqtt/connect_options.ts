/**
 * What the client tells MQTT.js, without I/O: the connect options (URL parts, TLS files,
 * last will) and what a connection error means for the user (a refused login or a TLS
 * handshake failure that retrying cannot fix, with what to do about it).
 *
 * @module
 */
import type { IClientOptions } from "mqtt";
import { Envelope, epochSeconds, newMessageId } from "../contracts/envelope.ts";
import { topics } from "../contracts/topics.ts";
import {
  type MqttClientConfig,
  type MqttTlsFiles,
  parseMqttUrl,
  redactUrl,
} from "../config/mqtt_config.ts";

/** CONNACK return codes of a refused login (bad protocol version aside): retrying cannot help. */
const AUTH_ERROR_CODES = new Set([2, 4, 5]);

/**
 * Whether MQTT.js should log through `debug` (`DEBUG=mqttjs*` or `DEBUG=*`, as in Node). Off by
 * default: MQTT.js calls its logger several times per packet, and even a disabled `debug`
 * logger costs about 1 µs per message on the hot path.
 */
const MQTTJS_DEBUG = (() => {
  try {
    return /mqttjs|\*/.test(Deno.env.get("DEBUG") ?? "");
  } catch {
    return false; // no --allow-env: nothing asked for it
  }
})();

function ignoreMqttJsLog(): void {}

/** What {@linkcode mqttJsOptions} needs beside the config. */
export interface MqttJsOptionsInput {
  /** The validated client configuration. */
  readonly config: MqttClientConfig;
  /** The TLS file contents (CA, client certificate and key). */
  readonly tls: MqttTlsFiles;
  /** The retained health topic the last will goes to (when health is on). */
  readonly healthTopic: string;
  /** Wait for the CONNACK per attempt, in ms. */
  readonly connectTimeoutMs: number;
}

/**
 * The MQTT.js options of one client: MQTT 3.1.1, no MQTT.js reconnects or resubscribes (the
 * client does both), manual connect, the broker's certificate always verified, and (with
 * health on) a retained last will `ok:false, event:"lost"` on the health topic.
 */
export function mqttJsOptions(input: MqttJsOptionsInput): IClientOptions {
  const { config, tls, healthTopic, connectTimeoutMs } = input;
  const url = parseMqttUrl(config.url);
  const willPayload = Envelope.toJson(Envelope.new({
    eventType: topics.systemHealth.eventType ?? "health.status",
    data: { message_id: newMessageId(), ok: false, event: "lost", timestamp: epochSeconds() },
    source: config.sourceName,
  }));
  return {
    protocol: url.scheme,
    host: url.hostname,
    hostname: url.hostname,
    port: url.port,
    path: url.scheme === "ws" || url.scheme === "wss" ? url.path : undefined,
    username: url.username,
    password: url.password,
    clientId: config.clientId,
    keepalive: config.keepalive,
    clean: config.cleanSession,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: connectTimeoutMs,
    resubscribe: false,
    queueQoSZero: true,
    manualConnect: true,
    // TLS (mqtts://, wss://): the private CA and client certificate, if configured; the
    // broker's certificate is always verified.
    ...tls,
    rejectUnauthorized: true,
    log: MQTTJS_DEBUG ? undefined : ignoreMqttJsLog,
    will: config.enableHealth
      ? { topic: healthTopic, payload: willPayload, qos: 1, retain: true }
      : undefined,
  };
}

/**
 * What to do about a TLS handshake failure (a certificate the client or the broker did not
 * accept), or `undefined` for any other error. Like a refused login, retrying cannot fix it.
 */
export function tlsErrorHint(error: Error & { code?: number | string }): string | undefined {
  const code = typeof error.code === "string" ? error.code : "";
  if (/CERTIFICATE_REQUIRED/.test(code)) {
    return "The broker requires a client certificate: set MQTT_CERT_FILE and MQTT_KEY_FILE.";
  }
  if (/ALTNAME|HOSTNAME/.test(code)) {
    return "The broker's certificate does not name the host of MQTT_URL: connect to a name " +
      "it lists (subjectAltName) or reissue it.";
  }
  if (/CERT|UNABLE_TO_(GET|VERIFY)|ERR_SSL_|ERR_TLS_/.test(code)) {
    return "Set MQTT_CA_FILE to the PEM certificate of the CA that signed the broker's " +
      "certificate (and check MQTT_CERT_FILE / MQTT_KEY_FILE if the broker asks for one).";
  }
  return undefined;
}

/**
 * The message for a connection error that retrying cannot fix (refused credentials, a TLS
 * handshake failure), saying what to change; `undefined` for an error worth retrying.
 */
export function fatalConnectionError(
  error: Error & { code?: number | string },
  url: string,
): string | undefined {
  const tlsHint = tlsErrorHint(error);
  if (tlsHint) {
    return `Cannot connect to ${redactUrl(url)}: TLS failed (${error.message}). ` + tlsHint;
  }
  if (typeof error.code === "number" && AUTH_ERROR_CODES.has(error.code)) {
    return `The broker ${redactUrl(url)} refused the connection: ` +
      `${error.message}. Check the user name, password and client id in MQTT_URL / ` +
      "MQTT_CLIENT_ID.";
  }
  return undefined;
}

/** Waits for `promise` at most `ms`; resolves `true` when it settled in time. Clears its timer. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
