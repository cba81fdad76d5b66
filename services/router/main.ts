/**
 * router: the conversation brain between stt-worker and tts-worker. It gates transcripts
 * (live mode, wake window, response window), answers built-in rules (time, "say …",
 * greetings, live mode, movement commands) and sends everything else to llm-worker,
 * speaking the streamed reply sentence by sentence.
 *
 * Run: `deno run --allow-net --allow-env --allow-read --allow-sys services/router/main.ts`
 *
 * @module
 */
import { runService, type ServiceDefinition } from "../../core/mod.ts";
import { readRouterConfig, type RouterConfig } from "./config.ts";
import { startRouterService } from "./service.ts";

/**
 * The router for `runService`: reads its config, then starts routing. Its MQTT defaults
 * (client id `tars-router`, envelope source `router`, de-duplication 30 s / 2048 entries as
 * py-tars' router had it) come from the service catalog.
 */
export const routerService: ServiceDefinition<RouterConfig> = {
  readConfig: readRouterConfig,
  main: (ctx) => startRouterService(ctx, { config: ctx.config }),
};

if (import.meta.main) {
  await runService("router", routerService);
}
