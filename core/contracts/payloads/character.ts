/**
 * Character (persona) payloads: `character/get`, `character/result`, `character/update`
 * and the retained `system/character/current`.
 *
 * @module
 */
import { z } from "zod";
import { builtSchema, lazySchema } from "../lazy_schema.ts";
import {
  jsonObject,
  jsonObjectDefaultEmpty,
  labelString,
  longTextString,
  messageIdField,
  textString,
} from "./common.ts";

/** CharacterGetRequest: asks for the character or one of its sections, on `character/get`. */
export const CharacterGetRequest = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    section: labelString().nullish().meta({
      description: "Section name (traits, voice, ...); absent/null = whole snapshot.",
    }),
  }).meta({ title: "CharacterGetRequest", description: "Ask for the character or one section." })
);
/** A parsed {@linkcode CharacterGetRequest}. */
export type CharacterGetRequest = z.output<typeof CharacterGetRequest>;

/**
 * CharacterSnapshot: the whole character, on `system/character/current` (retained) and
 * as an answer on `character/result`.
 */
export const CharacterSnapshot = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    name: labelString(),
    description: textString().nullish(),
    systemprompt: longTextString().nullish(),
    traits: jsonObjectDefaultEmpty().meta({ description: "Trait name to value 0..100." }),
    voice: jsonObjectDefaultEmpty(),
    meta: jsonObjectDefaultEmpty(),
    scenario: jsonObjectDefaultEmpty(),
    personality_notes: jsonObjectDefaultEmpty(),
    example_interactions: jsonObjectDefaultEmpty(),
  }).meta({ title: "CharacterSnapshot", description: "The whole character." })
);
/** A parsed {@linkcode CharacterSnapshot}. */
export type CharacterSnapshot = z.output<typeof CharacterSnapshot>;

/**
 * CharacterSection: one section of the character, on `character/result`. For an unknown
 * section `value` is `{error, available}`.
 */
export const CharacterSection = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    section: labelString(),
    value: z.union([jsonObject(), longTextString()]).nullish(),
  }).meta({ title: "CharacterSection", description: "One section of the character." })
);
/** A parsed {@linkcode CharacterSection}. */
export type CharacterSection = z.output<typeof CharacterSection>;

/** CharacterResult: the payload of `character/result`, a snapshot or a section. */
export const CharacterResult = lazySchema(() =>
  z.union([builtSchema(CharacterSnapshot), builtSchema(CharacterSection)])
);
/** A parsed {@linkcode CharacterResult}. */
export type CharacterResult = z.output<typeof CharacterResult>;

/**
 * CharacterTraitUpdate: sets one trait, on `character/update`. memory-worker only honours
 * `section: "traits"`, so no other section is accepted.
 */
export const CharacterTraitUpdate = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    section: z.literal("traits").default("traits"),
    trait: labelString().min(1),
    value: z.int().min(0).max(100),
  }).meta({ title: "CharacterTraitUpdate", description: "Set one trait (0..100)." })
);
/** A parsed {@linkcode CharacterTraitUpdate}. */
export type CharacterTraitUpdate = z.output<typeof CharacterTraitUpdate>;

/** CharacterResetTraits: resets every trait to the character file's, on `character/update`. */
export const CharacterResetTraits = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    action: z.literal("reset_traits").default("reset_traits"),
  }).meta({ title: "CharacterResetTraits", description: "Reset every trait." })
);
/** A parsed {@linkcode CharacterResetTraits}. */
export type CharacterResetTraits = z.output<typeof CharacterResetTraits>;

/**
 * CharacterUpdate: the payload of `character/update`, a trait update or a reset. Unlike
 * the standalone {@linkcode CharacterResetTraits}, `action` is required here (as
 * memory-worker checks it), so an empty object is not a reset.
 */
export const CharacterUpdate = lazySchema(() =>
  z.union([
    builtSchema(CharacterTraitUpdate),
    builtSchema(CharacterResetTraits).extend({ action: z.literal("reset_traits") }).meta({
      title: "CharacterResetTraits",
      description: "Reset every trait (`action` required).",
    }),
  ])
);
/** A parsed {@linkcode CharacterUpdate}. */
export type CharacterUpdate = z.output<typeof CharacterUpdate>;
