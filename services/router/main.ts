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
import {
  type RunningService,
  runService,
  type RunServiceOptions,
  type ServiceContext,
} from "../../core/mod.ts";
import { readRouterConfig } from "./config.ts";
import { startRouterService } from "./service.ts";

/** The service's name and default MQTT client id. */
export const ROUTER_CLIENT_ID = "tars-router";

/**
 * `runService` options of the router: client id `tars-router`, envelope source `router` (what
 * py-tars' router put on everything it published), and de-duplication on by default as
 * py-tars' router had it (30 s, 2048 entries; `MQTT_DEDUPE_TTL=0` turns it off).
 */
export const ROUTER_RUN_OPTIONS: RunServiceOptions = {
  mqtt: {
    clientId: ROUTER_CLIENT_ID,
    sourceName: "router",
    dedupeTtl: 30,
    dedupeMaxEntries: 2048,
  },
};

/** The router's `main` for `runService`: reads its config and starts routing. */
export function routerMain(context: ServiceContext): Promise<RunningService> {
  const { client, logger, env } = context;
  return startRouterService({ client, logger }, { config: readRouterConfig(env) });
}

if (import.meta.main) {
  await runService("router", routerMain, ROUTER_RUN_OPTIONS);
}
