/**
 * ha-bridge: shows TARS in Home Assistant by MQTT discovery. It announces one device "TARS"
 * (retained configs under `homeassistant/<component>/tars/<object_id>/config`, again whenever
 * Home Assistant says `online` on `homeassistant/status`), mirrors TARS state onto plain-text
 * retained topics Home Assistant reads (`tars/ha/state/<entity>`, `tars/ha/camera`) and turns
 * Home Assistant's plain-text commands (`tars/ha/command/<entity>`) into the validated TARS
 * contracts: tts/say, movement/test, movement/stop, router/live_mode/set, character/update.
 * It never publishes movement/clear (the ACL does not let it): a latched stop stays latched.
 *
 * With `HA_DISCOVERY=false` it removes every retained discovery config of the `tars` node
 * (an empty retained payload) and does nothing else.
 *
 * @module
 */
import {
  paramsOfTopic,
  RateLimitedLog,
  type ServiceDeps,
  type Subscription,
  topicFor,
  topics,
} from "../../core/mod.ts";
import { checkHaBridgeMqtt, type HaBridgeConfig } from "./config.ts";
import {
  type DiscoveryItem,
  ENTITY,
  type EntityTopics,
  HA_STATE_MAX,
  serviceEntities,
  serviceEntity,
  slug,
  staticEntities,
  traitEntity,
  traitEntityItem,
} from "./entities.ts";
import { decodeText, type Parsed, parseLive, parseMove, parseSay, parseTrait } from "./commands.ts";

/** Options of {@linkcode startHaBridge}. */
export interface HaBridgeOptions {
  /** The configuration (`readHaBridgeConfig`). */
  readonly config: HaBridgeConfig;
}

/** A running bridge. */
export interface HaBridge {
  /** The entities announced so far (none with discovery off). */
  readonly announced: readonly DiscoveryItem[];
  /** Commands from Home Assistant refused as invalid. */
  readonly refused: number;
  /** Re-publishes every discovery config (what `homeassistant/status online` triggers). */
  announceAll(): Promise<void>;
  /** Unsubscribes. */
  close(): Promise<void>;
}

/** Services and traits announced at most (a bound on what the bus can make the bridge create). */
export const MAX_DYNAMIC_ENTITIES = 64;

/** Health events after which a service is gone (its last will, or a clean stop). */
const GONE_EVENTS = new Set(["lost", "shutdown"]);

function keyOf(item: Pick<DiscoveryItem, "component" | "objectId">): string {
  return `${item.component}/${item.objectId}`;
}

