/**
 * The microphone state machine (py-tars §4.1 "TTS interplay" and "Wake interplay"): the mic
 * starts muted and opens on wake/mic unmute or (as a fallback) wake/event wake/interrupt; it is
 * muted while TTS speaks (echo guard), opened for the response window after a normal
 * speaking_end, and muted after each published final. Fallback timers unmute when a TTS
 * end never comes. STT_MIC_MODE=open keeps the mic open except during TTS (push-to-talk from
 * ui-web, demos). Pure apart from `setTimeout` (tests use fake timers).
 *
 * Not in py-tars: a listening window that ends by itself (the wake/mic ttl, the wake/event
 * fallback ttl, the end of the response window) does not cut an utterance that started inside
 * it. While an utterance is held ({@linkcode MicState.holdUtterance}, from speech start until
 * the service hands it to the transcriber) the mute waits, at most UTTERANCE_MAX_SEC; it then
 * happens as it would have, mic muted until the next wake. Mutes for TTS (echo guard), an
 * explicit wake/mic mute and the mute after a final are never deferred.
 *
 * @module
 */
import type { MicMode } from "./config.ts";

/** Settings, py-tars names in brackets. */
export interface MicSettings {
  /** "wake" (py-tars) or "open". */
  readonly mode: MicMode;
  /** Fallback unmute after a TTS say or a final [TTS_MAX_MUTE_MS]. */
  readonly ttsMaxMuteMs: number;
  /** Mic open after speaking_end [TTS_RESPONSE_WINDOW_SEC × 1000]. */
  readonly responseWindowMs: number;
  /** Forced unmute this long after wake/event wake if still muted [WAKE_EVENT_FALLBACK_DELAY_MS]. */
  readonly wakeFallbackDelayMs: number;
  /** ... muted again after this long [WAKE_EVENT_FALLBACK_TTL_MS]. */
  readonly wakeFallbackTtlMs: number;
  /**
   * Longest an utterance in progress keeps an expired window open [UTTERANCE_MAX_SEC × 1000];
   * default 20 s.
   */
  readonly maxUtteranceMs?: number;
}

/** The default of {@linkcode MicSettings.maxUtteranceMs} (UTTERANCE_MAX_SEC's default). */
export const DEFAULT_MAX_UTTERANCE_MS = 20_000;

/** Delay between speaking_end and reopening the mic (py-tars 0.2 s: the speaker tail). */
export const SPEAKING_END_SETTLE_MS = 200;

/** A mute/unmute transition. */
export interface MicChange {
  /** The new state. */
  readonly muted: boolean;
  /** Why ("wake/wake", "tts", "post-transcription", "response-window-end", ...). */
  readonly reason: string;
}

/** What a tts/say carries that matters here. */
export interface MicTtsSay {
  /** Text to speak. */
  readonly text: string;
  /** A wake acknowledgement. */
  readonly wake_ack?: boolean | null;
  /** A system announcement. */
  readonly system_announce?: boolean | null;
}

/** What a tts/status carries that matters here. */
export interface MicTtsStatus {
  /** speaking_start, speaking_end, paused, resumed, stopped. */
  readonly event: string;
  /** A wake acknowledgement. */
  readonly wake_ack?: boolean | null;
  /** A system announcement. */
  readonly system_announce?: boolean | null;
}

type Timer = ReturnType<typeof setTimeout>;

/** The state machine. */
export class MicState {
  readonly #s: MicSettings;
  readonly #onChange: (change: MicChange) => void;
  #muted: boolean;
  #pendingTts = false;
  #inResponseWindow = false;
  #stayMutedUntilWake = false;
  #mutedBeforeTts = true;
  #lastUnmuteAt = Number.NEGATIVE_INFINITY;
  readonly #timers = new Map<string, Timer>();
  /** Utterances that started while listening and are not yet handed to the transcriber. */
  readonly #held = new Set<string>();
  /** A window end waiting for the held utterances. */
  #deferredMute: { reason: string; untilWake: boolean } | null = null;

  /**
   * @param settings timings and mode.
   * @param onChange told about every transition.
   */
  constructor(settings: MicSettings, onChange: (change: MicChange) => void = () => {}) {
    this.#s = settings;
    this.#onChange = onChange;
    this.#muted = settings.mode !== "open";
  }

