/**
 * The router's brain as a state machine without I/O: it is driven by the decoded inputs
 * (stt/final, wake/event, tts/status, llm/stream, llm/response, llm/cancel, health,
 * movement/status) and a clock, and answers through {@linkcode RouterOutputs}. The MQTT
 * wiring is `service.ts`; tests drive this class directly with a fake clock.
 *
 * Fixes against py-tars (§4.2): the wake phrase is really stripped; rules and movement
 * intents match whole utterances; movement commands are published (py-tars crashed); the
 * response window is not opened by system announcements; LLM errors and timeouts speak a
 * fallback instead of silence; streamed replies enter the bounded history; barge-in cancels
 * the active request; duplicate and out-of-order stream chunks are handled by `seq`; an
 * utterance whose speech started inside the wake or response window (stt/vad) passes the gate
 * even when its transcript arrives after the window closed.
 *
 * @module
 */
import type {
  FinalTranscript,
  HealthPing,
  LLMCancel,
  LLMResponse,
  LLMStreamDelta,
  Logger,
  MovementStatusUpdate,
  PayloadInputOf,
  SpeechActivity,
  topics,
  TtsStatus,
  WakeEvent,
} from "../../core/mod.ts";
import type { RouterConfig } from "./config.ts";
import { ConversationHistory } from "./history.ts";
import { matchMovementIntent } from "./movement_intents.ts";
import { reconcile, ReplyStream } from "./reply_stream.ts";
import { isGreeting, isTimeQuestion, matchLiveMode, sayText, timeSentence } from "./rules.ts";
import { stripWakePhrase, wakePhrasePattern } from "./text.ts";

/** What tts/say carries. */
export type SayMessage = PayloadInputOf<typeof topics.ttsSay>;
/** What llm/request carries. */
export type LlmRequestMessage = PayloadInputOf<typeof topics.llmRequest>;
/** What movement/test carries. */
export type MovementTestMessage = PayloadInputOf<typeof topics.movementTest>;

/** Where the router's decisions go (MQTT in the service, arrays in tests). */
export interface RouterOutputs {
  /** Speak (tts/say). */
  say(message: SayMessage): void;
  /** Ask the LLM (llm/request), the envelope id being `correlationId`. */
  requestLlm(message: LlmRequestMessage, correlationId: string): void;
  /** Abandon a request (llm/cancel). */
  cancelLlm(id: string): void;
  /** Run a movement command (movement/test). */
  move(message: MovementTestMessage): void;
  /** Stop all movement (movement/stop). */
  stopMovement(reason: string): void;
  /** Live mode was switched on or off, by voice or by command (router/live_mode). */
  liveModeChanged?(enabled: boolean): void;
}

/** Opaque timer handle of a {@linkcode RouterClock}. */
export type TimerHandle = unknown;

/** Utterances admitted by stt/vad that are remembered at once. */
export const MAX_ADMITTED = 16;
/** The longest utterance when a speech_start does not say (stt-worker's default). */
export const DEFAULT_MAX_UTTERANCE_MS = 20_000;

/** Time source of the router: wall clock for windows and the time rule, timers for timeouts. */
export interface RouterClock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `callback` after `ms`. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer of {@linkcode RouterClock.setTimeout}. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock. */
export const systemClock: RouterClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/** What the router did with one stt/final. */
export type RouteDecision =
  | "ignored:retained"
  | "ignored:duplicate"
  | "ignored:empty"
  | "dropped:no-wake"
  | "wake-phrase-only"
  | "live:enter"
  | "live:exit"
  | "live:already-on"
  | "live:already-off"
  | "movement"
  | "movement:stop"
  | "rule:time"
  | "rule:say"
  | "rule:greeting"
  | "llm";

/** Where an stt/final came from. */
export interface FinalMeta {
  /** The envelope `source` (e.g. `tars-stt`, `ui-web`). */
  readonly source?: string | null;
  /** Delivered as a retained message. */
  readonly retained?: boolean;
  /**
   * The envelope id. A transcript whose id was seen among the last
   * {@linkcode RECENT_FINAL_IDS} is a redelivery and is ignored, so one utterance never
   * becomes two llm/requests (nor cancels its own).
   */
  readonly id?: string | null;
}

