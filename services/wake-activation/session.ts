/**
 * The wake lifecycle of py-tars' wake-activation (§4.4), as a state machine with timers:
 *
 * - a detection while TTS is speaking is an **interrupt**: wake/event `interrupt` (cause
 *   double_wake, tts_id), wake/mic unmute, tts/control `pause`; after the interrupt window
 *   wake/event `resume` (cause timeout) and tts/control `resume`;
 * - any other detection is a **wake**: wake/event `wake` (cause wake_phrase) and wake/mic
 *   unmute with `ttl_ms` = the idle timeout;
 * - both (re)start the idle timer: wake/event `timeout` (cause silence), plus tts/control
 *   `resume` when an interrupt is still open;
 * - a transcript during an interrupt that is a cancel phrase gives tts/control `stop` and
 *   wake/event `cancelled`; any other transcript is a new request: the interrupted speech is
 *   stopped (reason wake_new_request) so the reply is not queued behind it;
 * - a transcript after a plain wake closes the wake session (no `timeout` follows);
 * - not in py-tars: speech that starts while the session is open (stt/vad `speech_start`)
 *   holds it: no idle timeout and no interrupt resume while the user speaks, only a watchdog
 *   of the utterance's longest length (`max_ms`, stt-worker's UTTERANCE_MAX_SEC) plus the idle
 *   timeout; the end of that speech (`speech_end`) restarts the idle timer, which then waits
 *   for the transcript. So the idle timeout fires only when no speech started (or the speech
 *   gave no transcript).
 *
 * TTS state follows tts/status. Timers use the global `setTimeout`, so fake timers drive it.
 *
 * @module
 */
import type { TtsControlAction, TtsStatus, WakeEventType } from "../../core/mod.ts";

/** The cancel phrases of py-tars, compared after {@linkcode normalizePhrase}. */
export const DEFAULT_CANCEL_PHRASES: readonly string[] = [
  "cancel",
  "cancel it",
  "cancel that",
  "cancel please",
  "stop",
  "stop it",
  "stop that",
  "never mind",
  "never mind that",
  "nevermind",
];

/** Lowercase, punctuation removed, whitespace collapsed. */
export function normalizePhrase(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, " ").replace(/\s+/g, " ").trim();
}

/** The data of a wake/event this session publishes. */
export interface WakeEventOut {
  /** Event type. */
  readonly type: WakeEventType;
  /** Why it happened. */
  readonly cause: string;
  /** Utterance id of the interrupted speech, if any. */
  readonly tts_id?: string | null;
  /** Detector score 0..1 (wake and interrupt). */
  readonly confidence?: number;
  /** Window RMS × WAKE_ENERGY_BOOST_FACTOR (wake and interrupt). */
  readonly energy?: number;
  /** Epoch seconds. */
  readonly ts: number;
}

/** The data of a wake/mic command this session publishes. */
export interface WakeMicOut {
  /** Always `unmute` here. */
  readonly action: "mute" | "unmute";
  /** Why. */
  readonly reason: string;
  /** Re-mute after this many ms; null = keep. */
  readonly ttl_ms: number | null;
}

/** The data of a tts/control command this session publishes. */
export interface TtsControlOut {
  /** pause, resume or stop. */
  readonly action: TtsControlAction;
  /** wake_interrupt, wake_resume, wake_timeout, wake_cancel or wake_new_request. */
  readonly reason: string;
  /** The utterance to control. */
  readonly id: string | null;
}

/** Where the session's messages go (the service publishes them; tests record them). */
export interface WakeOutputs {
  /** Publish a wake/event. */
  event(event: WakeEventOut): Promise<unknown> | void;
  /** Publish a wake/mic command. */
  mic(command: WakeMicOut): Promise<unknown> | void;
  /** Publish a tts/control command. */
  ttsControl(command: TtsControlOut): Promise<unknown> | void;
}

/** Settings of a {@linkcode WakeSession}. */
export interface WakeSessionSettings {
  /** WAKE_IDLE_TIMEOUT_SEC × 1000; ≤ 0 disables the idle timeout and the mic ttl. */
  readonly idleTimeoutMs: number;
  /** WAKE_INTERRUPT_WINDOW_SEC × 1000. */
  readonly interruptWindowMs: number;
  /** WAKE_ENERGY_BOOST_FACTOR: multiplies the reported energy. */
  readonly energyBoost: number;
  /** Cancel phrases (normalized on use). */
  readonly cancelPhrases: readonly string[];
  /**
   * Longest utterance when a speech_start does not say (`max_ms`), ms; default 20 s
   * (stt-worker's UTTERANCE_MAX_SEC default).
   */
  readonly maxSpeechMs?: number;
}

/** The default of {@linkcode WakeSessionSettings.maxSpeechMs}. */
export const DEFAULT_MAX_SPEECH_MS = 20_000;

