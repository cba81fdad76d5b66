/**
 * Every service's environment variables (aliases included) and its config reader, plus the
 * variables core reads in every service: what the robot profile and py-tars defaults tests
 * check names and values against.
 *
 * @module
 */
import { MQTT_ENV_NAMES, type ServiceName } from "../../core/mod.ts";
import { CAMERA_ENV, readCameraConfig } from "../../services/camera-service/config.ts";
import { HA_BRIDGE_ENV, readHaBridgeConfig } from "../../services/ha-bridge/config.ts";
import { LLM_ENV, LLM_ENV_ALIASES, readLlmConfig } from "../../services/llm-worker/config.ts";
import {
  MEMORY_ENV,
  MEMORY_ENV_ALIASES,
  readMemoryConfig,
} from "../../services/memory-worker/config.ts";
import { MOVEMENT_ENV, readMovementConfig } from "../../services/movement-service/config.ts";
import { readRouterConfig, ROUTER_ENV, ROUTER_ENV_ALIASES } from "../../services/router/config.ts";
import { readSttConfig, STT_ENV } from "../../services/stt-worker/config.ts";
import { readTtsConfig, TTS_ENV } from "../../services/tts-worker/config.ts";
import { readUiWebConfig, UI_WEB_ENV, UI_WEB_ENV_ALIASES } from "../../services/ui-web/config.ts";
import { readWakeConfig, WAKE_ENV } from "../../services/wake-activation/config.ts";

/** An environment as the config readers take it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** One service's variables and reader. */
export interface ServiceEnv {
  /** Every name the service reads: its variables and their older aliases. */
  readonly names: readonly string[];
  /** Its config reader; throws a ConfigError on a bad value. */
  readonly read: (env: Env) => unknown;
}

function names(
  shape: Record<string, unknown>,
  aliases: Readonly<Record<string, readonly string[]>> = {},
): string[] {
  return [...Object.keys(shape), ...Object.values(aliases).flat()];
}

/** Each service's variables and config reader. */
export const SERVICE_ENV: Readonly<Record<ServiceName, ServiceEnv>> = {
  router: { names: names(ROUTER_ENV, ROUTER_ENV_ALIASES), read: readRouterConfig },
  "llm-worker": { names: names(LLM_ENV, LLM_ENV_ALIASES), read: readLlmConfig },
  "memory-worker": { names: names(MEMORY_ENV, MEMORY_ENV_ALIASES), read: readMemoryConfig },
  "tts-worker": { names: names(TTS_ENV), read: readTtsConfig },
  "stt-worker": { names: names(STT_ENV), read: readSttConfig },
  "wake-activation": { names: names(WAKE_ENV), read: readWakeConfig },
  "movement-service": { names: names(MOVEMENT_ENV), read: readMovementConfig },
  "camera-service": { names: names(CAMERA_ENV), read: readCameraConfig },
  "ha-bridge": { names: names(HA_BRIDGE_ENV), read: readHaBridgeConfig },
  "ui-web": { names: names(UI_WEB_ENV, UI_WEB_ENV_ALIASES), read: readUiWebConfig },
};

/** The variables core reads in every service: the MQTT client's and logging's. */
export const CORE_ENV_NAMES: ReadonlySet<string> = new Set([
  ...Object.values(MQTT_ENV_NAMES),
  "LOG_LEVEL",
  "LOG_FORMAT",
]);

/** The services that read `variable`, by its name or as an alias. */
export function readersOf(variable: string): ServiceName[] {
  return (Object.keys(SERVICE_ENV) as ServiceName[]).filter((name) =>
    SERVICE_ENV[name].names.includes(variable)
  );
}
