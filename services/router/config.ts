/**
 * router configuration from the environment, with py-tars' variable names, aliases and
 * defaults where they exist (see the README for the table).
 *
 * @module
 */
import {
  ConfigError,
  type ConfigIssue,
  envVar,
  filterOf,
  readEnv,
  serviceCatalog,
  topicFor,
  topicMatches,
  topics,
} from "../../core/mod.ts";

/** The queue overflow policies of `ROUTER_QUEUE_OVERFLOW` (py-tars spelling). */
export const QUEUE_OVERFLOW_CHOICES = ["drop_oldest", "drop_new", "block"] as const;

/** The default `ROUTER_WAKE_ACK_CHOICES`. */
export const DEFAULT_WAKE_ACKS = ["Hmm?", "Huh?", "Yes?"] as const;

/** The default sentence spoken when llm-worker reports that no LLM is configured. */
export const DEFAULT_LLM_NOT_CONFIGURED_TEXT = "My language model is not configured. " +
  "Set OPENAI_API_KEY, or LLM_BASE_URL for a local server, for the llm-worker.";

/** The default sentence spoken when the LLM fails or does not answer in time. */
export const DEFAULT_LLM_FALLBACK_TEXT = "Sorry, my language model is not answering right now.";

/** `system/health/<client id>` of tts-worker and stt-worker (their default client ids). */
const HEALTH_TTS = topicFor(topics.systemHealth, {
  client_id: serviceCatalog["tts-worker"].clientId,
});
const HEALTH_STT = topicFor(topics.systemHealth, {
  client_id: serviceCatalog["stt-worker"].clientId,
});

/** The variables, their defaults and ranges. */
export const ROUTER_ENV = {
  ONLINE_ANNOUNCE: envVar.bool(true),
  ONLINE_ANNOUNCE_TEXT: envVar.string("System online."),
  TOPIC_HEALTH_TTS: envVar.string(HEALTH_TTS),
  TOPIC_HEALTH_STT: envVar.string(HEALTH_STT),
  ROUTER_TTS_VOICE: envVar.optionalString(),
  ROUTER_LLM_TTS_STREAM: envVar.bool(true),
  ROUTER_STREAM_MIN_CHARS: envVar.int(60, { min: 1, max: 100_000 }),
  ROUTER_STREAM_MAX_CHARS: envVar.int(240, { min: 1, max: 100_000 }),
  ROUTER_STREAM_BOUNDARY_CHARS: envVar.string(".!?;:"),
  ROUTER_STREAM_BOUNDARY_ONLY: envVar.bool(true),
  ROUTER_STREAM_HARD_MAX_CHARS: envVar.int(2000, { min: 10, max: 1_000_000 }),
  // py-tars' own "hey tars" model and the bundled openWakeWord model ("hey jarvis").
  ROUTER_WAKE_PHRASES: envVar.list(["hey tars", "hey jarvis"], /\|/),
  ROUTER_WAKE_WINDOW_SEC: envVar.float(8, { min: 0, max: 3600 }),
  ROUTER_RESPONSE_WINDOW_SEC: envVar.float(10, { min: 0, max: 3600 }),
  ROUTER_WAKE_ACK_ENABLED: envVar.bool(true),
  ROUTER_WAKE_ACK_TEXT: envVar.optionalString(),
  ROUTER_WAKE_ACK_CHOICES: envVar.list([], /\|/),
  ROUTER_WAKE_ACK_STYLE: envVar.string("friendly"),
  ROUTER_WAKE_REPROMPT_TEXT: envVar.optionalString(),
  ROUTER_WAKE_INTERRUPT_TEXT: envVar.optionalString(),
  ROUTER_WAKE_RESUME_TEXT: envVar.optionalString(),
  ROUTER_WAKE_CANCEL_TEXT: envVar.optionalString(),
  ROUTER_WAKE_TIMEOUT_TEXT: envVar.optionalString(),
  ROUTER_WAKE_PHRASE_OPENS_GATE: envVar.bool(true),
  // ui-web's typed text: the envelope source of what ui-web publishes.
  ROUTER_UNGATED_SOURCES: envVar.list([serviceCatalog["ui-web"].sourceName]),
  ROUTER_LIVE_MODE_DEFAULT: envVar.bool(false),
  ROUTER_LIVE_MODE_ENTER_PHRASE: envVar.string("enter live mode"),
  ROUTER_LIVE_MODE_EXIT_PHRASE: envVar.string("exit live mode"),
  ROUTER_LIVE_MODE_ENTER_ACK: envVar.string("Live mode enabled."),
  ROUTER_LIVE_MODE_EXIT_ACK: envVar.string("Live mode disabled."),
  ROUTER_LIVE_MODE_ACTIVE_HINT: envVar.string("Live mode is already active."),
  ROUTER_LIVE_MODE_INACTIVE_HINT: envVar.string("Live mode is already off."),
  ROUTER_GREETING_TEXT: envVar.string("Hello! How can I help?"),
  ROUTER_TIME_ZONE: envVar.optionalString(),
  ROUTER_HISTORY_MAX_MESSAGES: envVar.int(10, { min: 0, max: 1000 }),
  ROUTER_LLM_TIMEOUT_SEC: envVar.float(20, { min: 0.1, max: 3600 }),
  ROUTER_LLM_FALLBACK_TEXT: envVar.string(DEFAULT_LLM_FALLBACK_TEXT),
  ROUTER_LLM_NOT_CONFIGURED_TEXT: envVar.string(DEFAULT_LLM_NOT_CONFIGURED_TEXT),
  ROUTER_QUEUE_MAXSIZE: envVar.int(256, { min: 1, max: 100_000 }),
  ROUTER_QUEUE_OVERFLOW: envVar.choice("drop_oldest", QUEUE_OVERFLOW_CHOICES),
  ROUTER_HANDLER_TIMEOUT: envVar.float(30, { min: 0, max: 3600 }),
};

