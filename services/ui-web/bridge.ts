/**
 * The MQTT side of ui-web: ONE client's subscriptions feed the dashboard state (health board,
 * conversation, character, TTS status) and every change is broadcast to the browsers; the
 * control actions publish through the same client. The messages of each conversation turn also
 * feed a {@linkcode TurnTracer}: the page draws the last turns as a waterfall, and each finished
 * turn is published on `system/turn` (its stage durations as metrics on the bus).
 *
 * @module
 */
import {
  type CharacterSnapshot,
  type CharacterUpdate,
  findTopicSpecByEventType,
  type Logger,
  type MemoryResults,
  type MqttClient,
  type PayloadInputOf,
  type SubscriptionGroup,
  topics,
} from "../../core/mod.ts";
import { Conversation, type ConversationEntry } from "./conversation.ts";
import { HealthBoard, type ServiceHealth } from "./health_board.ts";
import {
  type TraceConverter,
  traceConverters,
  type TracedEnvelope,
  type TurnTimeline,
  TurnTracer,
} from "./turn_trace.ts";

/** The envelope event type of the TTS audio chunks the page plays. */
export const TTS_AUDIO_EVENT = "tts.audio";

/** The MQTT source name the page's audio and text are published under. */
export const UI_SOURCE = "ui-web";

/** The state of a text-to-speech utterance, as the last tts/status said. */
export interface TtsState {
  /** The last playback event. */
  readonly event: string;
  /** Its text. */
  readonly text: string;
  /** Its utterance id. */
  readonly uttId: string | null;
}

/** Everything a page needs to draw itself from scratch. */
export interface DashboardSnapshot {
  /** Whether the server's MQTT connection is up. */
  readonly connected: boolean;
  /** One tile per client. */
  readonly health: ServiceHealth[];
  /** The recent conversation, oldest first. */
  readonly conversation: ConversationEntry[];
  /** The current character (retained system/character/current), if known. */
  readonly character: CharacterSnapshot | null;
  /** The last TTS playback state, if any. */
  readonly tts: TtsState | null;
  /** The timelines of the last conversation turns, oldest first. */
  readonly turns: TurnTimeline[];
}

/** A live event sent to the browsers. */
export type DashboardEvent =
  | { readonly type: "health"; readonly health: ServiceHealth }
  | { readonly type: "entry"; readonly entry: ConversationEntry }
  | { readonly type: "partial"; readonly text: string; readonly source: string | null }
  | { readonly type: "tts.status"; readonly tts: TtsState }
  | { readonly type: "tts.audio"; readonly audio: Readonly<Record<string, unknown>> }
  | { readonly type: "character"; readonly character: CharacterSnapshot }
  | { readonly type: "turn"; readonly turn: TurnTimeline }
  | { readonly type: "bridge"; readonly connected: boolean };

/** Options of {@linkcode DashboardBridge}. */
export interface DashboardBridgeOptions {
  /** The service's one MQTT client (connected). */
  readonly client: MqttClient;
  /** Where problems are logged. */
  readonly logger: Logger;
  /** Receives every live event. */
  readonly emit: (event: DashboardEvent) => void;
  /** Heartbeat silence after which a client is stale, ms. */
  readonly staleAfterMs: number;
  /** Conversation entries kept for new pages. */
  readonly historySize: number;
  /** How long a memory search waits, ms. */
  readonly memoryTimeoutMs: number;
  /** Conversation turns whose timeline is kept; default 20. */
  readonly turnsKept?: number;
  /** Clock, epoch ms (tests). */
  readonly now?: () => number;
}

/** Subscribes, keeps the dashboard state and publishes the control actions. */
export class DashboardBridge {
  readonly #o: DashboardBridgeOptions;
  readonly #board: HealthBoard;
  readonly #conversation: Conversation;
  readonly #tracer: TurnTracer;
  #subscriptions: SubscriptionGroup | null = null;
  #character: CharacterSnapshot | null = null;
  #tts: TtsState | null = null;
  #connected = false;
  #poll: ReturnType<typeof setInterval> | undefined;
  #audioFrames = 0;

