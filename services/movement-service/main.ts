/**
 * movement-service: executes the 20 TARS movement commands of movement/test as servo pose
 * sequences through a driver (`MOVEMENT_DRIVER`: sim, pca9685, esp32), with clamped pulses,
 * a latched emergency stop on movement/stop, a bounded queue and a command TTL.
 *
 * @module
 */
import { runService } from "../../core/mod.ts";
import { readMovementConfig } from "./config.ts";
import { startMovementService } from "./service.ts";

if (import.meta.main) {
  await runService(
    "movement-service",
    ({ client, logger, env }) =>
      startMovementService({ client, logger }, { config: readMovementConfig(env) }),
    { mqtt: { clientId: "tars-movement" } },
  );
}
