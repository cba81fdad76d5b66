/**
 * The router bench's baseline: a bare MQTT.js process that republishes every message of
 * `BENCH_ECHO_IN` unchanged on `BENCH_ECHO_OUT` (QoS `BENCH_ECHO_QOS`), i.e. the same two
 * broker hops as stt/final → llm/request or llm/stream → tts/say, with no TARS logic.
 * Needs `--allow-net --allow-env --allow-read`.
 *
 * @module
 */
import mqtt from "mqtt";

const url = Deno.env.get("MQTT_URL") ?? "mqtt://127.0.0.1:1883";
const input = Deno.env.get("BENCH_ECHO_IN") ?? "bench/echo/in";
const output = Deno.env.get("BENCH_ECHO_OUT") ?? "bench/echo/out";
const qos = Number(Deno.env.get("BENCH_ECHO_QOS") ?? 1) as 0 | 1 | 2;

const client = await mqtt.connectAsync(url, {
  clientId: `bench-echo-${crypto.randomUUID().slice(0, 8)}`,
  protocolVersion: 4,
  reconnectPeriod: 0,
});
// No Nagle delay, like the TARS client (core/mqtt/client.ts).
(client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
client.on("message", (_topic, payload) => {
  client.publish(output, payload, { qos });
});
await client.subscribeAsync(input, { qos: 1 });
console.log("ready");
Deno.addSignalListener("SIGTERM", async () => {
  await client.endAsync();
  Deno.exit(0);
});
