/**
 * Field builders shared by the payload schemas: ids and clocks with py-tars' generated
 * defaults, optional-`None` fields and free-form objects.
 *
 * @module
 */
import { z } from "zod";
import { epochSeconds, newMessageId } from "../envelope.ts";

/**
 * Length limits of the free-text fields of every payload, in characters (UTF-16 code units, as
 * zod's `.max()` counts them; one is at most 3 bytes of UTF-8). They are far above what a
 * py-tars peer sends in normal use and keep each payload within its topic's `maxBytes`;
 * docs/decisions.md says why each is what it is.
 */
export const TEXT_LIMITS = {
  /** Ids: message ids (uuid4 hex, 32), utterance, request and call ids, client ids. */
  id: 256,
  /** Names and short words: languages, voices, events, reasons, models, sections, commands. */
  label: 256,
  /** Error messages and details meant for a log or a person. */
  detail: 4_000,
  /** What a person says or types: a transcript, a question, a query, a fact to remember. */
  text: 10_000,
  /** What an LLM writes or reads as a whole: replies, text to speak, system prompts, turns. */
  longText: 65_536,
} as const;

/** Clips `text` to `max` characters (the last one an ellipsis) so that it passes `.max(max)`. */
export function clipText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A string of at most {@linkcode TEXT_LIMITS}`.id` characters. */
export function idString(): z.ZodString {
  return z.string().max(TEXT_LIMITS.id);
}

/** A string of at most {@linkcode TEXT_LIMITS}`.label` characters. */
export function labelString(): z.ZodString {
  return z.string().max(TEXT_LIMITS.label);
}

/** A string of at most {@linkcode TEXT_LIMITS}`.detail` characters. */
export function detailString(): z.ZodString {
  return z.string().max(TEXT_LIMITS.detail);
}

/** A string of at most {@linkcode TEXT_LIMITS}`.text` characters. */
export function textString(): z.ZodString {
  return z.string().max(TEXT_LIMITS.text);
}

/** A string of at most {@linkcode TEXT_LIMITS}`.longText` characters. */
export function longTextString(): z.ZodString {
  return z.string().max(TEXT_LIMITS.longText);
}

/**
 * A base64 string of at most `max` characters (1 byte each on the wire); the docs generator
 * and the size tests read `contentEncoding`.
 */
export function base64String(max: number, description: string): z.ZodString {
  return z.string().max(max).meta({ description, contentEncoding: "base64" });
}

/**
 * Registry of fields whose default is computed at parse time (ids, clocks). The docs
 * generator uses it to print "generated" instead of a random sample value.
 */
export const generatedDefaults: z.core.$ZodRegistry<{ generated: string }> = z.registry<
  { generated: string }
>();

/** A string field defaulting to a new uuid4 hex (py-tars `default_factory=uuid4().hex`). */
export function uuidHexField(description: string): z.ZodDefault<z.ZodString> {
  const field = z.string().max(TEXT_LIMITS.id).default(() => newMessageId()).meta({
    description,
  });
  generatedDefaults.add(field, { generated: "uuid4 hex" });
  return field;
}

/** The `message_id` field of every py-tars contract model: uuid4 hex, generated when absent. */
export function messageIdField(): z.ZodDefault<z.ZodString> {
  return uuidHexField("Message id (uuid4 hex); generated when absent.");
}

/** An epoch-seconds field defaulting to now (py-tars `default_factory=time.time`). */
export function epochSecondsField(description: string): z.ZodDefault<z.ZodNumber> {
  const field = z.number().default(() => epochSeconds()).meta({ description });
  generatedDefaults.add(field, { generated: "now (epoch seconds)" });
  return field;
}

/** A JSON object with arbitrary keys (py-tars `dict` / `dict[str, Any]`). */
export function jsonObject(): z.ZodRecord<z.ZodString, z.ZodUnknown> {
  return z.record(z.string(), z.unknown());
}

/** A JSON object defaulting to `{}` (py-tars `Field(default_factory=dict)`). */
export function jsonObjectDefaultEmpty(): z.ZodDefault<z.ZodRecord<z.ZodString, z.ZodUnknown>> {
  return jsonObject().default(() => ({}));
}
