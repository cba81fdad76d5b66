/**
 * Conversation turns as timelines, without I/O: ui-web feeds it the messages of a turn
 * (wake/event, stt/vad, stt/final, llm/request, llm/stream, tts/say, tts/audio, tts/status)
 * with their envelope `ts`, and gets back the updated {@linkcode TurnTiming} of the turn each
 * message belongs to. The dashboard draws the timelines as a waterfall; a finished one is
 * published on `system/turn`.
 *
 * The messages are tied together by the ids they already carry:
 *
 * - stt/vad and stt/final share `utt_id` (the turn id); a typed transcript without one uses its
 *   `message_id`;
 * - llm/request's envelope id is the transcript's `message_id`, its `id` (the request id) is
 *   `utt_id` or a new one, and llm/stream, tts/say (`utt_id`), tts/audio and tts/status carry
 *   that request id;
 * - a rule reply (no LLM) is a tts/say without `utt_id` whose `stt_ts` is the transcript's
 *   `ts`; tts-worker then speaks it under a made-up utterance id, so its audio and status are
 *   given to the newest turn still waiting for them;
 * - a wake/event `wake` belongs to the next utterance starting within
 *   {@linkcode WAKE_LINK_MS}.
 *
 * Times are the publishers' clocks (every service runs on one machine), not ui-web's receive
 * times, so ui-web's own queues do not stretch the stages.
 *
 * @module
 */
import type {
  FinalTranscript,
  LLMRequest,
  LLMStreamDelta,
  SpeechActivity,
  TtsSay,
  TtsStatus,
  TurnMark,
  TurnStage,
  TurnTiming,
  WakeEvent,
} from "../../core/mod.ts";

/** A turn's timeline: the `system/turn` payload without its message id. */
export type TurnTimeline = Omit<TurnTiming, "message_id">;

/** One message of a turn, as the tracer needs it; `ts` is the envelope ts, epoch seconds. */
export type TraceEvent =
  | { readonly kind: "wake"; readonly ts: number; readonly type: string }
  | {
    readonly kind: "vad";
    readonly ts: number;
    readonly event: "speech_start" | "speech_end";
    readonly uttId: string;
    readonly reason?: string | null;
  }
  | {
    readonly kind: "final";
    readonly ts: number;
    readonly messageId: string;
    readonly uttId?: string | null;
    readonly sttTs?: number | null;
    readonly text: string;
  }
  | {
    readonly kind: "llm_request";
    readonly ts: number;
    readonly envelopeId: string;
    readonly requestId: string;
  }
  | {
    readonly kind: "llm_stream";
    readonly ts: number;
    readonly requestId: string;
    readonly text: string;
  }
  | {
    readonly kind: "say";
    readonly ts: number;
    readonly uttId?: string | null;
    readonly sttTs?: number | null;
    readonly wakeAck?: boolean | null;
    readonly systemAnnounce?: boolean | null;
  }
  | { readonly kind: "audio"; readonly ts: number; readonly uttId: string }
  | {
    readonly kind: "tts_status";
    readonly ts: number;
    readonly event: string;
    readonly uttId?: string | null;
  };

/** What a converter needs of a message's envelope: its id and its `ts` (epoch seconds). */
export interface TracedEnvelope {
  /** The envelope id. */
  readonly id: string;
  /** The publisher's clock when it was sent, epoch seconds. */
  readonly ts: number;
}

/** Turns one payload of a topic into the tracer's event; `null` when it is not one. */
export type TraceConverter<P> = (payload: P, envelope: TracedEnvelope) => TraceEvent | null;

/**
 * The fields of a tts/audio chunk the tracer reads. ui-web receives the chunks unvalidated
 * (it looks the row up by event type), so they are `unknown` here.
 */
export interface TracedAudioChunk {
  /** Position in the utterance; the chunk with 0 is the first audio. */
  readonly seq?: unknown;
  /** The utterance (request) id. */
  readonly utt_id?: unknown;
}

/**
 * One converter per traced topic, keyed like the topic table (`topics.sttVad` →
 * `traceConverters.sttVad`): the single mapping from bus messages to {@linkcode TraceEvent}s,
 * shared by ui-web's bridge and `bench/loop.ts`.
 */
