/**
 * Wake-word payloads: `wake/event` and `wake/mic`.
 *
 * @module
 */
import { z } from "zod";
import { lazySchema } from "../lazy_schema.ts";
import { idString, labelString, messageIdField } from "./common.ts";

/** The wake event types wake-activation sends (`WakeEvent.type` accepts any string). */
export const WAKE_EVENT_TYPES = [
  "wake",
  "interrupt",
  "timeout",
  "resume",
  "cancelled",
  "error",
] as const;
/** One of {@linkcode WAKE_EVENT_TYPES}. */
export type WakeEventType = typeof WAKE_EVENT_TYPES[number];

/**
 * WakeEvent: a wake lifecycle event on `wake/event`. `ts` is whatever clock the sender
 * uses: py-tars wake-activation sends `time.monotonic()`, not epoch seconds.
 */
export const WakeEvent = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    type: labelString().min(1).meta({
      description: "wake, interrupt, timeout, resume, cancelled or error (any string accepted).",
    }),
    tts_id: idString().nullish().meta({
      description: "Utterance id of the TTS being interrupted.",
    }),
    confidence: z.number().min(0).max(1).nullish().meta({ description: "Detector score 0..1." }),
    energy: z.number().min(0).nullish().meta({ description: "Audio energy (RMS) at detection." }),
    cause: labelString().nullish().meta({
      description: "Why: wake_phrase, double_wake, silence, timeout...",
    }),
    ts: z.number().nullish().meta({
      description: "Seconds on the sender's clock (py-tars: monotonic).",
    }),
  }).meta({ title: "WakeEvent", description: "A wake lifecycle event." })
);
/** A parsed {@linkcode WakeEvent}. */
export type WakeEvent = z.output<typeof WakeEvent>;

/** The microphone actions of {@linkcode WakeMicCommand}. */
export const WAKE_MIC_ACTIONS = ["mute", "unmute"] as const;
/** One of {@linkcode WAKE_MIC_ACTIONS}. */
export type WakeMicAction = typeof WAKE_MIC_ACTIONS[number];

/**
 * WakeMicCommand: mutes or unmutes the STT microphone, on `wake/mic` (event type
 * `mic.control` on the wire).
 */
export const WakeMicCommand = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    action: z.enum(WAKE_MIC_ACTIONS),
    reason: labelString().default("wake"),
    ttl_ms: z.int().min(0).nullish().meta({
      description: "Revert the action after this many ms; absent/null = keep.",
    }),
  }).meta({ title: "WakeMicCommand", description: "Mute or unmute the STT microphone." })
);
/** A parsed {@linkcode WakeMicCommand}. */
export type WakeMicCommand = z.output<typeof WakeMicCommand>;
