/**
 * Field builders shared by the payload schemas: ids and clocks with py-tars' generated
 * defaults, optional-`None` fields and free-form objects.
 *
 * @module
 */
import { z } from "zod";
import { epochSeconds, newMessageId } from "../envelope.ts";

/**
 * Registry of fields whose default is computed at parse time (ids, clocks). The docs
 * generator uses it to print "generated" instead of a random sample value.
 */
export const generatedDefaults: z.core.$ZodRegistry<{ generated: string }> = z.registry<
  { generated: string }
>();

/** A string field defaulting to a new uuid4 hex (py-tars `default_factory=uuid4().hex`). */
export function uuidHexField(description: string): z.ZodDefault<z.ZodString> {
  const field = z.string().default(() => newMessageId()).meta({ description });
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