  /** Whether the mic is muted. */
  get muted(): boolean {
    return this.#muted;
  }

  /** Whether TTS is expected or playing. */
  get pendingTts(): boolean {
    return this.#pendingTts;
  }

  /** Whether the response window after TTS is open. */
  get inResponseWindow(): boolean {
    return this.#inResponseWindow;
  }

  /** Whether audio should be segmented and transcribed now. */
  get listening(): boolean {
    return !this.#muted && !this.#pendingTts;
  }

  /** `Date.now()` of the last unmute (for UNMUTE_GUARD_MS). */
  get lastUnmuteAt(): number {
    return this.#lastUnmuteAt;
  }

  /** Whether a window has ended and its mute waits for an utterance in progress. */
  get muteDeferred(): boolean {
    return this.#deferredMute !== null;
  }

  /**
   * Speech of utterance `id` started: a window that ends before the utterance is released
   * stays open until then (at most `maxUtteranceMs`). Ignored when not listening, and once a
   * window has ended (speech starting after its end is not inside it).
   */
  holdUtterance(id: string): void {
    if (!this.listening || this.#deferredMute !== null) return;
    this.#held.add(id);
  }

  /**
   * Utterance `id` no longer needs the mic: handed to the transcriber, dropped as a blip or
   * cut by a mute. The last release applies a deferred window end.
   */
  releaseUtterance(id: string): void {
    this.#held.delete(id);
    if (this.#held.size === 0 && this.#deferredMute !== null) this.#applyDeferredMute();
  }

  /** tts/say: a normal say mutes until playback ends; a wake ack opens the mic. */
  onTtsSay(say: MicTtsSay): void {
    if (say.wake_ack) {
      if (this.#s.mode === "wake") this.#unmute("tts/wake_ack");
      return;
    }
    if (say.text.trim() === "") return;
    this.#beginTts("tts/say");
  }

  /** tts/status transitions. */
  onTtsStatus(status: MicTtsStatus): void {
    switch (status.event) {
      case "speaking_start":
        if (status.wake_ack) {
          if (this.#s.mode === "wake") this.#unmute("tts/wake_ack");
          return;
        }
        this.#beginTts("tts/speaking");
        return;
      case "speaking_end":
      case "stopped":
        if (status.wake_ack) return;
        if (!this.#pendingTts && !this.#muted) return;
        this.#arm("tts-end", SPEAKING_END_SETTLE_MS, () => this.#endTts(status));
        return;
      default: // paused, resumed: playback continues or may continue; stay as we are
        return;
    }
  }

  /** wake/mic: explicit mute/unmute with an optional ttl. */
  onWakeMic(command: { action: "mute" | "unmute"; reason?: string; ttl_ms?: number | null }): void {
    const reason = command.reason ?? "wake";
    this.#cancel("fallback", "wake-fallback", "wake-fallback-ttl", "mic-ttl");
    this.#clearDeferredMute();
    if (command.action === "unmute") {
      this.#pendingTts = false;
      this.#stayMutedUntilWake = false;
      this.#cancel("tts-max", "tts-end");
      this.#unmute(`wake/${reason}`);
      if (command.ttl_ms && command.ttl_ms > 0) {
        this.#arm("mic-ttl", command.ttl_ms, () => {
          if (this.#s.mode === "open") return;
          this.#endWindow(`wake/ttl/${reason}`, true);
        });
      }
    } else {
      if (this.#s.mode === "open") return;
      this.#mute(`wake/${reason}`);
      if (command.ttl_ms && command.ttl_ms > 0) {
        this.#arm("mic-ttl", command.ttl_ms, () => this.#unmute(`wake/ttl/${reason}`));
      }
    }
  }

  /** wake/event: wake/interrupt arm the fallback unmute; timeout/cancelled/resume cancel it. */
  onWakeEvent(event: { type: string }): void {
    if (event.type === "wake" || event.type === "interrupt") {
      const delay = event.type === "interrupt" ? 0 : this.#s.wakeFallbackDelayMs;
      this.#arm("wake-fallback", delay, () => {
        if (!this.#muted) return;
        this.#pendingTts = false;
        this.#stayMutedUntilWake = false;
        this.#unmute(`wake-event/${event.type}`);
        this.#arm("wake-fallback-ttl", this.#s.wakeFallbackTtlMs, () => {
          if (this.#s.mode === "wake") this.#endWindow(`wake-event/${event.type}/ttl`, false);
        });
      });
    } else if (["timeout", "cancelled", "resume"].includes(event.type)) {
      this.#cancel("wake-fallback", "wake-fallback-ttl");
    }
  }

  /** A final was published: mute until the answer (wake mode) with the fallback armed. */
  onFinalPublished(): void {
    if (this.#s.mode === "open") return;
    this.#inResponseWindow = false;
    this.#cancel("response-window", "mic-ttl");
    // The window ended while this utterance was spoken: after it, wait for the next wake.
    const deferred = this.#deferredMute;
    this.#clearDeferredMute();
    if (deferred?.untilWake) this.#stayMutedUntilWake = true;
    this.#mute("post-transcription");
    this.#arm("fallback", this.#s.ttsMaxMuteMs, () => {
      if (this.#muted && !this.#pendingTts && !this.#stayMutedUntilWake) {
        this.#unmute("fallback/no-tts");
      }
    });
  }

  /** Stops every timer. */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #beginTts(reason: string): void {
    if (!this.#pendingTts) this.#mutedBeforeTts = this.#muted;
    this.#pendingTts = true;
    this.#inResponseWindow = false;
    this.#cancel("response-window", "tts-end", "fallback", "mic-ttl");
    this.#clearDeferredMute();
    this.#mute(reason);
    this.#arm("tts-max", this.#s.ttsMaxMuteMs, () => {
      this.#pendingTts = false;
      this.#unmute("tts/max-mute");
    });
  }

