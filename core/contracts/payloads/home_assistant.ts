/**
 * Home Assistant payloads: the MQTT discovery config the ha-bridge publishes retained under
 * `homeassistant/<component>/tars/<object_id>/config`, and the router's live-mode command and
 * state (new in TARS-Deno; the dashboard and Home Assistant switch live mode through them).
 *
 * Field names are Home Assistant's (https://www.home-assistant.io/integrations/mqtt/): the
 * discovery schema lists only the fields TARS uses and refuses others, so a typo cannot slip
 * into a retained config.
 *
 * @module
 */
import { z } from "zod";
import { builtSchema, lazySchema } from "../lazy_schema.ts";
import { idString, labelString } from "./common.ts";

/** The Home Assistant entity platforms the bridge announces. */
export const HA_COMPONENTS = [
  "binary_sensor",
  "sensor",
  "text",
  "button",
  "switch",
  "image",
  "number",
] as const;

/** One of {@linkcode HA_COMPONENTS}. */
export type HaComponent = typeof HA_COMPONENTS[number];

const topicField = () => labelString().min(1);
const templateField = () => z.string().max(512);

/** One entry of a discovery config's `availability` list. */
export const HaAvailability = lazySchema(() =>
  z.strictObject({
    topic: topicField(),
    payload_available: labelString().optional(),
    payload_not_available: labelString().optional(),
    value_template: templateField().optional(),
  }).meta({ title: "HaAvailability", description: "An availability topic of an entity." })
);

/** The `device` of a discovery config: ties every TARS entity to one device. */
export const HaDevice = lazySchema(() =>
  z.strictObject({
    identifiers: z.array(idString().min(1)).min(1).max(4),
    name: labelString().min(1),
    manufacturer: labelString().optional(),
    model: labelString().optional(),
    sw_version: labelString().optional(),
  }).meta({ title: "HaDevice", description: "The device the entity belongs to." })
);

/** The `origin` of a discovery config: which program announced it (`name` required). */
export const HaOrigin = lazySchema(() =>
  z.strictObject({
    name: labelString().min(1),
    sw_version: labelString().optional(),
    support_url: labelString().optional(),
  }).meta({ title: "HaOrigin", description: "The application that published the config." })
);

/**
 * HaDiscoveryConfig: one entity's MQTT discovery config (bare JSON, retained). An empty
 * retained payload on the same topic removes the entity; that one is published raw.
 */
export const HaDiscoveryConfig = lazySchema(() =>
  z.strictObject({
    name: labelString().min(1),
    unique_id: idString().min(1),
    device: builtSchema(HaDevice),
    origin: builtSchema(HaOrigin),
    availability: z.array(builtSchema(HaAvailability)).min(1).max(4).optional(),
    availability_mode: z.enum(["all", "any", "latest"]).optional(),
    state_topic: topicField().optional(),
    command_topic: topicField().optional(),
    image_topic: topicField().optional(),
    content_type: labelString().optional(),
    value_template: templateField().optional(),
    payload_on: labelString().optional(),
    payload_off: labelString().optional(),
    payload_press: labelString().optional(),
    device_class: labelString().optional(),
    entity_category: z.enum(["config", "diagnostic"]).optional(),
    icon: labelString().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    step: z.number().optional(),
    mode: labelString().optional(),
    unit_of_measurement: labelString().optional(),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    retain: z.boolean().optional(),
  }).meta({ title: "HaDiscoveryConfig", description: "A Home Assistant MQTT discovery config." })
);
/** A parsed {@linkcode HaDiscoveryConfig}. */
export type HaDiscoveryConfig = z.output<typeof HaDiscoveryConfig>;

/** LiveModeCommand: switch the router's live mode on or off, on `router/live_mode/set`. */
export const LiveModeCommand = lazySchema(() =>
  z.strictObject({
    enabled: z.boolean(),
  }).meta({ title: "LiveModeCommand", description: "Turn live mode on (true) or off (false)." })
);
/** A parsed {@linkcode LiveModeCommand}. */
export type LiveModeCommand = z.output<typeof LiveModeCommand>;

/** LiveModeState: whether live mode is on, retained on `router/live_mode`. */
export const LiveModeState = lazySchema(() =>
  z.strictObject({
    enabled: z.boolean(),
  }).meta({ title: "LiveModeState", description: "Whether the router's live mode is on." })
);
/** A parsed {@linkcode LiveModeState}. */
export type LiveModeState = z.output<typeof LiveModeState>;
