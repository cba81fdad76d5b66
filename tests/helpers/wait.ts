/**
 * Small async helpers for integration tests.
 *
 * @module
 */
import mqtt from "mqtt";
import type { MqttClient as MqttJsClient } from "mqtt";
import { topicMatches } from "../../core/mqtt/topic_match.ts";
import { MqttClient, type MqttClientOptions } from "../../core/mqtt/client.ts";

/** Polls `condition` every 10 ms until it is truthy; throws `message` after `timeoutMs`. */
export async function waitFor(
  condition: () => unknown,
  message: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${message}`);
    await sleep(10);
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An MQTT.js client that ends itself (forcefully) at the end of an `await using` block. */
export type RawClient = MqttJsClient & AsyncDisposable;

/** A bare MQTT.js client (no TARS logic) for poking the broker from tests. */
export async function rawClient(url: string, clientId?: string): Promise<RawClient> {
  const client = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    clientId: clientId ?? `test-raw-${crypto.randomUUID().slice(0, 8)}`,
    protocolVersion: 4,
  });
  return Object.assign(client, {
    [Symbol.asyncDispose]: async () => {
      await client.endAsync(true);
    },
  });
}

/** Collects the messages a raw client receives on topics matching `filter` (as text). */
export async function collect(
  client: MqttJsClient,
  filter: string,
): Promise<Array<{ topic: string; text: string; retain: boolean }>> {
  const got: Array<{ topic: string; text: string; retain: boolean }> = [];
  client.on("message", (topic, payload, packet) => {
    if (!topicMatches(filter, topic)) return;
    got.push({ topic, text: new TextDecoder().decode(payload), retain: packet.retain });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return got;
}

/** A `MqttClient` for tests: a random client id and fast reconnects (0.1 s to 0.5 s). */
export function testClient(url: string, options: Partial<MqttClientOptions> = {}): MqttClient {
  return new MqttClient({
    url,
    clientId: `test-${crypto.randomUUID().slice(0, 8)}`,
    reconnectMinDelay: 0.1,
    reconnectMaxDelay: 0.5,
    ...options,
  });
}