/** py-tars' older names, read when the `ROUTER_*` name is unset. */
export const ROUTER_ENV_ALIASES: Readonly<Record<string, readonly string[]>> = {
  ROUTER_TTS_VOICE: ["PIPER_VOICE"],
  ROUTER_STREAM_MIN_CHARS: ["STREAM_MIN_CHARS"],
  ROUTER_STREAM_MAX_CHARS: ["STREAM_MAX_CHARS"],
  ROUTER_STREAM_BOUNDARY_CHARS: ["STREAM_BOUNDARY_CHARS"],
  ROUTER_WAKE_PHRASES: ["WAKE_PHRASES"],
  ROUTER_WAKE_ACK_CHOICES: ["WAKE_ACK_CHOICES"],
  ROUTER_RESPONSE_WINDOW_SEC: ["TTS_RESPONSE_WINDOW_SEC"],
};

/** How sentences are cut out of a streamed reply. */
export interface StreamSplitConfig {
  /** Characters that end a sentence (`ROUTER_STREAM_BOUNDARY_CHARS`). */
  readonly boundaryChars: string;
  /** Cut only at boundaries (plus the hard maximum) (`ROUTER_STREAM_BOUNDARY_ONLY`). */
  readonly boundaryOnly: boolean;
  /** Without `boundaryOnly`: merge sentences until this many characters. */
  readonly minChars: number;
  /** Without `boundaryOnly`: cut text without a boundary at this many characters. */
  readonly maxChars: number;
  /** With `boundaryOnly`: cut a boundary-less buffer beyond this many characters. */
  readonly hardMaxChars: number;
}

