/**
 * Home Assistant's commands are plain text (its defaults: the text typed, a button's
 * `payload_press`, `ON`/`OFF`, a number). These functions turn one into the TARS contract it
 * stands for, or say why not; the service then publishes it through the topic table, which
 * validates it again with the contract's schema.
 *
 * @module
 */
import {
  type CharacterTraitUpdate,
  type LiveModeCommand,
  TEST_MOVEMENT_COMMANDS,
  type TestMovementCommand,
} from "../../core/mod.ts";
import { HA_STATE_MAX, MOVEMENT_BUTTONS, TRAIT_RANGE } from "./entities.ts";

/** A parsed command, or why it was refused. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The payload as text, or `null` when it is not UTF-8. */
export function decodeText(bytes: Uint8Array): string | null {
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

function text(bytes: Uint8Array): Parsed<string> {
  const value = decodeText(bytes);
  return value === null ? { ok: false, reason: "not UTF-8 text" } : { ok: true, value };
}

/** The text entity: 1..255 characters to speak (control characters dropped). */
export function parseSay(bytes: Uint8Array): Parsed<{ text: string }> {
  const t = text(bytes);
  if (!t.ok) return t;
  // deno-lint-ignore no-control-regex
  const clean = t.value.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  if (clean === "") return { ok: false, reason: "nothing to say" };
  if (clean.length > HA_STATE_MAX) {
    return { ok: false, reason: `longer than ${HA_STATE_MAX} characters` };
  }
  return { ok: true, value: { text: clean } };
}

/** A movement button: the name of one of {@linkcode MOVEMENT_BUTTONS}. */
export function parseMove(bytes: Uint8Array): Parsed<{ command: TestMovementCommand }> {
  const t = text(bytes);
  if (!t.ok) return t;
  const name = t.value.trim();
  const command = TEST_MOVEMENT_COMMANDS.find((c) => c === name);
  if (!command || !MOVEMENT_BUTTONS.includes(command)) {
    return { ok: false, reason: `"${name.slice(0, 40)}" is not a movement button` };
  }
  return { ok: true, value: { command } };
}

/** The live-mode switch: `ON` or `OFF`. */
export function parseLive(bytes: Uint8Array): Parsed<LiveModeCommand> {
  const t = text(bytes);
  if (!t.ok) return t;
  const value = t.value.trim().toUpperCase();
  if (value === "ON") return { ok: true, value: { enabled: true } };
  if (value === "OFF") return { ok: true, value: { enabled: false } };
  return { ok: false, reason: "expected ON or OFF" };
}

/** A trait's number: 0..100, rounded to a whole number. */
export function parseTrait(
  trait: string,
  bytes: Uint8Array,
): Parsed<Pick<CharacterTraitUpdate, "trait" | "value">> {
  const t = text(bytes);
  if (!t.ok) return t;
  const trimmed = t.value.trim();
  const number = trimmed === "" ? NaN : Number(trimmed);
  if (!Number.isFinite(number) || number < TRAIT_RANGE.min || number > TRAIT_RANGE.max) {
    return { ok: false, reason: `expected a number ${TRAIT_RANGE.min}..${TRAIT_RANGE.max}` };
  }
  return { ok: true, value: { trait, value: Math.round(number) } };
}
