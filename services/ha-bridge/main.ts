/**
 * ha-bridge: shows TARS in Home Assistant by MQTT discovery (docs/home-assistant.md).
 *
 * @module
 */
import { runService } from "../../core/mod.ts";
import { readHaBridgeConfig } from "./config.ts";
import { startHaBridge } from "./service.ts";

if (import.meta.main) {
  await runService("ha-bridge", {
    readConfig: readHaBridgeConfig,
    main: (ctx) => startHaBridge(ctx, { config: ctx.config }),
  });
}
