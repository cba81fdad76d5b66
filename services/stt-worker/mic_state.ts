/**
 * The microphone state machine (py-tars §4.1 "TTS interplay" and "Wake interplay"): the mic
 * starts muted and opens on wake/mic unmute or (as a fallback) wake/event wake/interrupt; it is
 * muted while TTS speaks (echo guard), opened for the response window after a normal
 * speaking_end, and muted after each published final. Fallback timers unmute when a TTS
 * end never comes. STT_MIC_MODE=open keeps the mic open except during TTS (push-to-talk from
 * ui-web, demos). Pure apart from `setTimeout` (tests use fake timers).
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
}

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
    if (command.action === "unmute") {
      this.#pendingTts = false;
      this.#stayMutedUntilWake = false;
      this.#cancel("tts-max", "tts-end");
      this.#unmute(`wake/${reason}`);
      if (command.ttl_ms && command.ttl_ms > 0) {
        this.#arm("mic-ttl", command.ttl_ms, () => {
          if (this.#s.mode === "open") return;
          this.#stayMutedUntilWake = true;
          this.#mute(`wake/ttl/${reason}`);
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
          if (this.#s.mode === "wake") this.#mute(`wake-event/${event.type}/ttl`);
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
    this.#mute(reason);
    this.#arm("tts-max", this.#s.ttsMaxMuteMs, () => {
      this.#pendingTts = false;
      this.#unmute("tts/max-mute");
    });
  }

  #endTts(status: MicTtsStatus): void {
    this.#cancel("tts-max");
    this.#pendingTts = false;
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
      this.#stayMutedUntilWake = true;
      this.#mute("response-window-end");
    });
  }

  #mute(reason: string): void {
    if (this.#muted) return;
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