/** Starts the bridge: with discovery on, announces TARS; off, removes its configs. */
export async function startHaBridge(
  context: ServiceDeps,
  options: HaBridgeOptions,
): Promise<HaBridge> {
  const { client, logger } = context;
  const { config } = options;
  const subscriptions = client.group();
  const announced = new Map<string, DiscoveryItem>();
  let refused = 0;
  // A flood of bad commands is one line per command topic per 10 s.
  const warnings = new RateLimitedLog(10_000);

  const close = async () => {
    await subscriptions.close().catch(() => {});
  };
  const discoveryParams = (item: Pick<DiscoveryItem, "component" | "objectId">) => ({
    component: item.component,
    object_id: item.objectId,
  });

  if (!config.discovery) {
    // Off: every retained config of our node that the broker still holds is removed.
    await subscriptions.subscribeRaw(topics.haDiscovery, async (bytes, message) => {
      if (bytes.byteLength === 0) return; // a removal (ours, echoed)
      const params = paramsOfTopic(topics.haDiscovery, message.topic);
      if (!params) return;
      await client.publishRaw(topics.haDiscovery, "", { params, retain: true });
      logger.info("Removed the Home Assistant entity {topic} (HA_DISCOVERY=false)", {
        topic: message.topic,
      });
    });
    logger.info("Home Assistant discovery is off: removing TARS's retained configs");
    return {
      announced: [],
      refused: 0,
      announceAll: () => Promise.resolve(),
      close,
    };
  }

  // Every entity's availability is the bridge's retained health and last will.
  checkHaBridgeMqtt(config, client.config);
  const entityTopics: EntityTopics = {
    bridgeHealth: client.healthTopic,
    state: (entity) => topicFor(topics.haState, { entity }),
    command: (entity) => topicFor(topics.haCommand, { entity }),
    camera: topicFor(topics.haCamera),
  };
  const publishState = (entity: string, value: string) =>
    client.publishRaw(topics.haState, value, { params: { entity } }).catch((error) =>
      logger.warn("Could not publish the state of {entity}: {error}", {
        entity,
        error: String(error),
      })
    );
  const announce = async (item: DiscoveryItem) => {
    announced.set(keyOf(item), item);
    await client.publishJson(topics.haDiscovery, item.config, { params: discoveryParams(item) });
  };
  const announceAll = async () => {
    for (const item of [...announced.values()]) await announce(item);
  };
  const accept = async <T>(
    what: string,
    parsed: Parsed<T>,
    run: (value: T) => Promise<unknown>,
  ): Promise<void> => {
    if (!parsed.ok) {
      refused++;
      warnings.maybe(
        what,
        (suppressed) =>
          logger.warn("Home Assistant command {what} refused: {reason} ({suppressed} more)", {
            what,
            reason: parsed.reason,
            suppressed,
          }),
      );
      return;
    }
    await run(parsed.value);
  };

  try {
    // --- commands first, so that nothing announced is a dead button
    // Any message is a stop, as on movement/stop: whatever its payload or size, retained too
    // (movement-service honours a retained stop as well), in its own queue, never confirmed.
    await subscriptions.subscribeRaw(topics.haCommand, async () => {
      await client.publishEvent(topics.movementStop, { reason: "Home Assistant emergency stop" });
    }, { params: { entity: ENTITY.stop }, queueSize: 16, maxBytes: Number.MAX_SAFE_INTEGER });
    await subscriptions.subscribeRaw(topics.haCommand, (bytes) => {
      return accept(
        "move",
        parseMove(bytes),
        ({ command }) =>
          client.publishEvent(topics.movementTest, {
            command,
            request_id: `ha-${crypto.randomUUID().slice(0, 8)}`,
          }),
      );
    }, { params: { entity: ENTITY.move }, ignoreRetained: true });
    await subscriptions.subscribeRaw(topics.haCommand, (bytes) => {
      return accept("say", parseSay(bytes), (say) => client.publishEvent(topics.ttsSay, say));
    }, { params: { entity: ENTITY.say }, ignoreRetained: true });
    await subscriptions.subscribeRaw(topics.haCommand, (bytes) => {
      return accept(
        "live",
        parseLive(bytes),
        (command) => client.publishEvent(topics.routerLiveModeSet, command),
      );
    }, { params: { entity: ENTITY.live }, ignoreRetained: true });

    for (const item of staticEntities(entityTopics, config.cameraIntervalMs > 0)) {
      await announce(item);
    }

    // --- Home Assistant (re)started: it forgot non-retained state, so announce again
    await subscriptions.subscribeRaw(topics.haStatus, async (bytes) => {
      if (decodeText(bytes)?.trim() !== "online") return;
      logger.info("Home Assistant is online: re-sending {count} discovery configs", {
        count: announced.size,
      });
      await announceAll();
    }, { queueSize: 1 }); // a burst of "online" re-sends once or twice, not once per message

    // --- one connectivity sensor per MQTT client with a health topic
    const staticCount = announced.size;
    const dynamic = () => announced.size - staticCount;
    await subscriptions.subscribe(topics.systemHealth, async (health, message) => {
      const clientId = paramsOfTopic(topics.systemHealth, message.topic)?.client_id;
      if (!clientId || slug(clientId) === "") return;
      const item = serviceEntity(entityTopics, clientId);
      if (!announced.has(keyOf(item))) {
        if (dynamic() >= MAX_DYNAMIC_ENTITIES) return;
        await announce(item);
      }
      const names = serviceEntities(clientId);
      const gone = !health.ok && GONE_EVENTS.has(health.event ?? "");
      await publishState(names.availability, gone ? "offline" : "online");
      await publishState(names.state, health.ok ? "ON" : "OFF");
    }, { queueSize: 256 });

    // --- conversation sensors
    await subscriptions.subscribe(topics.sttFinal, async (final) => {
      await publishState(ENTITY.transcript, clip(final.text));
    });
    await subscriptions.subscribe(topics.llmResponse, async (response) => {
      if (response.reply) await publishState(ENTITY.reply, clip(response.reply));
    });
    await subscriptions.subscribe(topics.routerLiveMode, async (state) => {
      await publishState(ENTITY.live, state.enabled ? "ON" : "OFF");
    });

    // --- character traits as numbers
    const traitSubscriptions = new Map<string, Subscription>();
    await subscriptions.subscribe(topics.systemCharacterCurrent, async (character) => {
      for (const [trait, value] of Object.entries(character.traits)) {
        if (typeof value !== "number" || slug(trait) === "") continue;
        const entity = traitEntity(trait);
        const item = traitEntityItem(entityTopics, trait);
        if (!announced.has(keyOf(item))) {
          if (dynamic() >= MAX_DYNAMIC_ENTITIES) continue;
          if (!traitSubscriptions.has(entity)) {
            const onCommand = (bytes: Uint8Array) =>
              accept(
                entity,
                parseTrait(trait, bytes),
                (update) => client.publishEvent(topics.characterUpdate, update),
              );
            const subscription = await subscriptions.subscribeRaw(topics.haCommand, onCommand, {
              params: { entity },
              ignoreRetained: true,
            });
            traitSubscriptions.set(entity, subscription);
          }
          await announce(item);
        }
        await publishState(entity, String(Math.round(value)));
      }
    });

    // --- the camera, at most one image per interval
    if (config.cameraIntervalMs > 0) {
      let last = -Infinity;
      await subscriptions.subscribe(topics.cameraFrame, async (frame) => {
        const now = performance.now();
        if (now - last < config.cameraIntervalMs || frame.format !== "jpeg") return;
        last = now;
        await client.publishRaw(topics.haCamera, decodeBase64(frame.frame_data));
      }, { queueSize: 1 });
    }
  } catch (error) {
    await close();
    throw error;
  }
  logger.info("Home Assistant discovery on: {count} entities announced", {
    count: announced.size,
  });
  return {
    get announced() {
      return [...announced.values()];
    },
    get refused() {
      return refused;
    },
    announceAll,
    close,
  };
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= HA_STATE_MAX ? flat : `${flat.slice(0, HA_STATE_MAX - 1)}…`;
}

function decodeBase64(data: string): Uint8Array {
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