/** What the session needs from an stt/vad message. */
export interface SpeechActivityInput {
  /** speech_start or speech_end. */
  readonly event: "speech_start" | "speech_end";
  /** The utterance. */
  readonly utt_id: string;
  /** speech_start: the longest the utterance can last, ms. */
  readonly max_ms?: number | null;
}

/** A detection as the session needs it. */
export interface DetectionInput {
  /** Score 0..1 (clamped again here). */
  readonly score: number;
  /** Window RMS. */
  readonly energy: number;
}

/** Playback state as seen from tts/status. */
export type TtsPlayback = "idle" | "speaking" | "paused";

/** Counters of a {@linkcode WakeSession}. */
export interface SessionCounters {
  /** wake events. */
  wakes: number;
  /** interrupt events. */
  interrupts: number;
  /** resume events. */
  resumes: number;
  /** timeout events. */
  timeouts: number;
  /** cancelled events. */
  cancels: number;
  /** Speech starts that held an open session. */
  speechHolds: number;
  /** Publishes that failed. */
  publishErrors: number;
}

/** The wake lifecycle state machine (see the module description). */
export class WakeSession {
  /** Counters. */
  readonly counters: SessionCounters = {
    wakes: 0,
    interrupts: 0,
    resumes: 0,
    timeouts: 0,
    cancels: 0,
    speechHolds: 0,
    publishErrors: 0,
  };
  readonly #settings: WakeSessionSettings;
  readonly #out: WakeOutputs;
  readonly #cancelPhrases: Set<string>;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  #tts: TtsPlayback = "idle";
  #ttsId: string | null = null;
  #interrupt: { ttsId: string | null } | null = null;
  #sessionOpen = false;
  /** The utterance being spoken in the open session: holds it open. */
  #speech: { uttId: string; maxMs: number } | null = null;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #interruptTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
   * A session publishing through `outputs`. `now` gives epoch seconds for `ts` (default
   * `Date.now() / 1000`); `onError` hears failed publishes.
   */
  constructor(
    settings: WakeSessionSettings,
    outputs: WakeOutputs,
    options: { now?: () => number; onError?: (error: unknown) => void } = {},
  ) {
    this.#settings = settings;
    this.#out = outputs;
    this.#cancelPhrases = new Set(settings.cancelPhrases.map(normalizePhrase));
    this.#now = options.now ?? (() => Date.now() / 1000);
    this.#onError = options.onError ?? (() => {});
  }

  /** Playback state from tts/status. */
  get tts(): TtsPlayback {
    return this.#tts;
  }

  /** The utterance id of the current speech, if known. */
  get ttsId(): string | null {
    return this.#ttsId;
  }

  /** Whether an interrupt is open (speech paused by a wake, waiting for resume or cancel). */
  get interrupted(): boolean {
    return this.#interrupt !== null;
  }

  /** Whether a wake session is open (wake or interrupt, not yet timed out or resolved). */
  get open(): boolean {
    return this.#sessionOpen;
  }

  /** Whether the user is speaking in the open session (it times out only at the watchdog). */
  get speaking(): boolean {
    return this.#speech !== null;
  }

  /**
   * An stt/vad message. A speech_start in an open session holds it (idle and interrupt
   * timers stopped, a watchdog of max_ms + the idle timeout armed); its speech_end restarts
   * the idle timer, which now waits for the transcript. Outside a session: ignored.
   */
  onSpeechActivity(activity: SpeechActivityInput): void {
    if (this.#closed || !this.#sessionOpen) return;
    if (activity.event === "speech_start") {
      const maxMs = activity.max_ms ?? this.#settings.maxSpeechMs ?? DEFAULT_MAX_SPEECH_MS;
      this.#speech = { uttId: activity.utt_id, maxMs };
      this.counters.speechHolds++;
      // The user answers: do not resume the interrupted speech over them.
      this.#clearInterruptTimer();
      this.#armIdleTimer();
      return;
    }
    if (this.#speech && this.#speech.uttId !== activity.utt_id) return;
    this.#speech = null;
    this.#armIdleTimer();
  }

  /** A tts/status message. */
  onTtsStatus(status: Pick<TtsStatus, "event" | "utt_id">): void {
    switch (status.event) {
      case "speaking_start":
        this.#tts = "speaking";
        this.#ttsId = status.utt_id ?? null;
        return;
      case "resumed":
        this.#tts = "speaking";
        if (status.utt_id) this.#ttsId = status.utt_id;
        return;
      case "paused":
        this.#tts = "paused";
        return;
      case "speaking_end":
      case "stopped":
        if (status.utt_id && this.#ttsId && status.utt_id !== this.#ttsId) return;
        this.#tts = "idle";
        this.#ttsId = null;
        return;
    }
  }

  /** A wake-word detection. */
  onDetection(detection: DetectionInput): void {
    if (this.#closed) return;
    const confidence = Math.min(1, Math.max(0, detection.score));
    const energy = Math.max(0, detection.energy * this.#settings.energyBoost);
    const ts = this.#now();
    const ttlMs = this.#settings.idleTimeoutMs > 0
      ? Math.round(this.#settings.idleTimeoutMs)
      : null;
    if (this.#tts === "speaking") {
      const ttsId = this.#ttsId;
      this.#clearInterruptTimer();
      this.#interrupt = { ttsId };
      this.#tts = "paused";
      this.counters.interrupts++;
      this.#send(() =>
        this.#out.event({
          type: "interrupt",
          cause: "double_wake",
          tts_id: ttsId,
          confidence,
          energy,
          ts,
        })
      );
      this.#send(() => this.#out.mic({ action: "unmute", reason: "wake", ttl_ms: ttlMs }));
      this.#send(() =>
        this.#out.ttsControl({ action: "pause", reason: "wake_interrupt", id: ttsId })
      );
      this.#interruptTimer = setTimeout(
        () => this.#resumeAfterInterrupt(),
        this.#settings.interruptWindowMs,
      );
    } else {
      this.counters.wakes++;
      this.#send(() =>
        this.#out.event({ type: "wake", cause: "wake_phrase", confidence, energy, ts })
      );
      this.#send(() => this.#out.mic({ action: "unmute", reason: "wake", ttl_ms: ttlMs }));
    }
    this.#sessionOpen = true;
    this.#armIdleTimer();
  }

