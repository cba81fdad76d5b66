/**
 * The Home Assistant entities of TARS and their MQTT discovery configs. Pure functions: the
 * bridge (`service.ts`) publishes what these return.
 *
 * Every entity belongs to one device "TARS" and is available only while the bridge is: its
 * availability reads the bridge's own retained health (`system/health/<client id>`, whose last
 * will says `ok: false`). A service's connectivity sensor is also unavailable while that
 * service's health says it is gone (its last will, `lost`, or a clean `shutdown`).
 *
 * @module
 */
import type { HaComponent, HaDiscoveryConfig, TestMovementCommand } from "../../core/mod.ts";

/** The node id of every TARS discovery topic: `homeassistant/<component>/tars/<object_id>/config`. */
export const NODE_ID = "tars";

/** The `origin` of every config (Home Assistant logs it). */
export const ORIGIN = { name: "TARS-Deno ha-bridge" } as const;

/** The one device every TARS entity belongs to. */
export const DEVICE = {
  identifiers: ["tars"],
  name: "TARS",
  manufacturer: "TARS-Deno",
  model: "TARS robot",
} as const;

/** The entity names (the `{entity}` of `tars/ha/command/{entity}`, `tars/ha/state/{entity}`). */
export const ENTITY = {
  transcript: "transcript",
  reply: "reply",
  say: "say",
  move: "move",
  stop: "stop",
  live: "live",
} as const;

/**
 * The movement commands that get a button: the whole-body moves the firmware runs without
 * parameters. `stop` is the emergency stop's own button (movement/stop, never queued), and
 * `disable`, `move_legs`, `move_arm` are left out (servo power and raw joint positions).
 */
export const MOVEMENT_BUTTONS: readonly TestMovementCommand[] = [
  "reset",
  "step_forward",
  "step_backward",
  "turn_left",
  "turn_right",
  "wave",
  "laugh",
  "bow",
  "pose",
  "balance",
  "swing_legs",
  "mic_drop",
  "monster",
  "pezz_dispenser",
  "now",
];

/** The most characters a Home Assistant state may have (longer ones are refused). */
export const HA_STATE_MAX = 255;

/** Trait values go 0..100 (CharacterTraitUpdate). */
export const TRAIT_RANGE = { min: 0, max: 100 } as const;

/** One entity: where its config goes and what it says. */
export interface DiscoveryItem {
  /** The Home Assistant platform. */
  readonly component: HaComponent;
  /** Unique within the node; also the last part of `unique_id`. */
  readonly objectId: string;
  /** The config (published as bare JSON, retained). */
  readonly config: HaDiscoveryConfig;
}

/** Where the bridge's topics are, filled from the topic table by the service. */
export interface EntityTopics {
  /** The bridge's own health topic (its availability). */
  readonly bridgeHealth: string;
  /** `tars/ha/state/<entity>`. */
  state(entity: string): string;
  /** `tars/ha/command/<entity>`. */
  command(entity: string): string;
  /** `tars/ha/camera`. */
  readonly camera: string;
}

/** A Jinja template reading `data.ok` of the bridge's health envelope. */
export const HEALTH_AVAILABILITY_TEMPLATE = "{{ 'online' if value_json.data.ok else 'offline' }}";

/** Lower-case letters, digits and `_` only (object ids, topic parameters). */
export function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 64);
}

/** The state and availability entity names of a service's connectivity sensor. */
export function serviceEntities(clientId: string): { state: string; availability: string } {
  const id = slug(clientId);
  return { state: `health_${id}`, availability: `available_${id}` };
}

/** The entity name of a trait's number. */
export function traitEntity(trait: string): string {
  return `trait_${slug(trait)}`;
}

function base(at: EntityTopics, objectId: string, name: string) {
  return {
    name,
    unique_id: `${NODE_ID}_${objectId}`,
    device: { ...DEVICE, identifiers: [...DEVICE.identifiers] },
    origin: { ...ORIGIN },
    availability: [{ topic: at.bridgeHealth, value_template: HEALTH_AVAILABILITY_TEMPLATE }],
  };
}

/** The entities that exist whatever runs: sensors, the say text, buttons, live mode, camera. */
export function staticEntities(at: EntityTopics, withCamera: boolean): DiscoveryItem[] {
  const items: DiscoveryItem[] = [
    {
      component: "sensor",
      objectId: "last_transcript",
      config: {
        ...base(at, "last_transcript", "Last transcript"),
        state_topic: at.state(ENTITY.transcript),
        icon: "mdi:microphone-message",
      },
    },
    {
      component: "sensor",
      objectId: "last_reply",
      config: {
        ...base(at, "last_reply", "Last reply"),
        state_topic: at.state(ENTITY.reply),
        icon: "mdi:robot",
      },
    },
    {
      component: "text",
      objectId: "say",
      config: {
        ...base(at, "say", "Say"),
        command_topic: at.command(ENTITY.say),
        min: 1,
        max: HA_STATE_MAX,
        mode: "text",
        icon: "mdi:account-voice",
      },
    },
    {
      component: "button",
      objectId: "emergency_stop",
      config: {
        ...base(at, "emergency_stop", "Emergency stop"),
        command_topic: at.command(ENTITY.stop),
        payload_press: "STOP",
        icon: "mdi:hand-back-left",
      },
    },
    ...MOVEMENT_BUTTONS.map((command): DiscoveryItem => ({
      component: "button",
      objectId: `move_${command}`,
      config: {
        ...base(at, `move_${command}`, `Move: ${command.replaceAll("_", " ")}`),
        command_topic: at.command(ENTITY.move),
        payload_press: command,
        icon: "mdi:robot-industrial",
      },
    })),
    {
      component: "switch",
      objectId: "live_mode",
      config: {
        ...base(at, "live_mode", "Live mode"),
        command_topic: at.command(ENTITY.live),
        state_topic: at.state(ENTITY.live),
        payload_on: "ON",
        payload_off: "OFF",
        icon: "mdi:account-voice",
      },
    },
  ];
  if (withCamera) {
    items.push({
      component: "image",
      objectId: "camera",
      config: {
        ...base(at, "camera", "Camera"),
        image_topic: at.camera,
        content_type: "image/jpeg",
      },
    });
  }
  return items;
}

/** A service's connectivity sensor (one per client id seen on `system/health/+`). */
export function serviceEntity(at: EntityTopics, clientId: string): DiscoveryItem {
  const names = serviceEntities(clientId);
  const objectId = names.state;
  const config = base(at, objectId, clientId);
  return {
    component: "binary_sensor",
    objectId,
    config: {
      ...config,
      availability: [...config.availability, { topic: at.state(names.availability) }],
      availability_mode: "all",
      state_topic: at.state(names.state),
      payload_on: "ON",
      payload_off: "OFF",
      device_class: "connectivity",
      entity_category: "diagnostic",
    },
  };
}

/** A trait's number (one per trait of `system/character/current`). */
export function traitEntityItem(at: EntityTopics, trait: string): DiscoveryItem {
  const entity = traitEntity(trait);
  return {
    component: "number",
    objectId: entity,
    config: {
      ...base(at, entity, `Trait: ${trait}`),
      command_topic: at.command(entity),
      state_topic: at.state(entity),
      min: TRAIT_RANGE.min,
      max: TRAIT_RANGE.max,
      step: 1,
      mode: "slider",
      entity_category: "config",
    },
  };
}