export const traceConverters: {
  readonly wakeEvent: TraceConverter<Pick<WakeEvent, "type">>;
  readonly sttVad: TraceConverter<Pick<SpeechActivity, "event" | "utt_id" | "reason">>;
  readonly sttFinal: TraceConverter<Pick<FinalTranscript, "utt_id" | "ts" | "text">>;
  readonly llmRequest: TraceConverter<Pick<LLMRequest, "id">>;
  readonly llmStream: TraceConverter<Pick<LLMStreamDelta, "id" | "delta">>;
  readonly ttsSay: TraceConverter<
    Pick<TtsSay, "utt_id" | "stt_ts" | "wake_ack" | "system_announce">
  >;
  readonly ttsStatus: TraceConverter<Pick<TtsStatus, "event" | "utt_id">>;
  readonly ttsAudio: TraceConverter<TracedAudioChunk>;
} = {
  wakeEvent: (p, e) => ({ kind: "wake", ts: e.ts, type: p.type }),
  sttVad: (p, e) => ({ kind: "vad", ts: e.ts, event: p.event, uttId: p.utt_id, reason: p.reason }),
  sttFinal: (p, e) => ({
    kind: "final",
    ts: e.ts,
    messageId: e.id,
    uttId: p.utt_id,
    sttTs: p.ts,
    text: p.text,
  }),
  llmRequest: (p, e) => ({ kind: "llm_request", ts: e.ts, envelopeId: e.id, requestId: p.id }),
  llmStream: (p, e) => ({ kind: "llm_stream", ts: e.ts, requestId: p.id, text: p.delta ?? "" }),
  ttsSay: (p, e) => ({
    kind: "say",
    ts: e.ts,
    uttId: p.utt_id,
    sttTs: p.stt_ts,
    wakeAck: p.wake_ack,
    systemAnnounce: p.system_announce,
  }),
  ttsStatus: (p, e) => ({ kind: "tts_status", ts: e.ts, event: p.event, uttId: p.utt_id }),
  ttsAudio: (p, e) =>
    p.seq === 0 && typeof p.utt_id === "string"
      ? { kind: "audio", ts: e.ts, uttId: p.utt_id }
      : null,
};

/**
 * Ids a turn is found by, at most (utterance, transcript, stt_ts, request ids): a publisher
 * repeating llm/requests for one transcript cannot grow the index without bound.
 */
export const MAX_KEYS_PER_TURN = 8;

/** A wake word starts the turn of an utterance that starts at most this long after it, ms. */
export const WAKE_LINK_MS = 15_000;

/** The stages and the marks they run between, in waterfall order. */
export const STAGE_SPANS: ReadonlyArray<
  { readonly stage: TurnStage; readonly from: TurnMark; readonly to: TurnMark }
> = [
  { stage: "listen", from: "wake", to: "speech_start" },
  { stage: "speech", from: "speech_start", to: "speech_end" },
  { stage: "stt", from: "speech_end", to: "stt_final" },
  { stage: "route", from: "stt_final", to: "decision" },
  { stage: "llm", from: "llm_request", to: "first_token" },
  { stage: "sentence", from: "first_token", to: "first_sentence" },
  { stage: "tts", from: "first_sentence", to: "first_audio" },
  { stage: "playback", from: "playback_start", to: "playback_end" },
];

/** What {@linkcode TurnTracer.add} did. */
export interface TraceUpdate {
  /** The turn as it is now. */
  readonly turn: TurnTimeline;
  /** This message ended the reply's playback for the first time: publish the turn. */
  readonly finished: boolean;
}

interface Turn {
  id: string;
  text: string | null;
  decision: "llm" | "rule" | null;
  marks: Partial<Record<TurnMark, number>>; // epoch ms
  done: boolean;
  keys: string[];
  anonymousReply: boolean;
}

/** Assembles turn timelines from messages; keeps the last `maxTurns` turns. */
export class TurnTracer {
  readonly #max: number;
  readonly #turns: Turn[] = [];
  readonly #index = new Map<string, Turn>();
  #wakeMs: number | null = null;

  /** Builds an empty tracer keeping at most `maxTurns` turns. */
  constructor(maxTurns = 20) {
    this.#max = Math.max(1, maxTurns);
  }

