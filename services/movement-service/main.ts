/**
 * movement-service: executes the 20 TARS movement commands of movement/test as servo pose
 * sequences through a driver (`MOVEMENT_DRIVER`: sim, pca9685, esp32), with clamped pulses,
 * a latched emergency stop on movement/stop, a bounded queue and a command TTL.
 *
 * @module
 */
import { parseBool, runService } from "../../core/mod.ts";
import { readMovementConfig } from "./config.ts";
import { startMovementService } from "./service.ts";

/**
 * Makes movement-service's MQTT session clean whatever `MQTT_CLEAN_SESSION` says: with a
 * persistent session the broker would keep the QoS 1 commands sent while movement-service was
 * offline and deliver them when it reconnects, so the servos would run commands nobody is
 * watching any more (the dead-man rule refuses commands only while the connection is down).
 * Returns whether the setting was overridden (the caller warns).
 */
export function forceCleanSession(env: Record<string, string | undefined>): boolean {
  const raw = env.MQTT_CLEAN_SESSION?.trim();
  if (!raw || parseBool(raw) !== false) return false;
  env.MQTT_CLEAN_SESSION = "true";
  return true;
}

if (import.meta.main) {
  const env = Deno.env.toObject();
  const overridden = forceCleanSession(env);
  await runService("movement-service", {
    readConfig: readMovementConfig,
    main: (ctx) => {
      if (overridden) {
        ctx.logger.warn(
          "MQTT_CLEAN_SESSION=false is ignored by movement-service: a persistent session would " +
            "replay commands queued while it was offline, and the servos would run them",
        );
      }
      return startMovementService(ctx, { config: ctx.config });
    },
  }, { env });
}
