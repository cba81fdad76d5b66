/**
 * TARS core: the shared MQTT client, the contracts (envelope, payload schemas, topic
 * table), configuration, logging and the service runner. Services import only this module.
 *
 * @example (not run by `deno test --doc`: it needs a broker)
 * ```ts ignore
 * import { runService, topics } from "./mod.ts";
 *
 * await runService("router", async ({ client }) => {
 *   await client.subscribe(topics.sttFinal, async (final, ctx) => {
 *     await client.publishEvent(topics.ttsSay, { text: `You said ${final.text}` }, {
 *       correlationId: ctx.correlationId,
 *     });
 *   });
 * }); // client id tars-router, source router: the service catalog's defaults
 * ```
 *
 * @module
 */
export * from "./config/mod.ts";
export * from "./contracts/mod.ts";
export * from "./http/mod.ts";
export * from "./log/mod.ts";
export * from "./mqtt/mod.ts";
export * from "./service/mod.ts";
