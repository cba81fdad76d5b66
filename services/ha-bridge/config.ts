/**
 * ha-bridge configuration from the environment.
 *
 * @module
 */
import { ConfigError, envVar, type MqttClientConfig, readEnv } from "../../core/mod.ts";

/** The variables, their defaults and ranges. */
export const HA_BRIDGE_ENV = {
  HA_DISCOVERY: envVar.bool(true),
  HA_CAMERA_INTERVAL_MS: envVar.int(5_000, { min: 0, max: 3_600_000 }),
};

/** The parsed configuration. */
export interface HaBridgeConfig {
  /**
   * Whether TARS is announced to Home Assistant (`HA_DISCOVERY`). Off, the bridge removes
   * every retained discovery config of the `tars` node and does nothing else.
   */
  readonly discovery: boolean;
  /** The camera image is refreshed at most this often, ms; 0 = no camera entity. */
  readonly cameraIntervalMs: number;
}

/** Reads the configuration; throws one `ConfigError` naming every bad variable. */
export function readHaBridgeConfig(
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): HaBridgeConfig {
  const { values, issues } = readEnv(HA_BRIDGE_ENV, env);
  if (issues.length > 0) throw new ConfigError(issues, "ha-bridge configuration");
  return {
    discovery: values.HA_DISCOVERY,
    cameraIntervalMs: values.HA_CAMERA_INTERVAL_MS,
  };
}

/**
 * Checks the MQTT settings ha-bridge needs: with discovery on, every entity's availability is
 * the bridge's retained health, so health must be on.
 *
 * @throws ConfigError naming MQTT_ENABLE_HEALTH when discovery is on and health is off.
 */
export function checkHaBridgeMqtt(
  config: HaBridgeConfig,
  mqtt: Readonly<Pick<MqttClientConfig, "enableHealth">>,
): void {
  if (!config.discovery || mqtt.enableHealth) return;
  throw new ConfigError([{
    variable: "MQTT_ENABLE_HEALTH",
    value: "false",
    expected: "true for ha-bridge (Home Assistant reads the bridge's health as availability)",
  }], "ha-bridge configuration");
}
