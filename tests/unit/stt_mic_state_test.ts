/**
 * stt-worker microphone state machine with fake time (@sinonjs/fake-timers): starts muted,
 * wake/mic unmute with ttl, wake/event fallback, TTS echo guard, response window, post-final
 * mute and fallback unmute, open mode.
 */
import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import {
  type MicChange,
  type MicSettings,
  MicState,
  SPEAKING_END_SETTLE_MS,
} from "../../services/stt-worker/mic_state.ts";

const SETTINGS: MicSettings = {
  mode: "wake",
  ttsMaxMuteMs: 12_000,
  responseWindowMs: 10_000,
  wakeFallbackDelayMs: 250,
  wakeFallbackTtlMs: 3_500,
};

function withMic(
  settings: Partial<MicSettings>,
  body: (mic: MicState, changes: MicChange[], clock: ReturnType<typeof FakeTimers.install>) => void,
): void {
  const clock = FakeTimers.install({ now: 1_700_000_000_000 });
  const changes: MicChange[] = [];
  const mic = new MicState({ ...SETTINGS, ...settings }, (c) => changes.push(c));
  try {
    body(mic, changes, clock);
  } finally {
    mic.close();
    clock.uninstall();
  }
}

Deno.test("stt mic: starts muted; wake/mic unmute opens it and its ttl closes it", () => {
  withMic({}, (mic, changes, clock) => {
    assert.equal(mic.muted, true);
    assert.equal(mic.listening, false);
    mic.onWakeMic({ action: "unmute", reason: "wake", ttl_ms: 3_000 });
    assert.equal(mic.listening, true);
    assert.equal(mic.lastUnmuteAt, Date.now());
    clock.tick(2_999);
    assert.equal(mic.muted, false);
    clock.tick(1);
    assert.equal(mic.muted, true);
    assert.deepEqual(changes, [
      { muted: false, reason: "wake/wake" },
      { muted: true, reason: "wake/ttl/wake" },
    ]);
  });
});

Deno.test("stt mic: wake/mic mute with ttl unmutes later", () => {
  withMic({}, (mic, _changes, clock) => {
    mic.onWakeMic({ action: "unmute" });
    mic.onWakeMic({ action: "mute", reason: "user", ttl_ms: 1_000 });
    assert.equal(mic.muted, true);
    clock.tick(1_000);
    assert.equal(mic.muted, false);
  });
});

Deno.test("stt mic: wake/event wake unmutes after the fallback delay if still muted", () => {
  withMic({}, (mic, changes, clock) => {
    mic.onWakeEvent({ type: "wake" });
    clock.tick(249);
    assert.equal(mic.muted, true);
    clock.tick(1);
    assert.equal(mic.muted, false);
    assert.equal(changes.at(-1)?.reason, "wake-event/wake");
    clock.tick(3_500);
    assert.equal(mic.muted, true);
    assert.equal(changes.at(-1)?.reason, "wake-event/wake/ttl");
  });
});

Deno.test("stt mic: a wake/mic unmute before the fallback makes it a no-op; timeout cancels it", () => {
  withMic({}, (mic, changes, clock) => {
    mic.onWakeEvent({ type: "wake" });
    mic.onWakeMic({ action: "unmute", ttl_ms: 3_000 });
    clock.tick(10_000);
    assert.deepEqual(changes.map((c) => c.reason), ["wake/wake", "wake/ttl/wake"]);
    mic.onWakeEvent({ type: "interrupt" });
    mic.onWakeEvent({ type: "timeout" });
    clock.tick(10_000);
    assert.equal(mic.muted, true);
  });
});

Deno.test("stt mic: interrupt forces an immediate unmute", () => {
  withMic({}, (mic, _changes, clock) => {
    mic.onWakeEvent({ type: "interrupt" });
    clock.tick(0);
    assert.equal(mic.muted, false);
  });
});

