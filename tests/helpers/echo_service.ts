/**
 * A child process for tests: a tiny service under `runService` that answers every bare JSON
 * message on `svc/ping` with the same value on `svc/pong`. Config comes from `MQTT_*`.
 *
 * @module
 */
import { runService } from "../../core/mod.ts";

await runService("echo", async ({ client }) => {
  await client.subscribe("svc/ping", async (value: unknown) => {
    await client.publishJson("svc/pong", value, { qos: 1 });
  }, { wire: "json", qos: 1 });
}, { mqtt: { clientId: "tars-echo" } });
