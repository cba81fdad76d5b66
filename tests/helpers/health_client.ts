/**
 * A child process for tests: connects with health on (config from MQTT_* env) and waits
 * to be killed.
 *
 * @module
 */
import { MqttClient } from "../../core/mqtt/client.ts";

const client = MqttClient.fromEnv({ defaults: { enableHealth: true } });
await client.connect();
await new Promise(() => {});
