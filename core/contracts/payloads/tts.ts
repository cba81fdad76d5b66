/**
 * Text-to-speech payloads: `tts/say`, `tts/status` and `tts/control`.
 *
 * @module
 */
import { z } from "zod";
import { lazySchema } from "../lazy_schema.ts";
import {
  base64String,
  detailString,
  epochSecondsField,
  idString,
  labelString,
  longTextString,
  messageIdField,
} from "./common.ts";

/** TtsSay: asks tts-worker to speak `text`, on `tts/say`. */
export const TtsSay = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    text: longTextString().meta({
      description: "Text to speak (markdown is reduced to plain text).",
    }),
    voice: labelString().nullish(),
    lang: labelString().nullish(),
    utt_id: idString().nullish().meta({
      description: "Utterance id; sentences sharing it may be aggregated.",
    }),
    style: labelString().nullish(),
    stt_ts: z.number().nullish().meta({ description: "`ts` of the transcript that caused it." }),
    wake_ack: z.boolean().nullish().meta({ description: 'A wake acknowledgement ("Yes?").' }),
    system_announce: z.boolean().nullish().meta({
      description: "A system announcement: opens no response window.",
    }),
  }).meta({ title: "TtsSay", description: "Text for tts-worker to speak." })
);
/** A parsed {@linkcode TtsSay}. */
export type TtsSay = z.output<typeof TtsSay>;

/** The `event` values of {@linkcode TtsStatus}. */
export const TTS_STATUS_EVENTS = [
  "speaking_start",
  "speaking_end",
  "paused",
  "resumed",
  "stopped",
] as const;
/** One of {@linkcode TTS_STATUS_EVENTS}. */
export type TtsStatusEvent = typeof TTS_STATUS_EVENTS[number];

/** TtsStatus: a playback transition of tts-worker, on `tts/status`. */
export const TtsStatus = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    event: z.enum(TTS_STATUS_EVENTS),
    text: longTextString().default(""),
    timestamp: epochSecondsField("When the transition happened (epoch seconds)."),
    utt_id: idString().nullish(),
    reason: detailString().nullish().meta({
      description: "Why playback ended early, e.g. the stop reason.",
    }),
    wake_ack: z.boolean().nullish(),
    system_announce: z.boolean().nullish(),
  }).meta({ title: "TtsStatus", description: "A playback transition of tts-worker." })
);
/** A parsed {@linkcode TtsStatus}. */
export type TtsStatus = z.output<typeof TtsStatus>;

/** The actions of {@linkcode TtsControl}. */
export const TTS_CONTROL_ACTIONS = ["pause", "resume", "stop"] as const;
/** One of {@linkcode TTS_CONTROL_ACTIONS}. */
export type TtsControlAction = typeof TTS_CONTROL_ACTIONS[number];

/**
 * TtsControl: pauses, resumes or stops playback, on `tts/control`. Accepts both py-tars
 * shapes: wake-activation's enveloped `{action, reason, id}` and the raw JSON tts-worker
 * parses. `message_id` is optional and not generated, since neither shape has it.
 */
export const TtsControl = lazySchema(() =>
  z.strictObject({
    message_id: idString().nullish(),
    action: z.enum(TTS_CONTROL_ACTIONS),
    reason: labelString().nullish().meta({
      description: "Why, e.g. wake_interrupt, wake_resume, wake_cancel.",
    }),
    id: idString().nullish().meta({
      description: "Utterance id to control; ignored by tts-worker when it is not the current one.",
    }),
  }).meta({ title: "TtsControl", description: "Pause, resume or stop TTS playback." })
);
/** A parsed {@linkcode TtsControl}. */
export type TtsControl = z.output<typeof TtsControl>;

/** The sample formats of {@linkcode TtsAudioChunk}: 16-bit signed little-endian PCM. */
export const TTS_AUDIO_FORMATS = ["pcm_s16le"] as const;

/**
 * Base64 characters of a {@linkcode TtsAudioChunk} at most: 1 s (TTS_CHUNK_MS <= 1000) of
 * 48 kHz PCM16 mono is 96 000 bytes, 128 000 in base64.
 */
export const TTS_AUDIO_DATA_MAX = 200_000;

/**
 * TtsAudioChunk: about 100 ms of synthesized speech for a remote speaker (ui-web's browser
 * player), on `tts/audio`. Chunks of one utterance share `utt_id` and count `seq` up from 0;
 * the last one has `final: true` (its `data` may be empty, e.g. after a stop).
 */
export const TtsAudioChunk = lazySchema(() =>
  z.strictObject({
    utt_id: idString().meta({ description: "Utterance the chunk belongs to." }),
    seq: z.int().min(0).meta({ description: "Position in the utterance, from 0." }),
    sample_rate: z.int().min(1).meta({ description: "Samples per second, e.g. 22050." }),
    channels: z.literal(1).meta({ description: "Always mono." }),
    format: z.enum(TTS_AUDIO_FORMATS),
    data: base64String(TTS_AUDIO_DATA_MAX, "Base64 of the PCM16LE mono samples."),
    final: z.boolean().meta({ description: "The last chunk of the utterance." }),
    synthesis_ms: z.number().min(0).nullish().meta({
      description: "First chunk only: how long the engine took to synthesize the audio that " +
        "starts the utterance, ms (absent for cached phrases). For latency traces.",
    }),
  }).meta({ title: "TtsAudioChunk", description: "A chunk of synthesized speech audio." })
);
/** A parsed {@linkcode TtsAudioChunk}. */
export type TtsAudioChunk = z.output<typeof TtsAudioChunk>;
