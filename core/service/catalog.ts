/**
 * The service catalog: one row per TARS service with the facts every part of the project
 * shares (its MQTT client id, the envelope `source` it publishes with, whether it sends
 * heartbeats, its de-duplication defaults, one line on what it does). `runService` takes a
 * service's MQTT defaults from here, ui-web's health board its tiles, the router its health
 * topics, `ops/services.ts` its launcher facts and the Mosquitto ACL its client ids.
 *
 * Client ids and sources are py-tars': `tars-<short>` where py-tars had one (`wake-activation`
 * and `ui-web` had no `tars-` prefix); `router`, `llm-worker` and `memory-worker` set their
 * envelope source to their name, the others publish with their client id.
 *
 * @example
 * ```ts
 * import { serviceCatalog } from "./catalog.ts";
 *
 * serviceCatalog["stt-worker"].clientId; // "tars-stt"
 * ```
 *
 * @module
 */
import type { MqttClientConfig } from "../config/mqtt_config.ts";

/** Names of the services (their folder under `services/`), in start order. */
export const serviceNames = [
  "router",
  "llm-worker",
  "memory-worker",
  "tts-worker",
  "stt-worker",
  "wake-activation",
  "movement-service",
  "camera-service",
  "ha-bridge",
  "ui-web",
] as const;

/** One of {@linkcode serviceNames}. */
export type ServiceName = typeof serviceNames[number];

/** What the project knows about one service, whatever runs it. */
export interface ServiceInfo {
  /** Folder name under `services/`, and the service's logger category (`tars.<name>`). */
  readonly name: ServiceName;
  /**
   * Default MQTT client id (py-tars'): names its `system/health/<client_id>` and
   * `system/keepalive/<client_id>` topics and its ACL lines. Env `MQTT_CLIENT_ID` overrides it.
   */
  readonly clientId: string;
  /**
   * Default envelope `source` of what it publishes. Equal to {@linkcode clientId} when the
   * source follows the client id (a changed `MQTT_CLIENT_ID` then changes the source too).
   */
  readonly sourceName: string;
  /** Heartbeats on `system/keepalive/<client_id>` by default (py-tars' defaults). */
  readonly heartbeat: boolean;
  /** De-duplication of received envelopes by default, `null` when off. */
  readonly dedupe: { readonly ttlSeconds: number; readonly maxEntries: number } | null;
  /** One line on what it does. */
  readonly description: string;
}

function row(
  name: ServiceName,
  clientId: string,
  description: string,
  extra: Partial<Pick<ServiceInfo, "sourceName" | "heartbeat" | "dedupe">> = {},
): ServiceInfo {
  return {
    name,
    clientId,
    sourceName: extra.sourceName ?? clientId,
    heartbeat: extra.heartbeat ?? false,
    dedupe: extra.dedupe ?? null,
    description,
  };
}

/** The services, keyed by name. */
export const serviceCatalog: Readonly<Record<ServiceName, ServiceInfo>> = Object.freeze({
  router: row("router", "tars-router", "routes transcripts, intents and replies", {
    sourceName: "router",
    // py-tars' router de-duplicated (30 s, 2048 entries); MQTT_DEDUPE_TTL=0 turns it off.
    dedupe: { ttlSeconds: 30, maxEntries: 2048 },
  }),
  "llm-worker": row("llm-worker", "tars-llm", "talks to the LLM provider (HTTP)", {
    sourceName: "llm-worker",
    heartbeat: true,
  }),
  "memory-worker": row(
    "memory-worker",
    "tars-memory",
    "stores and searches conversation memory",
    { sourceName: "memory-worker", heartbeat: true },
  ),
  "tts-worker": row("tts-worker", "tars-tts", "turns replies into speech"),
  "stt-worker": row("stt-worker", "tars-stt", "turns microphone audio into transcripts", {
    heartbeat: true,
  }),
  "wake-activation": row("wake-activation", "wake-activation", "detects the wake word"),
  "movement-service": row(
    "movement-service",
    "tars-movement",
    "drives the servos (simulated in dev)",
  ),
  "camera-service": row(
    "camera-service",
    "tars-camera",
    "captures frames and serves them over HTTP",
    { heartbeat: true },
  ),
  "ha-bridge": row(
    "ha-bridge",
    "tars-ha-bridge",
    "shows TARS in Home Assistant by MQTT discovery",
  ),
  "ui-web": row("ui-web", "ui-web", "the live dashboard"),
});

/** Whether `name` is one of the {@linkcode serviceNames}. */
export function isServiceName(name: string): name is ServiceName {
  return Object.hasOwn(serviceCatalog, name);
}

/**
 * The MQTT config defaults of service `name` (what unset `MQTT_*` variables mean for it):
 * its client id, health on, its heartbeat and de-duplication defaults, and its envelope
 * source where that is not its client id.
 */
export function mqttDefaultsOf(name: ServiceName): Partial<MqttClientConfig> {
  const info = serviceCatalog[name];
  return {
    clientId: info.clientId,
    enableHealth: true,
    enableHeartbeat: info.heartbeat,
    ...(info.sourceName !== info.clientId ? { sourceName: info.sourceName } : {}),
    ...(info.dedupe
      ? { dedupeTtl: info.dedupe.ttlSeconds, dedupeMaxEntries: info.dedupe.maxEntries }
      : {}),
  };
}
