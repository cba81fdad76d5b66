/**
 * System payloads that are not py-tars contract models: the raw keepalive of
 * `system/keepalive/{client_id}` and our counters on `system/metrics/{client_id}`.
 *
 * @module
 */
import { z } from "zod";
import { lazySchema } from "../lazy_schema.ts";
import { epochSecondsField, idString, labelString, messageIdField } from "./common.ts";

/**
 * HeartbeatPayload: raw JSON (not enveloped) on `system/keepalive/{client_id}`,
 * `{"ok":true,"event":"heartbeat","timestamp":…}`.
 */
export const HeartbeatPayload = lazySchema(() =>
  z.strictObject({
    ok: z.boolean().default(true),
    event: labelString().default("heartbeat"),
    timestamp: z.number().meta({ description: "Epoch seconds; required, as in py-tars." }),
  }).meta({ title: "HeartbeatPayload", description: "Keepalive beat of one MQTT client." })
);
/** A parsed {@linkcode HeartbeatPayload}. */
export type HeartbeatPayload = z.output<typeof HeartbeatPayload>;

/**
 * SystemMetrics: a client's counters on `system/metrics/{client_id}`, event
 * `system.metrics` (new in TARS-Deno; py-tars has no metrics topic).
 */
export const SystemMetrics = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    client_id: idString().min(1).meta({ description: "MQTT client id of the reporter." }),
    timestamp: epochSecondsField("When the counters were read (epoch seconds)."),
    counters: z.record(labelString(), z.number()).meta({
      description: "Counter name to value, e.g. published, received, dropped.",
    }),
  }).meta({ title: "SystemMetrics", description: "Counters of one MQTT client." })
);
/** A parsed {@linkcode SystemMetrics}. */
export type SystemMetrics = z.output<typeof SystemMetrics>;