/** How many stt/final ids the router remembers to ignore a redelivered transcript. */
export const RECENT_FINAL_IDS = 512;

/** Counters of the router. */
export interface RouterCounters {
  /** stt/final handled (any decision). */
  transcripts: number;
  /** Transcripts dropped by the gate. */
  droppedNoWake: number;
  /** Transcripts ignored because their envelope id was already handled (a redelivery). */
  duplicateTranscripts: number;
  /** Answers by a rule (time, say, greeting, live mode). */
  rules: number;
  /** movement/test and movement/stop published. */
  movements: number;
  /** llm/request published. */
  llmRequests: number;
  /** llm/response handled for an active request. */
  llmResponses: number;
  /** llm/response with `error`. */
  llmErrors: number;
  /** Requests that timed out. */
  llmTimeouts: number;
  /** Requests cancelled (barge-in, superseded, llm/cancel). */
  llmCancelled: number;
  /** tts/say published. */
  sentences: number;
  /** Stream chunks dropped as duplicates. */
  duplicateChunks: number;
  /** Stream chunks held because they came early. */
  outOfOrderChunks: number;
  /** Stream chunks or responses for unknown, finished or cancelled requests. */
  staleMessages: number;
  /** Final replies that did not match what was streamed (spoken in full). */
  desyncs: number;
}

interface ActiveRequest {
  readonly id: string;
  readonly stream: ReplyStream;
  readonly sttTs: number | undefined;
  readonly startedMs: number;
  timer: TimerHandle | undefined;
  alive: boolean;
  closed: boolean;
  streamed: boolean;
}

/** Requests remembered after they closed, to ignore their late or duplicate messages. */
const CLOSED_REQUESTS_KEPT = 64;

/** Options of {@linkcode RouterCore}. */
export interface RouterCoreOptions {
  /** Time source; default {@linkcode systemClock}. */
  readonly clock?: RouterClock;
  /** Logger; default none. */
  readonly logger?: Logger;
  /** Random source for generated ids (tests). */
  readonly randomHex?: () => string;
}

