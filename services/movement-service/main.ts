/**
 * movement-service: executes the 20 TARS movement commands of movement/test as servo pose
 * sequences through a driver (`MOVEMENT_DRIVER`: sim, pca9685, esp32), with clamped pulses,
 * a latched emergency stop on movement/stop, a bounded queue and a command TTL.
 *
 * @module
 */
import { ConfigError, EXIT_CONFIG, parseBool, runService } from "../../core/mod.ts";
import { readMovementConfig } from "./config.ts";
import { startMovementService } from "./service.ts";

/**
 * Refuses a persistent MQTT session: the broker would keep the QoS 1 commands sent while
 * movement-service was offline and deliver them when it reconnects, so the servos would run
 * commands nobody is watching any more (the dead-man rule refuses commands only while the
 * connection is down). Checked before connecting.
 */
export function checkCleanSession(env: Readonly<Record<string, string | undefined>>): void {
  const raw = env.MQTT_CLEAN_SESSION?.trim();
  if (!raw || parseBool(raw) !== false) return;
  throw new ConfigError([{
    variable: "MQTT_CLEAN_SESSION",
    value: raw,
    expected: "true or unset for movement-service: with a persistent session the broker would " +
      "replay commands queued while it was offline, and the servos would run them on reconnect",
  }], "movement-service configuration");
}

if (import.meta.main) {
  try {
    checkCleanSession(Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    Deno.exit(EXIT_CONFIG);
  }
  await runService(
    "movement-service",
    ({ client, logger, env }) =>
      startMovementService({ client, logger }, { config: readMovementConfig(env) }),
    { mqtt: { clientId: "tars-movement" } },
  );
}
