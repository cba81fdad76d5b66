/**
 * Speech-to-text payloads: `stt/final` and `stt/partial`.
 *
 * @module
 */
import { z } from "zod";
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
export const FinalTranscript = z.strictObject(transcriptShape(true)).meta({
  title: "FinalTranscript",
  description: "A finished utterance.",
});
/** A parsed {@linkcode FinalTranscript}. */
export type FinalTranscript = z.output<typeof FinalTranscript>;

/** PartialTranscript: text of an utterance still in progress, on `stt/partial`. */
export const PartialTranscript = z.strictObject(transcriptShape(false)).meta({
  title: "PartialTranscript",
  description: "Text of an utterance still in progress.",
});
/** A parsed {@linkcode PartialTranscript}. */
export type PartialTranscript = z.output<typeof PartialTranscript>;
