/**
 * Speech-to-text payloads: `stt/final`, `stt/partial` and `stt/vad`.
 *
 * @module
 */
import { z } from "zod";
import { lazySchema } from "../lazy_schema.ts";
import { epochSecondsField, idString, labelString, messageIdField, textString } from "./common.ts";

function transcriptShape(isFinal: boolean) {
  return {
    message_id: messageIdField(),
    text: textString().meta({ description: "The transcribed text." }),
    lang: labelString().default("en"),
    confidence: z.number().min(0).max(1).nullish().meta({
      description: "Recogniser confidence 0..1 (py-tars: Whisper's language probability).",
    }),
    utt_id: idString().nullish().meta({ description: "Utterance id, when known." }),
    ts: epochSecondsField("When the utterance was transcribed (epoch seconds)."),
    is_final: z.boolean().default(isFinal),
  };
}

/** FinalTranscript: a finished utterance, published by stt-worker on `stt/final`. */
export const FinalTranscript = lazySchema(() =>
  z.strictObject(transcriptShape(true)).meta({
    title: "FinalTranscript",
    description: "A finished utterance.",
  })
);
/** A parsed {@linkcode FinalTranscript}. */
export type FinalTranscript = z.output<typeof FinalTranscript>;

/** PartialTranscript: text of an utterance still in progress, on `stt/partial`. */
export const PartialTranscript = lazySchema(() =>
  z.strictObject(transcriptShape(false)).meta({
    title: "PartialTranscript",
    description: "Text of an utterance still in progress.",
  })
);
/** A parsed {@linkcode PartialTranscript}. */
export type PartialTranscript = z.output<typeof PartialTranscript>;

/** The voice activity events of {@linkcode SpeechActivity}. */
export const SPEECH_ACTIVITY_EVENTS = ["speech_start", "speech_end"] as const;
/** One of {@linkcode SPEECH_ACTIVITY_EVENTS}. */
export type SpeechActivityEvent = typeof SPEECH_ACTIVITY_EVENTS[number];

/** Why an utterance ended ({@linkcode SpeechActivity} `reason` of a `speech_end`). */
export const SPEECH_END_REASONS = ["silence", "max_length", "flush", "blip", "muted"] as const;
/** One of {@linkcode SPEECH_END_REASONS}. */
export type SpeechEndReason = typeof SPEECH_END_REASONS[number];

/**
 * SpeechActivity: stt-worker's voice activity detector saw an utterance start or end while
 * the microphone was listening, on `stt/vad`. Not in py-tars: wake-activation uses it to hold
 * the wake session open while the user is still speaking.
 */
export const SpeechActivity = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    event: z.enum(SPEECH_ACTIVITY_EVENTS),
    utt_id: z.string().min(1).max(64).meta({
      description: "Utterance id; the stt/final of this utterance carries the same utt_id.",
    }),
    max_ms: z.int().min(0).max(600_000).nullish().meta({
      description: "speech_start: the longest the utterance can last (UTTERANCE_MAX_SEC × 1000).",
    }),
    reason: z.enum(SPEECH_END_REASONS).nullish().meta({
      description: "speech_end: silence, max_length, flush (end of audio), blip (too short to " +
        "transcribe) or muted (dropped by a mute).",
    }),
    duration_ms: z.number().min(0).max(600_000).nullish().meta({
      description: "speech_end: length of the utterance audio (of its voiced part for a blip), ms.",
    }),
    ts: epochSecondsField("When it happened (epoch seconds)."),
  }).meta({
    title: "SpeechActivity",
    description: "An utterance started or ended in stt-worker's voice activity detector.",
  })
);
/** A parsed {@linkcode SpeechActivity}. */
export type SpeechActivity = z.output<typeof SpeechActivity>;