Deno.test("stt mic: TTS mutes (echo guard), speaking_end opens the response window, then mutes", () => {
  withMic({}, (mic, changes, clock) => {
    mic.onWakeMic({ action: "unmute" });
    mic.onTtsSay({ text: "It is three o'clock." });
    assert.equal(mic.muted, true);
    assert.equal(mic.pendingTts, true);
    mic.onTtsStatus({ event: "speaking_start" });
    clock.tick(4_000);
    assert.equal(mic.muted, true);
    mic.onTtsStatus({ event: "speaking_end" });
    clock.tick(SPEAKING_END_SETTLE_MS - 1);
    assert.equal(mic.muted, true);
    clock.tick(1);
    assert.equal(mic.listening, true);
    assert.equal(mic.inResponseWindow, true);
    clock.tick(10_000);
    assert.equal(mic.muted, true);
    assert.equal(mic.inResponseWindow, false);
    assert.deepEqual(changes.map((c) => c.reason), [
      "wake/wake",
      "tts/say",
      "response-window",
      "response-window-end",
    ]);
    // the fallback after a final does not reopen once the window closed ("stay muted until wake")
    mic.onFinalPublished();
    clock.tick(20_000);
    assert.equal(mic.muted, true);
  });
});

Deno.test("stt mic: a wake ack unmutes; a system announcement gets no response window", () => {
  withMic({}, (mic, _changes, clock) => {
    mic.onTtsSay({ text: "Yes?", wake_ack: true });
    assert.equal(mic.muted, false);
    mic.onTtsStatus({ event: "speaking_start", wake_ack: true });
    mic.onTtsStatus({ event: "speaking_end", wake_ack: true });
    clock.tick(1_000);
    assert.equal(mic.muted, false);
    mic.onWakeMic({ action: "mute" });
    mic.onTtsStatus({ event: "speaking_start", system_announce: true });
    mic.onTtsStatus({ event: "speaking_end", system_announce: true });
    clock.tick(1_000);
    assert.equal(mic.muted, true);
    assert.equal(mic.pendingTts, false);
    assert.equal(mic.inResponseWindow, false);
  });
});

Deno.test("stt mic: TTS_MAX_MUTE_MS unmutes when speaking_end never comes", () => {
  withMic({}, (mic, changes, clock) => {
    mic.onTtsSay({ text: "A long story" });
    clock.tick(12_000);
    assert.equal(mic.muted, false);
    assert.equal(mic.pendingTts, false);
    assert.equal(changes.at(-1)?.reason, "tts/max-mute");
  });
});

Deno.test("stt mic: a final mutes; no TTS within TTS_MAX_MUTE_MS → fallback unmute", () => {
  withMic({}, (mic, changes, clock) => {
    mic.onWakeMic({ action: "unmute" });
    mic.onFinalPublished();
    assert.equal(mic.muted, true);
    clock.tick(11_999);
    assert.equal(mic.muted, true);
    clock.tick(1);
    assert.equal(mic.muted, false);
    assert.equal(changes.at(-1)?.reason, "fallback/no-tts");
    // with TTS arriving, the fallback is replaced by the TTS flow
    mic.onFinalPublished();
    mic.onTtsSay({ text: "answer" });
    clock.tick(11_999);
    assert.equal(mic.muted, true);
  });
});

Deno.test("stt mic: open mode listens from the start, mutes only during TTS", () => {
  withMic({ mode: "open" }, (mic, _changes, clock) => {
    assert.equal(mic.listening, true);
    mic.onFinalPublished();
    assert.equal(mic.listening, true);
    mic.onWakeMic({ action: "mute" });
    assert.equal(mic.listening, true);
    mic.onTtsStatus({ event: "speaking_start" });
    assert.equal(mic.listening, false);
    mic.onTtsStatus({ event: "speaking_end" });
    clock.tick(SPEAKING_END_SETTLE_MS);
    assert.equal(mic.listening, true);
    clock.tick(60_000);
    assert.equal(mic.listening, true);
  });
});

Deno.test("stt mic: an utterance started before the wake ttl keeps the mic open until it is handed over", () => {
  withMic({ maxUtteranceMs: 20_000 }, (mic, changes, clock) => {
    mic.onWakeMic({ action: "unmute", reason: "wake", ttl_ms: 3_000 });
    clock.tick(1_500); // the pause after the wake phrase
    mic.holdUtterance("u1");
    clock.tick(4_000); // a 4 s sentence runs past the ttl
    assert.equal(mic.listening, true);
    assert.equal(mic.muteDeferred, true);
    mic.releaseUtterance("u1"); // handed to the transcriber
    assert.equal(mic.muted, true);
    assert.equal(mic.muteDeferred, false);
    assert.deepEqual(changes, [
      { muted: false, reason: "wake/wake" },
      { muted: true, reason: "wake/ttl/wake" },
    ]);
    // the window had ended: the final's fallback does not reopen the mic before a wake
    mic.onFinalPublished();
    clock.tick(60_000);
    assert.equal(mic.muted, true);
  });
});