  /** A final transcript (stt/final text). */
  onTranscript(text: string): void {
    if (this.#closed || !this.#sessionOpen) return;
    const interrupt = this.#interrupt;
    this.#clearIdleTimer();
    this.#clearInterruptTimer();
    this.#sessionOpen = false;
    this.#speech = null;
    this.#interrupt = null;
    if (!interrupt) return;
    if (this.#cancelPhrases.has(normalizePhrase(text))) {
      this.counters.cancels++;
      this.#send(() =>
        this.#out.ttsControl({ action: "stop", reason: "wake_cancel", id: interrupt.ttsId })
      );
      this.#send(() =>
        this.#out.event({
          type: "cancelled",
          cause: "cancel_phrase",
          tts_id: interrupt.ttsId,
          ts: this.#now(),
        })
      );
    } else {
      this.#send(() =>
        this.#out.ttsControl({ action: "stop", reason: "wake_new_request", id: interrupt.ttsId })
      );
    }
  }

  /** Cancels the timers; nothing is published afterwards. */
  close(): void {
    this.#closed = true;
    this.#clearIdleTimer();
    this.#clearInterruptTimer();
  }

  #resumeAfterInterrupt(): void {
    this.#interruptTimer = undefined;
    const interrupt = this.#interrupt;
    if (!interrupt || this.#closed) return;
    this.#interrupt = null;
    this.counters.resumes++;
    this.#send(() =>
      this.#out.event({
        type: "resume",
        cause: "timeout",
        tts_id: interrupt.ttsId,
        ts: this.#now(),
      })
    );
    this.#send(() =>
      this.#out.ttsControl({ action: "resume", reason: "wake_resume", id: interrupt.ttsId })
    );
  }

  #onIdleTimeout(): void {
    this.#idleTimer = undefined;
    if (this.#closed) return;
    this.#sessionOpen = false;
    const cause = this.#speech ? "max_speech" : "silence";
    this.#speech = null;
    this.counters.timeouts++;
    const interrupt = this.#interrupt;
    this.#interrupt = null;
    this.#clearInterruptTimer();
    this.#send(() =>
      this.#out.event({
        type: "timeout",
        cause,
        tts_id: interrupt?.ttsId ?? null,
        ts: this.#now(),
      })
    );
    if (interrupt) {
      this.#send(() =>
        this.#out.ttsControl({ action: "resume", reason: "wake_timeout", id: interrupt.ttsId })
      );
    }
  }

  /** The idle timer, or while the user speaks the watchdog (max speech + idle timeout). */
  #armIdleTimer(): void {
    this.#clearIdleTimer();
    if (this.#settings.idleTimeoutMs <= 0) return;
    const ms = this.#settings.idleTimeoutMs + (this.#speech?.maxMs ?? 0);
    this.#idleTimer = setTimeout(() => this.#onIdleTimeout(), ms);
  }

  #clearIdleTimer(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #clearInterruptTimer(): void {
    if (this.#interruptTimer !== undefined) clearTimeout(this.#interruptTimer);
    this.#interruptTimer = undefined;
  }

  /** Runs one publish; failures are counted and reported, never thrown. */
  #send(publish: () => Promise<unknown> | void): void {
    try {
      const result = publish();
      if (result instanceof Promise) {
        result.catch((error) => {
          this.counters.publishErrors++;
          this.#onError(error);
        });
      }
    } catch (error) {
      this.counters.publishErrors++;
      this.#onError(error);
    }
  }
}
