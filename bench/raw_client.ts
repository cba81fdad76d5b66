/**
 * The baseline client: raw MQTT.js with the wire options `MqttClient` uses (MQTT 3.1.1,
 * keepalive 60, clean session, MQTT.js reconnects off unless asked) and TCP_NODELAY set on
 * every connect, as `MqttClient` does. Imports only `mqtt`.
 *
 * @module
 */
import mqtt from "mqtt";
import type { IClientOptions, MqttClient as MqttJsClient } from "mqtt";

/** Connects a raw MQTT.js client; resolves on the first CONNACK. */
export function connectRaw(
  url: string,
  clientId: string,
  extra: Partial<IClientOptions> = {},
): Promise<MqttJsClient> {
  const client = mqtt.connect(url, {
    clientId,
    protocolVersion: 4,
    keepalive: 60,
    clean: true,
    reconnectPeriod: 0,
    ...extra,
  });
  client.on("connect", () => {
    const socket = client.stream as unknown as { setNoDelay?: (on: boolean) => void };
    socket.setNoDelay?.(true);
  });
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    client.once("error", onError);
    client.once("connect", () => {
      client.off("error", onError);
      resolve(client);
    });
  });
}