Deno.test("stt mic: without speech the wake ttl mutes on time; a release before the ttl changes nothing", () => {
  withMic({}, (mic, changes, clock) => {
    mic.onWakeMic({ action: "unmute", reason: "wake", ttl_ms: 3_000 });
    mic.holdUtterance("u1");
    clock.tick(1_000);
    mic.releaseUtterance("u1"); // a blip
    assert.equal(mic.muted, false);
    clock.tick(2_000);
    assert.equal(mic.muted, true);
    assert.deepEqual(changes.map((c) => c.reason), ["wake/wake", "wake/ttl/wake"]);
  });
});

Deno.test("stt mic: a held utterance keeps an expired window open at most UTTERANCE_MAX_SEC", () => {
  withMic({ maxUtteranceMs: 10_000 }, (mic, changes, clock) => {
    mic.onWakeMic({ action: "unmute", reason: "wake", ttl_ms: 3_000 });
    mic.holdUtterance("u1");
    clock.tick(3_000 + 9_999);
    assert.equal(mic.muted, false);
    clock.tick(1);
    assert.equal(mic.muted, true);
    assert.equal(changes.at(-1)?.reason, "wake/ttl/wake");
    mic.releaseUtterance("u1"); // too late: nothing more happens
    assert.equal(changes.length, 2);
  });
});

Deno.test("stt mic: speech starting after the window ended does not hold it", () => {
  withMic({}, (mic, _changes, clock) => {
    mic.onWakeMic({ action: "unmute", reason: "wake", ttl_ms: 3_000 });
    mic.holdUtterance("u1");
    clock.tick(3_500);
    mic.holdUtterance("u2"); // started after the ttl, while u1 is still held
    mic.releaseUtterance("u1");
    assert.equal(mic.muted, true);
    // holding while muted is ignored
    mic.holdUtterance("u3");
    mic.onWakeMic({ action: "unmute", reason: "wake", ttl_ms: 3_000 });
    clock.tick(3_000);
    assert.equal(mic.muted, true);
  });
});

Deno.test("stt mic: TTS and explicit mutes are never deferred by speech", () => {
  withMic({}, (mic, _changes, clock) => {
    mic.onWakeMic({ action: "unmute", reason: "wake", ttl_ms: 3_000 });
    mic.holdUtterance("u1");
    mic.onTtsSay({ text: "It is three o'clock." });
    assert.equal(mic.muted, true);
    mic.onWakeMic({ action: "unmute", reason: "wake", ttl_ms: 3_000 });
    mic.holdUtterance("u2");
    mic.onWakeMic({ action: "mute", reason: "user" });
    assert.equal(mic.muted, true);
    clock.tick(1);
  });
});

Deno.test("stt mic: the response window and the wake/event fallback ttl also wait for a held utterance", () => {
  withMic({}, (mic, changes, clock) => {
    mic.onWakeMic({ action: "unmute" });
    mic.onTtsSay({ text: "What else?" });
    mic.onTtsStatus({ event: "speaking_end" });
    clock.tick(SPEAKING_END_SETTLE_MS + 9_000);
    mic.holdUtterance("follow-up");
    clock.tick(3_000); // the 10 s response window ends mid-sentence
    assert.equal(mic.listening, true);
    mic.releaseUtterance("follow-up");
    assert.equal(changes.at(-1)?.reason, "response-window-end");

    mic.onWakeEvent({ type: "wake" }); // no wake/mic: the fallback opens the mic for 3.5 s
    clock.tick(250);
    assert.equal(mic.listening, true);
    mic.holdUtterance("u2");
    clock.tick(5_000);
    assert.equal(mic.listening, true);
    mic.releaseUtterance("u2");
    assert.equal(changes.at(-1)?.reason, "wake-event/wake/ttl");
  });
});
