/**
 * A {@linkcode RouterCore} driven by a fake clock (@sinonjs/fake-timers `createClock`, no
 * globals touched) that records everything it publishes, for the router's unit tests.
 *
 * @module
 */
import FakeTimers from "@sinonjs/fake-timers";
import { FinalTranscript, LLMResponse, LLMStreamDelta, WakeEvent } from "../../core/mod.ts";
import { readRouterConfig } from "../../services/router/config.ts";
import {
  type LlmRequestMessage,
  type MovementTestMessage,
  type RouterClock,
  RouterCore,
  type SayMessage,
} from "../../services/router/router.ts";

/** 2026-01-15 15:07:00 UTC, a Thursday afternoon. */
export const FAKE_START_MS = Date.UTC(2026, 0, 15, 15, 7, 0);

/** One recorded output of the router, in publish order. */
export type RecordedOutput =
  | { readonly topic: "tts/say"; readonly say: SayMessage }
  | {
    readonly topic: "llm/request";
    readonly request: LlmRequestMessage;
    readonly correlationId: string;
  }
  | { readonly topic: "llm/cancel"; readonly id: string }
  | { readonly topic: "movement/test"; readonly move: MovementTestMessage }
  | { readonly topic: "router/live_mode"; readonly enabled: boolean }
  | { readonly topic: "movement/stop"; readonly reason: string };

/** A router under test. */
export interface FakeRouter {
  /** The state machine. */
  readonly core: RouterCore;
  /** The fake clock (`tick`, `now`). */
  readonly clock: FakeTimers.Clock;
  /** Everything published, in order. */
  readonly outputs: RecordedOutput[];
  /** The texts of tts/say, in order. */
  said(): string[];
  /** The llm/request messages, in order. */
  requests(): LlmRequestMessage[];
  /** The ids of llm/cancel, in order. */
  cancels(): string[];
  /** Feeds an stt/final with `text` (and extra fields). */
  final(text: string, extra?: Record<string, unknown>, source?: string): string;
  /** Feeds a wake/event of `type`. */
  wake(type: string, extra?: Record<string, unknown>): void;
  /** Feeds an llm/stream chunk. */
  chunk(id: string, seq: number | null, delta: string | null, done?: boolean): void;
  /** Feeds an llm/response. */
  respond(id: string, fields: { reply?: string; error?: string }): void;
  /** Clears the recorded outputs. */
  clear(): void;
}

/** Builds a router from `env` (router variables) with a fake clock at {@linkcode FAKE_START_MS}. */
export function fakeRouter(env: Record<string, string> = {}): FakeRouter {
  const clock = FakeTimers.createClock(FAKE_START_MS);
  const routerClock: RouterClock = {
    now: () => clock.now,
    setTimeout: (callback, ms) => clock.setTimeout(callback, ms),
    clearTimeout: (handle) => clock.clearTimeout(handle as FakeTimers.TimerId),
  };
  const outputs: RecordedOutput[] = [];
  const config = readRouterConfig({ ROUTER_TIME_ZONE: "UTC", ...env });
  let counter = 0;
  const core = new RouterCore(config, {
    say: (say) => outputs.push({ topic: "tts/say", say }),
    requestLlm: (request, correlationId) =>
      outputs.push({ topic: "llm/request", request, correlationId }),
    cancelLlm: (id) => outputs.push({ topic: "llm/cancel", id }),
    move: (move) => outputs.push({ topic: "movement/test", move }),
    stopMovement: (reason) => outputs.push({ topic: "movement/stop", reason }),
    liveModeChanged: (enabled) => outputs.push({ topic: "router/live_mode", enabled }),
  }, { clock: routerClock, randomHex: () => (++counter).toString(16).padStart(8, "0") });
  return {
    core,
    clock,
    outputs,
    said: () => outputs.flatMap((o) => o.topic === "tts/say" ? [o.say.text] : []),
    requests: () => outputs.flatMap((o) => o.topic === "llm/request" ? [o.request] : []),
    cancels: () => outputs.flatMap((o) => o.topic === "llm/cancel" ? [o.id] : []),
    final(text, extra = {}, source) {
      const final = FinalTranscript.parse({ text, ...extra });
      return core.onFinal(final, { source });
    },
    wake: (type, extra = {}) => core.onWake(WakeEvent.parse({ type, ...extra })),
    chunk: (id, seq, delta, done = false) =>
      core.onStream(LLMStreamDelta.parse({ id, seq, delta, done })),
    respond: (id, fields) => core.onResponse(LLMResponse.parse({ id, ...fields })),
    clear: () => {
      outputs.length = 0;
    },
  };
}
