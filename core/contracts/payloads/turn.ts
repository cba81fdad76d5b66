/**
 * The timeline of one conversation turn, published by ui-web on `system/turn` when the reply
 * finished playing (new in TARS-Deno; py-tars has no trace). The marks are the envelope `ts`
 * of the messages that make up the turn (publisher clocks: every service runs on one
 * machine), as milliseconds after the turn's first mark.
 *
 * @module
 */
import { z } from "zod";
import { lazySchema } from "../lazy_schema.ts";
import { epochSecondsField, idString, messageIdField, textString } from "./common.ts";

/** The points of a turn, in the order they normally happen. */
export const TURN_MARKS = [
  "wake",
  "speech_start",
  "speech_end",
  "stt_final",
  "decision",
  "llm_request",
  "first_token",
  "first_sentence",
  "playback_start",
  "first_audio",
  "playback_end",
] as const;
/** One of {@linkcode TURN_MARKS}. */
export type TurnMark = typeof TURN_MARKS[number];

/** The stages of a turn: each runs from one mark to a later one. */
export const TURN_STAGES = [
  "listen",
  "speech",
  "stt",
  "route",
  "llm",
  "sentence",
  "tts",
  "playback",
] as const;
/** One of {@linkcode TURN_STAGES}. */
export type TurnStage = typeof TURN_STAGES[number];

/** How the router answered the turn. */
export const TURN_DECISIONS = ["llm", "rule"] as const;

const offsetMs = z.number().min(0).max(3_600_000);

/** TurnTiming: one turn's marks and stage durations, on `system/turn`. */
export const TurnTiming = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    turn_id: idString().meta({
      description: "The utterance id (stt/vad, stt/final utt_id), else the transcript's id.",
    }),
    text: textString().nullish().meta({ description: "What the user said (stt/final)." }),
    decision: z.enum(TURN_DECISIONS).nullish().meta({
      description: "llm: an llm/request was sent; rule: the router answered itself.",
    }),
    started: epochSecondsField("Epoch seconds of the first mark (publisher clock)."),
    marks: z.partialRecord(z.enum(TURN_MARKS), offsetMs).meta({
      description: "Each mark seen, ms after `started`.",
    }),
    stages: z.array(z.strictObject({
      stage: z.enum(TURN_STAGES),
      start_ms: offsetMs,
      ms: offsetMs,
    })).max(TURN_STAGES.length).meta({
      description: "Each stage whose two marks were seen: start (ms after `started`) and length.",
    }),
    response_ms: offsetMs.nullish().meta({
      description: "End of speech (else the transcript) to the first audio chunk, ms: the gap " +
        "the user hears.",
    }),
    done: z.boolean().meta({ description: "Playback of the reply ended." }),
  }).meta({ title: "TurnTiming", description: "The timeline of one conversation turn." })
);
/** A parsed {@linkcode TurnTiming}. */
export type TurnTiming = z.output<typeof TurnTiming>;