  #endTts(status: MicTtsStatus): void {
    this.#cancel("tts-max");
    this.#pendingTts = false;
    this.#clearDeferredMute();
    const special = status.system_announce || status.event === "stopped";
    if (this.#s.mode === "open") {
      this.#unmute("tts/end");
      return;
    }
    if (special) {
      // No response window: back to what it was before playback.
      if (!this.#mutedBeforeTts) this.#unmute("tts/end");
      return;
    }
    this.#inResponseWindow = true;
    this.#stayMutedUntilWake = false;
    this.#unmute("response-window");
    this.#arm("response-window", this.#s.responseWindowMs, () => {
      this.#inResponseWindow = false;
      if (this.#pendingTts) return;
      this.#endWindow("response-window-end", true);
    });
  }

  /**
   * A listening window ended: mute (`untilWake`: no fallback unmute before the next wake),
   * unless an utterance that started inside the window is still held; then the mute waits for
   * its release, at most `maxUtteranceMs`.
   */
  #endWindow(reason: string, untilWake: boolean): void {
    if (this.#held.size === 0 || this.#muted) {
      if (untilWake) this.#stayMutedUntilWake = true;
      this.#mute(reason);
      return;
    }
    this.#deferredMute = { reason, untilWake };
    this.#arm(
      "speech-hold",
      this.#s.maxUtteranceMs ?? DEFAULT_MAX_UTTERANCE_MS,
      () => this.#applyDeferredMute(),
    );
  }

  #applyDeferredMute(): void {
    const deferred = this.#deferredMute;
    this.#clearDeferredMute();
    if (deferred === null) return;
    if (deferred.untilWake) this.#stayMutedUntilWake = true;
    this.#mute(deferred.reason);
  }

  /** Forgets a deferred window end. */
  #clearDeferredMute(): void {
    this.#deferredMute = null;
    this.#cancel("speech-hold");
  }

  #mute(reason: string): void {
    if (this.#muted) return;
    this.#held.clear(); // a muted mic holds nothing: the service drops what was in progress
    this.#muted = true;
    this.#onChange({ muted: true, reason });
  }

  #unmute(reason: string): void {
    if (!this.#muted) return;
    this.#muted = false;
    this.#lastUnmuteAt = Date.now();
    this.#onChange({ muted: false, reason });
  }

  #arm(name: string, ms: number, action: () => void): void {
    this.#cancel(name);
    this.#timers.set(
      name,
      setTimeout(() => {
        this.#timers.delete(name);
        action();
      }, ms),
    );
  }

  #cancel(...names: string[]): void {
    for (const name of names) {
      const timer = this.#timers.get(name);
      if (timer !== undefined) clearTimeout(timer);
      this.#timers.delete(name);
    }
  }
}