/** The router's state machine. Call {@linkcode RouterCore.dispose} to clear its timers. */
export class RouterCore {
  readonly #config: RouterConfig;
  readonly #out: RouterOutputs;
  readonly #clock: RouterClock;
  readonly #logger: Logger | undefined;
  readonly #randomHex: () => string;
  readonly #wakePattern: RegExp | null;
  readonly #history: ConversationHistory;
  readonly #requests = new Map<string, ActiveRequest>();
  /** Envelope ids of recent transcripts, oldest first (bounded). */
  readonly #recentFinalIds = new Set<string>();
  readonly #counters: RouterCounters = {
    transcripts: 0,
    droppedNoWake: 0,
    duplicateTranscripts: 0,
    rules: 0,
    movements: 0,
    llmRequests: 0,
    llmResponses: 0,
    llmErrors: 0,
    llmTimeouts: 0,
    llmCancelled: 0,
    sentences: 0,
    duplicateChunks: 0,
    outOfOrderChunks: 0,
    staleMessages: 0,
    desyncs: 0,
  };
  #active: ActiveRequest | null = null;
  #liveMode: boolean;
  #wakeUntil = 0;
  #responseUntil = 0;
  /** Utterances whose speech started with the gate open: utt_id → admitted until (clock ms). */
  readonly #admitted = new Map<string, number>();
  #ackIndex = 0;
  #ttsHealthy = false;
  #sttHealthy = false;
  #announced = false;

  /** A router with `config`, answering through `outputs`. */
  constructor(config: RouterConfig, outputs: RouterOutputs, options: RouterCoreOptions = {}) {
    this.#config = config;
    this.#out = outputs;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.#randomHex = options.randomHex ??
      (() => crypto.randomUUID().replaceAll("-", "").slice(0, 8));
    this.#wakePattern = wakePhrasePattern(config.wakePhrases);
    this.#history = new ConversationHistory(config.historyMaxMessages);
    this.#liveMode = config.liveModeDefault;
  }

  /** Whether live mode is on (every utterance passes the gate). */
  get liveMode(): boolean {
    return this.#liveMode;
  }

  /**
   * Switches live mode on or off without speaking (router/live_mode/set, e.g. Home
   * Assistant's switch). Returns whether it changed.
   */
  setLiveMode(enabled: boolean): boolean {
    if (this.#liveMode === enabled) return false;
    this.#liveMode = enabled;
    this.#logger?.info("Live mode {state} by command", { state: enabled ? "on" : "off" });
    this.#out.liveModeChanged?.(enabled);
    return true;
  }

  /** Whether the wake window is open now. */
  get wakeWindowOpen(): boolean {
    return this.#clock.now() < this.#wakeUntil;
  }

  /** Whether the response window is open now. */
  get responseWindowOpen(): boolean {
    return this.#clock.now() < this.#responseUntil;
  }

  /** Whether "System online." was spoken. */
  get announced(): boolean {
    return this.#announced;
  }

  /** The id of the LLM request being answered, if any. */
  get activeRequestId(): string | null {
    return this.#active && !this.#active.closed ? this.#active.id : null;
  }

  /** The conversation history as the next llm/request would carry it. */
  get history(): ReturnType<ConversationHistory["messages"]> {
    return this.#history.messages();
  }

  /** A copy of the counters. */
  get counters(): RouterCounters {
    return { ...this.#counters };
  }

  /** Clears every timer; the router ignores LLM timeouts afterwards. */
  dispose(): void {
    for (const request of this.#requests.values()) this.#clearTimer(request);
  }

  // ---------------------------------------------------------------- health

  /** A health message on `topic` (tts and stt health decide "System online."). */
  onHealth(topic: string, health: HealthPing): void {
    if (topic === this.#config.healthTopicTts) this.#ttsHealthy = health.ok;
    if (topic === this.#config.healthTopicStt) this.#sttHealthy = health.ok;
    if (
      this.#config.onlineAnnounce && !this.#announced && this.#ttsHealthy && this.#sttHealthy
    ) {
      this.#announced = true;
      this.#speak(this.#config.onlineAnnounceText, {
        utt_id: "boot",
        style: "neutral",
        system_announce: true,
      });
    }
  }

  // ---------------------------------------------------------------- wake and tts

  /** A wake/event. */
  onWake(event: WakeEvent): void {
    const type = event.type.toLowerCase();
    const texts = this.#config.wakeTexts;
    switch (type) {
      case "wake": {
        this.#bargeIn("wake");
        this.#openWakeWindow();
        const acks = this.#config.wakeAcks;
        if (acks.length > 0) {
          const ack = acks[this.#ackIndex % acks.length];
          this.#ackIndex++;
          this.#speak(ack, {
            utt_id: event.tts_id ?? `wake-ack-${this.#clock.now()}`,
            style: this.#config.wakeAckStyle,
            wake_ack: true,
          });
        }
        if (texts.reprompt) this.#speak(texts.reprompt, { wake_ack: true });
        return;
      }
      case "interrupt":
        this.#bargeIn("interrupt");
        this.#openWakeWindow();
        if (texts.interrupt) this.#speak(texts.interrupt, { wake_ack: true });
        return;
      case "cancelled":
        this.#bargeIn("cancelled");
        this.#wakeUntil = 0;
        if (texts.cancel) this.#speak(texts.cancel, { wake_ack: true });
        return;
      case "resume":
        this.#wakeUntil = 0;
        if (texts.resume) this.#speak(texts.resume, { wake_ack: true });
        return;
      case "timeout":
        // The window runs out by itself: a transcript of speech that began before the
        // detector's idle timeout may still arrive after it (py-tars cut it off at 3 s).
        if (texts.timeout) this.#speak(texts.timeout, { wake_ack: true });
        return;
      default:
        return;
    }
  }

  /**
   * An stt/vad speech_start while the wake or response window is open admits that utterance:
   * its stt/final passes the gate even after the window closed (the user started speaking in
   * time; a long sentence or a slow transcriber must not lose it). The admission lasts
   * `max_ms` (the longest utterance) + the wake window; at most {@linkcode MAX_ADMITTED} are
   * kept.
   */
  onSpeechActivity(activity: Pick<SpeechActivity, "event" | "utt_id" | "max_ms">): void {
    if (activity.event !== "speech_start") return;
    const now = this.#clock.now();
    if (now >= this.#wakeUntil && now >= this.#responseUntil) return;
    for (const [id, until] of this.#admitted) if (until <= now) this.#admitted.delete(id);
    this.#admitted.delete(activity.utt_id);
    this.#admitted.set(
      activity.utt_id,
      now + (activity.max_ms ?? DEFAULT_MAX_UTTERANCE_MS) + this.#config.wakeWindowMs,
    );
    while (this.#admitted.size > MAX_ADMITTED) {
      this.#admitted.delete(this.#admitted.keys().next().value!);
    }
  }

  /** A tts/status: the end of a spoken reply opens the response window. */
  onTtsStatus(status: TtsStatus): void {
    if (status.event !== "speaking_end") return;
    if (status.wake_ack || status.system_announce) return;
    this.#responseUntil = this.#clock.now() + this.#config.responseWindowMs;
  }

  /** A movement/status (logged only). */
  onMovementStatus(status: MovementStatusUpdate): void {
    this.#logger?.debug("movement {event} {command} {detail}", {
      event: status.event,
      command: status.command ?? null,
      detail: status.detail ?? null,
    });
  }

  // ---------------------------------------------------------------- transcripts

  /** An stt/final: gate, rules, movement, else the LLM. Returns what was done. */
  onFinal(final: FinalTranscript, meta: FinalMeta = {}): RouteDecision {
    if (meta.retained) return "ignored:retained";
    if (meta.id) {
      if (this.#recentFinalIds.has(meta.id)) {
        this.#counters.duplicateTranscripts++;
        return "ignored:duplicate";
      }
      this.#recentFinalIds.add(meta.id);
      if (this.#recentFinalIds.size > RECENT_FINAL_IDS) {
        this.#recentFinalIds.delete(this.#recentFinalIds.values().next().value as string);
      }
    }
    const text = final.text.trim();
    if (text === "") return "ignored:empty";
    this.#counters.transcripts++;
    const { text: candidate, hadWakePhrase } = stripWakePhrase(text, this.#wakePattern);
    const now = this.#clock.now();
    const admittedUntil = final.utt_id ? this.#admitted.get(final.utt_id) : undefined;
    if (final.utt_id) this.#admitted.delete(final.utt_id);
    const open = this.#liveMode || now < this.#wakeUntil || now < this.#responseUntil ||
      (admittedUntil !== undefined && now < admittedUntil) ||
      (hadWakePhrase && this.#config.wakePhraseOpensGate) ||
      (meta.source != null && this.#config.ungatedSources.includes(meta.source));
    if (!open) {
      this.#counters.droppedNoWake++;
      this.#logger?.info("Transcript dropped: no wake, live mode or response window: {text}", {
        text,
      });
      return "dropped:no-wake";
    }
    if (candidate === "") {
      this.#openWakeWindow();
      return "wake-phrase-only";
    }
    const sttTs = final.ts;
    const live = matchLiveMode(candidate, this.#config.liveMode);
    if (live) {
      this.#wakeUntil = 0;
      this.#counters.rules++;
      const lm = this.#config.liveMode;
      if (live === "enter") {
        const already = this.#liveMode;
        this.#liveMode = true;
        if (!already) this.#out.liveModeChanged?.(true);
        this.#speak(already ? lm.activeHint : lm.enterAck, { style: "neutral", stt_ts: sttTs });
        return already ? "live:already-on" : "live:enter";
      }
      const wasOn = this.#liveMode;
      this.#liveMode = false;
      if (wasOn) this.#out.liveModeChanged?.(false);
      this.#speak(wasOn ? lm.exitAck : lm.inactiveHint, { style: "neutral", stt_ts: sttTs });
      return wasOn ? "live:exit" : "live:already-off";
    }
    this.#wakeUntil = 0;
    this.#responseUntil = 0;

    const intent = matchMovementIntent(candidate);
    if (intent) {
      this.#counters.movements++;
      if (intent.kind === "stop") {
        this.#bargeIn("stop");
        this.#out.stopMovement(`voice: ${candidate}`);
        return "movement:stop";
      }
      this.#out.move({
        command: intent.command,
        speed: 1,
        request_id: final.utt_id ?? `mv-${this.#randomHex()}`,
      });
      return "movement";
    }
    if (isTimeQuestion(candidate)) {
      this.#counters.rules++;
      this.#speak(timeSentence(now, this.#config.timeZone), { style: "neutral", stt_ts: sttTs });
      return "rule:time";
    }
    const said = sayText(candidate);
    if (said !== null) {
      this.#counters.rules++;
      this.#speak(said, { stt_ts: sttTs });
      return "rule:say";
    }
    if (isGreeting(candidate)) {
      this.#counters.rules++;
      this.#speak(this.#config.greetingText, { style: "friendly", stt_ts: sttTs });
      return "rule:greeting";
    }
    this.#askLlm(candidate, final);
    return "llm";
  }

  // ---------------------------------------------------------------- LLM

  /** An llm/stream chunk. */
  onStream(delta: LLMStreamDelta): void {
    const request = this.#requests.get(delta.id);
    if (!request || request.closed) {
      this.#counters.staleMessages++;
      return;
    }
    this.#markAlive(request);
    if (!this.#config.llmTtsStream) return;
    request.streamed = true;
    const result = request.stream.accept(delta);
    if (result.duplicate) this.#counters.duplicateChunks++;
    if (result.held) this.#counters.outOfOrderChunks++;
    for (const sentence of result.sentences) {
      this.#speak(sentence, { utt_id: request.id, stt_ts: request.sttTs });
    }
    if (result.completed) {
      this.#history.setAssistant(request.id, request.stream.spokenText, this.#epochSeconds());
    }
  }

  /** An llm/response: reconciles with what was streamed, or speaks the fallback on error. */
  onResponse(response: LLMResponse): void {
    const request = this.#requests.get(response.id);
    if (!request || request.closed) {
      this.#counters.staleMessages++;
      return;
    }
    this.#counters.llmResponses++;
    this.#close(request);
    const spoken = request.stream.spokenText;
    if (response.error) {
      this.#counters.llmErrors++;
      this.#logger?.warn("LLM error for request {id}: {error}", {
        id: request.id,
        error: response.error,
      });
      request.stream.abandon();
      if (spoken === "") this.#speakFallback(request, response.error);
      return;
    }
    const reply = response.reply?.trim() ?? "";
    if (reply === "") {
      // Nothing final: speak what the stream still holds, or the fallback when nothing came.
      for (const sentence of request.stream.finish()) {
        this.#speak(sentence, { utt_id: request.id, stt_ts: request.sttTs });
      }
      const streamed = request.stream.spokenText;
      if (streamed === "") this.#speakFallback(request, "empty reply");
      else this.#history.setAssistant(request.id, streamed, this.#epochSeconds());
      return;
    }
    request.stream.abandon();
    if (request.streamed) {
      const outcome = reconcile(reply, spoken);
      if (outcome.kind === "full" && spoken !== "") {
        this.#counters.desyncs++;
        this.#logger?.warn("Streamed text and final reply differ for {id}; speaking it all", {
          id: request.id,
        });
      }
      if (outcome.kind !== "skip") {
        this.#speak(outcome.text, { utt_id: request.id, stt_ts: request.sttTs });
      }
    } else {
      this.#speak(reply, { utt_id: request.id, stt_ts: request.sttTs });
    }
    this.#history.setAssistant(request.id, reply, this.#epochSeconds());
  }

  /** An llm/cancel from anyone (the router's own come back too): stop speaking that reply. */
  onCancel(cancel: LLMCancel): void {
    const request = this.#requests.get(cancel.id);
    if (!request || request.closed) return;
    this.#cancel(request, false);
  }

  #askLlm(text: string, final: FinalTranscript): void {
    this.#bargeIn("superseded");
    const uttId = final.utt_id?.trim();
    const id = uttId && !this.#requests.has(uttId) ? uttId : `rt-${this.#randomHex()}`;
    const history = this.#history.messages();
    this.#history.addUser(id, text, this.#epochSeconds());
    const request: ActiveRequest = {
      id,
      stream: new ReplyStream(this.#config.stream),
      sttTs: final.ts,
      startedMs: this.#clock.now(),
      timer: undefined,
      alive: false,
      closed: false,
      streamed: false,
    };
    this.#remember(request);
    this.#active = request;
    request.timer = this.#clock.setTimeout(
      () => this.#onTimeout(request),
      this.#config.llmTimeoutMs,
    );
    this.#counters.llmRequests++;
    this.#out.requestLlm(
      { id, text, stream: true, conversation_history: history },
      final.message_id,
    );
  }

  #onTimeout(request: ActiveRequest): void {
    request.timer = undefined;
    if (request.closed || request.alive) return;
    this.#counters.llmTimeouts++;
    this.#logger?.warn("No answer from the LLM for {id} within {seconds} s", {
      id: request.id,
      seconds: this.#config.llmTimeoutMs / 1000,
    });
    this.#close(request);
    request.stream.abandon();
    this.#out.cancelLlm(request.id);
    this.#speakFallback(request, "timeout");
  }

  /** Barge-in: cancels the active request (llm/cancel) and speaks nothing more of it. */
  #bargeIn(reason: string): void {
    const request = this.#active;
    if (!request || request.closed) return;
    this.#logger?.info("Cancelling LLM request {id}: {reason}", { id: request.id, reason });
    this.#cancel(request, true);
  }

  #cancel(request: ActiveRequest, publish: boolean): void {
    this.#counters.llmCancelled++;
    this.#close(request);
    request.stream.abandon();
    const spoken = request.stream.spokenText;
    if (spoken !== "") this.#history.setAssistant(request.id, spoken, this.#epochSeconds());
    if (publish) this.#out.cancelLlm(request.id);
  }

  #markAlive(request: ActiveRequest): void {
    if (request.alive) return;
    request.alive = true;
    this.#clearTimer(request);
  }

  #close(request: ActiveRequest): void {
    request.closed = true;
    this.#clearTimer(request);
    if (this.#active === request) this.#active = null;
  }

  #clearTimer(request: ActiveRequest): void {
    if (request.timer !== undefined) {
      this.#clock.clearTimeout(request.timer);
      request.timer = undefined;
    }
  }

  #remember(request: ActiveRequest): void {
    this.#requests.set(request.id, request);
    while (this.#requests.size > CLOSED_REQUESTS_KEPT) {
      const oldest = this.#requests.keys().next().value as string;
      this.#clearTimer(this.#requests.get(oldest)!);
      this.#requests.delete(oldest);
    }
  }

  #speakFallback(request: ActiveRequest, error: string): void {
    const notConfigured = /^LLM not configured/i.test(error);
    const text = notConfigured ? this.#config.llmNotConfiguredText : this.#config.llmFallbackText;
    this.#speak(text, { utt_id: request.id, style: "neutral", stt_ts: request.sttTs });
  }

  // ---------------------------------------------------------------- helpers

  #openWakeWindow(): void {
    this.#wakeUntil = this.#clock.now() + this.#config.wakeWindowMs;
  }

  #epochSeconds(): number {
    return this.#clock.now() / 1000;
  }

  #speak(text: string, fields: Omit<SayMessage, "text">): void {
    this.#counters.sentences++;
    const message: SayMessage = { text, lang: "en", ...fields };
    if (this.#config.ttsVoice !== undefined) message.voice = this.#config.ttsVoice;
    this.#out.say(message);
  }
}
