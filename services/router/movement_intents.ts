/**
 * Spoken movement commands: "wave", "take a bow", "turn left please" → the py-tars
 * movement/test command names; "stop" / "halt" → movement/stop. A command matches only when
 * the whole utterance, without filler words ("please", "can you", "at me"), is one of its
 * phrases, so "I know", "elbow" or "what time is it now" never move the robot (py-tars
 * matched raw substrings and then crashed on publish).
 *
 * @module
 */
import type { TestMovementCommand } from "../../core/mod.ts";
import { commandCore, normalize } from "./text.ts";

/** The phrases of each movement/test command (py-tars' table, a few variants added). */
export const MOVEMENT_PHRASES: Readonly<Partial<Record<TestMovementCommand, readonly string[]>>> = {
  wave: ["wave", "wave your hand", "wave hello", "wave hi", "wave goodbye"],
  laugh: ["laugh", "do a laugh", "laugh animation"],
  bow: ["bow", "take a bow", "bow down"],
  swing_legs: ["swing legs", "swing your legs", "leg swing"],
  balance: ["balance", "stand up", "balance yourself"],
  pose: ["pose", "strike a pose", "do a pose"],
  step_forward: ["step forward", "walk forward", "move forward"],
  step_backward: [
    "step backward",
    "step backwards",
    "step back",
    "walk backward",
    "walk backwards",
    "move back",
    "move backward",
  ],
  turn_left: ["turn left", "rotate left"],
  turn_right: ["turn right", "rotate right"],
  reset: ["reset", "reset position", "go to reset"],
  disable: ["disable", "turn off", "power down"],
  mic_drop: ["mic drop", "drop the mic", "do a mic drop"],
  monster: ["monster", "monster pose"],
  pezz_dispenser: ["pez", "pez dispenser", "pezz"],
  now: ["now", "now pose"],
};

/** Phrases that stop all movement (movement/stop). */
export const STOP_PHRASES: readonly string[] = ["stop", "stop moving", "stop it", "halt", "freeze"];

/** A recognised movement intent. */
export type MovementIntent =
  | { readonly kind: "command"; readonly command: TestMovementCommand }
  | { readonly kind: "stop" };

const COMMAND_BY_PHRASE = new Map<string, TestMovementCommand>();
for (const [command, phrases] of Object.entries(MOVEMENT_PHRASES)) {
  for (const phrase of phrases ?? []) {
    COMMAND_BY_PHRASE.set(normalize(phrase), command as TestMovementCommand);
  }
}
const STOPS = new Set(STOP_PHRASES.map(normalize));

/** The movement intent of an utterance (wake phrase already removed), or `null`. */
export function matchMovementIntent(text: string): MovementIntent | null {
  const core = commandCore(text);
  if (core === "") return null;
  if (STOPS.has(core)) return { kind: "stop" };
  const command = COMMAND_BY_PHRASE.get(core);
  return command ? { kind: "command", command } : null;
}
