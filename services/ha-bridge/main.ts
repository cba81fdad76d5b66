/**
 * ha-bridge: shows TARS in Home Assistant by MQTT discovery (docs/home-assistant.md).
 *
 * @module
 */
import { runService } from "../../core/mod.ts";
import { checkHaBridgeMqtt, readHaBridgeConfig } from "./config.ts";
import { startHaBridge } from "./service.ts";

if (import.meta.main) {
  await runService("ha-bridge", {
    readConfig: readHaBridgeConfig,
    // Before connecting, so MQTT_ENABLE_HEALTH=false exits 78 even with no broker up.
    prepare: (config, { mqtt }) => checkHaBridgeMqtt(config, mqtt),
    main: (ctx) => startHaBridge(ctx, { config: ctx.config }),
  });
}
