/**
 * Health payload, carried retained on `system/health/{client_id}`.
 *
 * @module
 */
import { z } from "zod";
import { lazySchema } from "../lazy_schema.ts";
import { detailString, epochSecondsField, labelString, messageIdField } from "./common.ts";

/**
 * HealthPing: a service's liveness (`system/health/{client_id}`, event `health.status`).
 * py-tars publishes it with `exclude_none`, so `event`/`err` are absent rather than `null`.
 * Extra keys are kept, not refused: py-tars' wake-activation adds `version` and `ts` (as its
 * own `wake.health` envelope), and the ESP32 firmware publishes the bare payload.
 */
export const HealthPing = lazySchema(() =>
  z.looseObject({
    message_id: messageIdField(),
    ok: z.boolean().meta({ description: "Whether the service is healthy." }),
    event: labelString().nullish().meta({
      description: "What happened: ready, shutdown, lost, an error name...",
    }),
    err: detailString().nullish().meta({ description: "Error text when `ok` is false." }),
    timestamp: epochSecondsField("When the status was produced (epoch seconds)."),
  }).meta({ title: "HealthPing", description: "Liveness of one MQTT client." })
);
/** A parsed {@linkcode HealthPing}. */
export type HealthPing = z.output<typeof HealthPing>;
