/**
 * ha-bridge: shows TARS in Home Assistant by MQTT discovery (docs/home-assistant.md).
 *
 * @module
 */
import { runService } from "../../core/mod.ts";
import { readHaBridgeConfig } from "./config.ts";
import { startHaBridge } from "./service.ts";

if (import.meta.main) {
  await runService(
    "ha-bridge",
    ({ client, logger, env }) =>
      startHaBridge({ client, logger }, { config: readHaBridgeConfig(env) }),
    { mqtt: { clientId: "tars-ha-bridge" } },
  );
}