/** The parsed router configuration. */
export interface RouterConfig {
  /** Speak `onlineAnnounceText` once when stt and tts are healthy. */
  readonly onlineAnnounce: boolean;
  /** The "System online." sentence. */
  readonly onlineAnnounceText: string;
  /** Health topic of tts-worker (`system/health/<client id>`). */
  readonly healthTopicTts: string;
  /** Health topic of stt-worker. */
  readonly healthTopicStt: string;
  /** `voice` of every tts/say; unset = tts-worker's default. */
  readonly ttsVoice: string | undefined;
  /** Speak llm/stream sentences as they complete (else only the final llm/response). */
  readonly llmTtsStream: boolean;
  /** Sentence splitting of streamed replies. */
  readonly stream: StreamSplitConfig;
  /** Wake phrases stripped from the start of an utterance, lowercase. */
  readonly wakePhrases: readonly string[];
  /** How long a wake event opens the gate, ms. */
  readonly wakeWindowMs: number;
  /** How long the end of a spoken reply keeps the gate open, ms. */
  readonly responseWindowMs: number;
  /** The wake acknowledgements, spoken in turn; empty = no acks. */
  readonly wakeAcks: readonly string[];
  /** `style` of the wake acks. */
  readonly wakeAckStyle: string;
  /** Optional sentences spoken on wake events. */
  readonly wakeTexts: {
    readonly reprompt?: string;
    readonly interrupt?: string;
    readonly resume?: string;
    readonly cancel?: string;
    readonly timeout?: string;
  };
  /** An utterance that starts with a wake phrase passes the gate by itself. */
  readonly wakePhraseOpensGate: boolean;
  /** Envelope sources whose transcripts skip the gate (typed text from ui-web). */
  readonly ungatedSources: readonly string[];
  /** Live mode at start. */
  readonly liveModeDefault: boolean;
  /** Live mode phrases and answers. */
  readonly liveMode: {
    readonly enterPhrase: string;
    readonly exitPhrase: string;
    readonly enterAck: string;
    readonly exitAck: string;
    readonly activeHint: string;
    readonly inactiveHint: string;
  };
  /** The answer to a greeting. */
  readonly greetingText: string;
  /** IANA time zone of the time rule; unset = the process's local time. */
  readonly timeZone: string | undefined;
  /** Conversation messages (user and assistant) kept for llm/request. */
  readonly historyMaxMessages: number;
  /** No first delta (or response) within this long → fallback sentence, ms. */
  readonly llmTimeoutMs: number;
  /** Spoken on an LLM error or timeout. */
  readonly llmFallbackText: string;
  /** Spoken when llm-worker answers "LLM not configured…". */
  readonly llmNotConfiguredText: string;
  /** Subscription queue settings. */
  readonly queue: {
    readonly maxSize: number;
    readonly overflow: "drop-oldest" | "drop-new" | "block";
    readonly handlerTimeoutMs: number;
  };
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Reads the configuration; throws one `ConfigError` naming every bad variable. */
export function readRouterConfig(
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): RouterConfig {
  const { values: v, issues } = readEnv(ROUTER_ENV, env, { aliases: ROUTER_ENV_ALIASES });
  const problems: ConfigIssue[] = [...issues];
  const healthFilter = filterOf(topics.systemHealth);
  for (const name of ["TOPIC_HEALTH_TTS", "TOPIC_HEALTH_STT"] as const) {
    if (!topicMatches(healthFilter, v[name])) {
      problems.push({
        variable: name,
        value: v[name],
        expected: `a health topic ${healthFilter} (e.g. ${HEALTH_TTS})`,
      });
    }
  }
  if (v.ROUTER_STREAM_MAX_CHARS < v.ROUTER_STREAM_MIN_CHARS) {
    problems.push({
      variable: "ROUTER_STREAM_MAX_CHARS",
      value: String(v.ROUTER_STREAM_MAX_CHARS),
      expected: `a number >= ROUTER_STREAM_MIN_CHARS (${v.ROUTER_STREAM_MIN_CHARS})`,
    });
  }
  if (v.ROUTER_STREAM_BOUNDARY_CHARS.trim() === "" || /\s/.test(v.ROUTER_STREAM_BOUNDARY_CHARS)) {
    problems.push({
      variable: "ROUTER_STREAM_BOUNDARY_CHARS",
      value: v.ROUTER_STREAM_BOUNDARY_CHARS,
      expected: "one or more punctuation characters without spaces, e.g. .!?;:",
    });
  }
  if (v.ROUTER_TIME_ZONE !== undefined && !validTimeZone(v.ROUTER_TIME_ZONE)) {
    problems.push({
      variable: "ROUTER_TIME_ZONE",
      value: v.ROUTER_TIME_ZONE,
      expected: "an IANA time zone such as Europe/Berlin or UTC",
    });
  }
  if (problems.length > 0) throw new ConfigError(problems, "router configuration");

  let wakeAcks: string[] = [];
  if (v.ROUTER_WAKE_ACK_ENABLED) {
    if (v.ROUTER_WAKE_ACK_CHOICES.length > 0) wakeAcks = v.ROUTER_WAKE_ACK_CHOICES;
    else if (v.ROUTER_WAKE_ACK_TEXT !== undefined) wakeAcks = [v.ROUTER_WAKE_ACK_TEXT.trim()];
    else wakeAcks = [...DEFAULT_WAKE_ACKS];
  }
  const text = (value: string | undefined) => value?.trim() || undefined;
  return {
    onlineAnnounce: v.ONLINE_ANNOUNCE,
    onlineAnnounceText: v.ONLINE_ANNOUNCE_TEXT,
    healthTopicTts: v.TOPIC_HEALTH_TTS,
    healthTopicStt: v.TOPIC_HEALTH_STT,
    ttsVoice: text(v.ROUTER_TTS_VOICE),
    llmTtsStream: v.ROUTER_LLM_TTS_STREAM,
    stream: {
      boundaryChars: v.ROUTER_STREAM_BOUNDARY_CHARS,
      boundaryOnly: v.ROUTER_STREAM_BOUNDARY_ONLY,
      minChars: v.ROUTER_STREAM_MIN_CHARS,
      maxChars: v.ROUTER_STREAM_MAX_CHARS,
      hardMaxChars: v.ROUTER_STREAM_HARD_MAX_CHARS,
    },
    wakePhrases: v.ROUTER_WAKE_PHRASES.map((phrase) => phrase.toLowerCase()),
    wakeWindowMs: Math.round(v.ROUTER_WAKE_WINDOW_SEC * 1000),
    responseWindowMs: Math.round(v.ROUTER_RESPONSE_WINDOW_SEC * 1000),
    wakeAcks,
    wakeAckStyle: v.ROUTER_WAKE_ACK_STYLE,
    wakeTexts: {
      reprompt: text(v.ROUTER_WAKE_REPROMPT_TEXT),
      interrupt: text(v.ROUTER_WAKE_INTERRUPT_TEXT),
      resume: text(v.ROUTER_WAKE_RESUME_TEXT),
      cancel: text(v.ROUTER_WAKE_CANCEL_TEXT),
      timeout: text(v.ROUTER_WAKE_TIMEOUT_TEXT),
    },
    wakePhraseOpensGate: v.ROUTER_WAKE_PHRASE_OPENS_GATE,
    ungatedSources: v.ROUTER_UNGATED_SOURCES,
    liveModeDefault: v.ROUTER_LIVE_MODE_DEFAULT,
    liveMode: {
      enterPhrase: v.ROUTER_LIVE_MODE_ENTER_PHRASE,
      exitPhrase: v.ROUTER_LIVE_MODE_EXIT_PHRASE,
      enterAck: v.ROUTER_LIVE_MODE_ENTER_ACK,
      exitAck: v.ROUTER_LIVE_MODE_EXIT_ACK,
      activeHint: v.ROUTER_LIVE_MODE_ACTIVE_HINT,
      inactiveHint: v.ROUTER_LIVE_MODE_INACTIVE_HINT,
    },
    greetingText: v.ROUTER_GREETING_TEXT,
    timeZone: v.ROUTER_TIME_ZONE,
    historyMaxMessages: v.ROUTER_HISTORY_MAX_MESSAGES,
    llmTimeoutMs: Math.round(v.ROUTER_LLM_TIMEOUT_SEC * 1000),
    llmFallbackText: v.ROUTER_LLM_FALLBACK_TEXT,
    llmNotConfiguredText: v.ROUTER_LLM_NOT_CONFIGURED_TEXT,
    queue: {
      maxSize: v.ROUTER_QUEUE_MAXSIZE,
      overflow: v.ROUTER_QUEUE_OVERFLOW === "drop_oldest"
        ? "drop-oldest"
        : v.ROUTER_QUEUE_OVERFLOW === "drop_new"
        ? "drop-new"
        : "block",
      handlerTimeoutMs: Math.round(v.ROUTER_HANDLER_TIMEOUT * 1000),
    },
  };
}
