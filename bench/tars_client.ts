/**
 * The client under test: the TARS `MqttClient` with health and de-duplication on.
 *
 * @module
 */
import { MqttClient, type MqttClientOptions } from "../core/mod.ts";

/** De-duplication window of the benchmarked `MqttClient`, in seconds. */
export const DEDUPE_TTL_S = 30;

/**
 * De-duplication cache size of the benchmarked `MqttClient`: larger than any run sends, so
 * the cache never evicts (the full-cache case has its own row; see docs/performance.md).
 */
export const DEDUPE_MAX_ENTRIES = 100_000;

/** Creates (does not connect) a TARS client with health and de-duplication on. */
export function newTarsClient(
  url: string,
  clientId: string,
  extra: Partial<MqttClientOptions> = {},
): MqttClient {
  return new MqttClient({
    url,
    clientId,
    enableHealth: true,
    dedupeTtl: DEDUPE_TTL_S,
    dedupeMaxEntries: DEDUPE_MAX_ENTRIES,
    ...extra,
  });
}