  /** Builds the bridge; call {@linkcode start} to subscribe. */
  constructor(options: DashboardBridgeOptions) {
    this.#o = options;
    this.#board = new HealthBoard({
      staleAfterMs: options.staleAfterMs,
      now: options.now,
      onChange: (health) => options.emit({ type: "health", health }),
    });
    this.#conversation = new Conversation(options.historySize, options.now);
    this.#tracer = new TurnTracer(options.turnsKept ?? 20);
  }

  /** Microphone frames published so far. */
  get audioFramesPublished(): number {
    return this.#audioFrames;
  }

  /** Subscribes to every topic the dashboard shows and starts the staleness timer. */
  async start(): Promise<void> {
    const { client, emit } = this.#o;
    const sub = this.#subscriptions = client.group();
    this.#connected = client.connected;
    await sub.subscribe(topics.sttPartial, (p, ctx) => {
      emit({ type: "partial", text: p.text, source: ctx.envelope?.source ?? null });
    }, { queueSize: 32 });
    await sub.subscribe(topics.sttFinal, (p, ctx) => {
      this.#entry(this.#conversation.userSaid(p.message_id, p.text, sourceOf(ctx)));
      this.#trace(ctx, traceConverters.sttFinal, p);
    });
    await sub.subscribe(topics.sttVad, (p, ctx) => {
      this.#trace(ctx, traceConverters.sttVad, p);
    }, { queueSize: 64 });
    await sub.subscribe(topics.wakeEvent, (p, ctx) => {
      this.#trace(ctx, traceConverters.wakeEvent, p);
    }, { queueSize: 64 });
    await sub.subscribe(topics.llmRequest, (p, ctx) => {
      this.#trace(ctx, traceConverters.llmRequest, p);
    }, { queueSize: 16 }); // up to 1 MiB each (the history): keep few
    await sub.subscribe(topics.llmStream, (p, ctx) => {
      const entry = this.#conversation.replyChunk(p.id, p.seq, p.delta, p.done, sourceOf(ctx));
      if (entry) this.#entry(entry);
      this.#trace(ctx, traceConverters.llmStream, p);
    }, { queueSize: 1024 });
    await sub.subscribe(topics.llmResponse, (p, ctx) => {
      this.#entry(this.#conversation.replyFinished(p.id, p.reply, p.error, sourceOf(ctx)));
    });
    await sub.subscribe(topics.ttsSay, (p, ctx) => {
      this.#entry(this.#conversation.spoken(p.utt_id ?? p.message_id, p.text, sourceOf(ctx)));
      this.#trace(ctx, traceConverters.ttsSay, p);
    });
    await sub.subscribe(topics.ttsStatus, (p, ctx) => {
      this.#tts = { event: p.event, text: p.text, uttId: p.utt_id ?? null };
      emit({ type: "tts.status", tts: this.#tts });
      this.#trace(ctx, traceConverters.ttsStatus, p);
    });
    await sub.subscribe(topics.systemHealth, (p, ctx) => {
      this.#board.applyHealth(lastLevel(ctx.topic), p);
    }, { queueSize: 512 });
    await sub.subscribe(topics.systemKeepalive, (_p, ctx) => {
      this.#board.applyHeartbeat(lastLevel(ctx.topic));
    }, { queueSize: 512, overflow: "drop-oldest" });
    await sub.subscribe(topics.systemCharacterCurrent, (p) => {
      this.#character = p;
      emit({ type: "character", character: p });
    });
    // tts/audio (PCM chunks for the browser's speaker) is looked up by its event type so that
    // ui-web runs with a topic table that does not have the row.
    const ttsAudio = findTopicSpecByEventType(TTS_AUDIO_EVENT);
    if (ttsAudio) {
      await sub.subscribe(ttsAudio, (p, ctx) => {
        if (!isRecord(p)) return;
        emit({ type: "tts.audio", audio: p });
        this.#trace(ctx, traceConverters.ttsAudio, p);
      }, { queueSize: 1024 });
    } else {
      this.#o.logger.warn("The topic table has no {event} row: browser playback is off", {
        event: TTS_AUDIO_EVENT,
      });
    }
    this.#board.start();
    this.#poll = setInterval(() => this.#checkConnection(), 500);
  }

  /** The state a new page starts from. */
  snapshot(): DashboardSnapshot {
    return {
      connected: this.#o.client.connected,
      health: this.#board.snapshot(),
      conversation: this.#conversation.entries(),
      character: this.#character,
      tts: this.#tts,
      turns: this.#tracer.turns(),
    };
  }

  /** The health board (tests and the bench). */
  get board(): HealthBoard {
    return this.#board;
  }

  /** Sends typed text into the router as an stt/final from source ui-web; resolves its id. */
  async say(text: string): Promise<string> {
    const final = { text, lang: "en", confidence: 1 };
    const id = await this.#o.client.publishEvent(topics.sttFinal, final);
    return id;
  }

  /** Publishes a movement command on movement/test. */
  move(request: PayloadInputOf<typeof topics.movementTest>): Promise<string> {
    return this.#o.client.publishEvent(topics.movementTest, request);
  }

  /** Publishes the emergency stop on movement/stop. */
  emergencyStop(reason: string): Promise<string> {
    return this.#o.client.publishEvent(topics.movementStop, { reason });
  }

  /** Clears a latched emergency stop (movement/clear). */
  clearStop(reason: string): Promise<string> {
    return this.#o.client.publishEvent(topics.movementClear, { reason });
  }

  /** Publishes a character update (one trait, or a reset) on character/update. */
  updateCharacter(update: CharacterUpdate): Promise<string> {
    return this.#o.client.publishEvent(topics.characterUpdate, update);
  }

  /** Searches memory: memory/query, answered on memory/results with the same id. */
  searchMemory(text: string, topK: number): Promise<MemoryResults> {
    return this.#o.client.request(topics.memoryQuery, { text, top_k: topK }, {
      replyTopic: topics.memoryResults,
      timeoutMs: this.#o.memoryTimeoutMs,
    });
  }

  /** Publishes one microphone frame (PCM16LE mono 16 kHz) on audio/pcm/ui-web. */
  async publishAudio(frame: Uint8Array): Promise<void> {
    await this.#o.client.publishRaw(topics.audioPcm, frame, { params: { source: UI_SOURCE } });
    this.#audioFrames++;
  }

  /** Unsubscribes and stops the timers (the client itself belongs to the caller). */
  async close(): Promise<void> {
    this.#board.stop();
    if (this.#poll !== undefined) clearInterval(this.#poll);
    this.#poll = undefined;
    const subscriptions = this.#subscriptions;
    this.#subscriptions = null;
    await subscriptions?.close().catch(() => {});
  }

  #entry(entry: ConversationEntry): void {
    this.#o.emit({ type: "entry", entry });
  }

  /** Feeds one message to the tracer; a finished turn is also published on system/turn. */
  #trace<P>(
    ctx: { envelope: TracedEnvelope | null; retained: boolean },
    convert: TraceConverter<P>,
    payload: P,
  ): void {
    if (!ctx.envelope || ctx.retained) return;
    const event = convert(payload, ctx.envelope);
    const update = event && this.#tracer.add(event);
    if (!update) return;
    this.#o.emit({ type: "turn", turn: update.turn });
    if (!update.finished) return;
    this.#o.client.publishDetached(topics.systemTurn, update.turn);
  }

  #checkConnection(): void {
    const connected = this.#o.client.connected;
    if (connected === this.#connected) return;
    this.#connected = connected;
    if (!connected) this.#o.logger.warn("MQTT connection lost; the dashboard shows old state");
    this.#o.emit({ type: "bridge", connected });
  }
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sourceOf(ctx: { envelope: { source: string } | null }): string | null {
  return ctx.envelope?.source ?? null;
}

function lastLevel(topic: string): string {
  return topic.slice(topic.lastIndexOf("/") + 1);
}