  /** Applies one message; `null` when it belongs to no turn (or changes nothing). */
  add(event: TraceEvent): TraceUpdate | null {
    const ms = event.ts * 1000;
    switch (event.kind) {
      case "wake":
        if (event.type === "wake") this.#wakeMs = ms;
        return null;
      case "vad": {
        if (event.event === "speech_start") {
          const turn = this.#find(`utt:${event.uttId}`) ?? this.#open(event.uttId, ms);
          this.#key(turn, `utt:${event.uttId}`);
          return this.#mark(turn, "speech_start", ms);
        }
        const turn = this.#find(`utt:${event.uttId}`);
        if (!turn) return null;
        if (event.reason === "blip" || event.reason === "muted") {
          this.#drop(turn); // nothing will be transcribed
          return null;
        }
        return this.#mark(turn, "speech_end", ms);
      }
      case "final": {
        const byUtt = event.uttId ? this.#find(`utt:${event.uttId}`) : undefined;
        const turn = byUtt ?? this.#open(event.uttId || event.messageId, ms);
        if (event.uttId) this.#key(turn, `utt:${event.uttId}`);
        this.#key(turn, `msg:${event.messageId}`);
        if (event.sttTs != null) this.#key(turn, `stt:${event.sttTs}`);
        turn.text = event.text;
        return this.#mark(turn, "stt_final", ms);
      }
      case "llm_request": {
        const turn = this.#find(`msg:${event.envelopeId}`) ?? this.#find(`utt:${event.requestId}`);
        if (!turn) return null;
        this.#key(turn, `req:${event.requestId}`);
        turn.decision = "llm";
        this.#mark(turn, "decision", ms);
        return this.#mark(turn, "llm_request", ms);
      }
      case "llm_stream": {
        if (event.text === "") return null;
        const turn = this.#find(`req:${event.requestId}`);
        return turn ? this.#mark(turn, "first_token", ms) : null;
      }
      case "say": {
        if (event.wakeAck || event.systemAnnounce) return null;
        let turn = event.uttId ? this.#find(`req:${event.uttId}`) : undefined;
        if (!turn && event.sttTs != null) {
          turn = this.#find(`stt:${event.sttTs}`);
          if (turn && !event.uttId) turn.anonymousReply = true;
        }
        if (!turn) return null;
        if (turn.decision === null) {
          turn.decision = "rule";
          this.#mark(turn, "decision", ms);
        }
        return this.#mark(turn, "first_sentence", ms);
      }
      case "audio": {
        const turn = this.#find(`req:${event.uttId}`) ?? this.#claimAnonymous(event.uttId);
        return turn ? this.#mark(turn, "first_audio", ms) : null;
      }
      case "tts_status": {
        const turn = event.uttId
          ? this.#find(`req:${event.uttId}`)
          : this.#newest((t) => t.anonymousReply);
        if (!turn) return null;
        if (event.event === "speaking_start") return this.#mark(turn, "playback_start", ms);
        if (event.event !== "speaking_end" && event.event !== "stopped") return null;
        turn.marks.playback_end = Math.max(ms, turn.marks.playback_end ?? ms);
        const finished = !turn.done;
        turn.done = true;
        return { turn: timing(turn), finished };
      }
    }
  }

  /** The kept turns, oldest first. */
  turns(): TurnTimeline[] {
    return this.#turns.map(timing);
  }

  #open(id: string, ms: number): Turn {
    const turn: Turn = {
      id,
      text: null,
      decision: null,
      marks: {},
      done: false,
      keys: [],
      anonymousReply: false,
    };
    if (this.#wakeMs !== null && ms - this.#wakeMs >= 0 && ms - this.#wakeMs <= WAKE_LINK_MS) {
      turn.marks.wake = this.#wakeMs;
      this.#wakeMs = null;
    }
    this.#turns.push(turn);
    while (this.#turns.length > this.#max) this.#drop(this.#turns[0]);
    return turn;
  }

  #drop(turn: Turn): void {
    const i = this.#turns.indexOf(turn);
    if (i >= 0) this.#turns.splice(i, 1);
    for (const key of turn.keys) if (this.#index.get(key) === turn) this.#index.delete(key);
  }

  #find(key: string): Turn | undefined {
    return this.#index.get(key);
  }

  #key(turn: Turn, key: string): void {
    if (this.#index.get(key) === turn || turn.keys.length >= MAX_KEYS_PER_TURN) return;
    this.#index.set(key, turn);
    turn.keys.push(key);
  }

  #newest(test: (turn: Turn) => boolean): Turn | undefined {
    return this.#turns.findLast(test);
  }

  /** tts-worker's made-up utterance id of a rule reply: the newest turn still waiting. */
  #claimAnonymous(uttId: string): Turn | undefined {
    const turn = this.#newest((t) => t.anonymousReply && t.marks.first_audio === undefined);
    if (turn) this.#key(turn, `req:${uttId}`);
    return turn;
  }

  /** Sets a mark the first time it is seen. */
  #mark(turn: Turn, mark: TurnMark, ms: number): TraceUpdate | null {
    if (turn.marks[mark] !== undefined) return null;
    turn.marks[mark] = ms;
    return { turn: timing(turn), finished: false };
  }
}

/** The wire form of a turn: marks and stages in ms after its first mark. */
function timing(turn: Turn): TurnTimeline {
  const values = Object.values(turn.marks) as number[];
  const start = values.length > 0 ? Math.min(...values) : 0;
  const marks: Partial<Record<TurnMark, number>> = {};
  for (const [mark, ms] of Object.entries(turn.marks) as [TurnMark, number][]) {
    marks[mark] = round(ms - start);
  }
  const stages: TurnTimeline["stages"] = [];
  for (const span of STAGE_SPANS) {
    const from = turn.marks[span.from];
    const to = turn.marks[span.to];
    if (from === undefined || to === undefined) continue;
    stages.push({
      stage: span.stage,
      start_ms: round(from - start),
      ms: round(Math.max(0, to - from)),
    });
  }
  const heard = turn.marks.first_audio;
  const ended = turn.marks.speech_end ?? turn.marks.stt_final;
  return {
    turn_id: turn.id,
    text: turn.text,
    decision: turn.decision,
    started: start / 1000,
    marks,
    stages,
    response_ms: heard !== undefined && ended !== undefined
      ? round(Math.max(0, heard - ended))
      : null,
    done: turn.done,
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
