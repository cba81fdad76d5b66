/**
 * Configuration: typed, validated environment parsing shared by every service, and the
 * MQTT client's own settings (py-tars names and defaults; `MQTT_URL` without py-tars' password).
 *
 * @module
 */
export {
  ConfigError,
  type ConfigIssue,
  type EnvField,
  type EnvReadResult,
  type EnvValues,
  envVar,
  type NumberRange,
  parseBool,
  parseEnv,
  type ParseEnvOptions,
  readEnv,
} from "./env.ts";
export {
  MQTT_ENV_NAMES,
  MQTT_URL_SCHEMES,
  MqttClientConfig,
  type MqttClientConfigInput,
  MqttClientConfigSchema,
  type MqttConfigFromEnvOptions,
  type MqttConnectionParams,
  parseMqttUrl,
  redactUrl,
} from "./mqtt_config.ts";
