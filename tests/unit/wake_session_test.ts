/**
 * The wake lifecycle state machine with fake time (@sinonjs/fake-timers): wake, interrupt of
 * speaking TTS, resume after the window, idle timeout, cancel phrases and new requests during
 * an interrupt, and TTS state from tts/status.
 */
import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import {
  DEFAULT_CANCEL_PHRASES,
  normalizePhrase,
  type TtsControlOut,
  type WakeEventOut,
  type WakeMicOut,
  WakeSession,
  type WakeSessionSettings,
} from "../../services/wake-activation/session.ts";

type Sent =
  | { kind: "event"; data: WakeEventOut }
  | { kind: "mic"; data: WakeMicOut }
  | { kind: "tts"; data: TtsControlOut };

const SETTINGS: WakeSessionSettings = {
  idleTimeoutMs: 3_000,
  interruptWindowMs: 2_500,
  energyBoost: 1.5,
  cancelPhrases: DEFAULT_CANCEL_PHRASES,
};

function setup(settings: Partial<WakeSessionSettings> = {}) {
  const clock = FakeTimers.install({ now: 1_700_000_000_000 });
  const sent: Sent[] = [];
  const session = new WakeSession({ ...SETTINGS, ...settings }, {
    event: (data) => void sent.push({ kind: "event", data }),
    mic: (data) => void sent.push({ kind: "mic", data }),
    ttsControl: (data) => void sent.push({ kind: "tts", data }),
  });
  const summary = () =>
    sent.map((s) =>
      s.kind === "event"
        ? `event:${s.data.type}:${s.data.cause}`
        : s.kind === "mic"
        ? `mic:${s.data.action}:${s.data.ttl_ms}`
        : `tts:${s.data.action}:${s.data.reason}:${s.data.id}`
    );
  return {
    clock,
    sent,
    session,
    summary,
    [Symbol.dispose]() {
      session.close();
      clock.uninstall();
    },
  };
}

Deno.test("wake session: a wake publishes wake/event + wake/mic unmute (ttl = idle), then timeout", () => {
  using t = setup();
  t.session.onDetection({ score: 1.2, energy: 0.1 });
  assert.deepEqual(t.summary(), ["event:wake:wake_phrase", "mic:unmute:3000"]);
  const wake = t.sent[0].data as WakeEventOut;
  assert.equal(wake.confidence, 1); // clamped
  assert.ok(Math.abs((wake.energy ?? 0) - 0.15) < 1e-9); // × WAKE_ENERGY_BOOST_FACTOR
  assert.equal(wake.ts, 1_700_000_000);
  assert.equal(t.session.open, true);
  t.clock.tick(2_999);
  assert.equal(t.sent.length, 2);
  t.clock.tick(1);
  assert.deepEqual(t.summary().slice(2), ["event:timeout:silence"]);
  assert.equal(t.session.open, false);
  assert.equal(t.session.counters.timeouts, 1);
});

Deno.test("wake session: a second wake restarts the idle timer", () => {
  using t = setup();
  t.session.onDetection({ score: 0.9, energy: 0.1 });
  t.clock.tick(2_000);
  t.session.onDetection({ score: 0.9, energy: 0.1 });
  t.clock.tick(2_000);
  assert.ok(!t.summary().includes("event:timeout:silence"));
  t.clock.tick(1_000);
  assert.equal(t.summary().filter((s) => s === "event:timeout:silence").length, 1);
});

Deno.test("wake session: a transcript after a wake closes the session (no timeout)", () => {
  using t = setup();
  t.session.onDetection({ score: 0.9, energy: 0.1 });
  t.clock.tick(1_000);
  t.session.onTranscript("what time is it");
  t.clock.tick(10_000);
  assert.deepEqual(t.summary(), ["event:wake:wake_phrase", "mic:unmute:3000"]);
  // A transcript with no session open does nothing.
  t.session.onTranscript("stop");
  assert.equal(t.sent.length, 2);
});

Deno.test("wake session: speech that starts in the session holds it past the idle timeout until it ends", () => {
  using t = setup();
  t.session.onDetection({ score: 0.9, energy: 0.1 });
  t.clock.tick(1_500); // a pause after the wake phrase
  t.session.onSpeechActivity({ event: "speech_start", utt_id: "u1", max_ms: 20_000 });
  assert.equal(t.session.speaking, true);
  t.clock.tick(4_000); // a 4 s sentence: 5.5 s after the wake, beyond the 3 s idle timeout
  assert.deepEqual(t.summary(), ["event:wake:wake_phrase", "mic:unmute:3000"]);
  assert.equal(t.session.open, true);
  t.session.onSpeechActivity({ event: "speech_end", utt_id: "u1" });
  assert.equal(t.session.speaking, false);
  t.clock.tick(1_000); // transcription
  t.session.onTranscript("hello robot, how are you today");
  t.clock.tick(30_000);
  assert.deepEqual(t.summary(), ["event:wake:wake_phrase", "mic:unmute:3000"]);
  assert.equal(t.session.open, false);
  assert.equal(t.session.counters.speechHolds, 1);
});

Deno.test("wake session: after speech that gives no transcript, the idle timeout runs again from its end", () => {
  using t = setup();
  t.session.onDetection({ score: 0.9, energy: 0.1 });
  t.clock.tick(2_000);
  t.session.onSpeechActivity({ event: "speech_start", utt_id: "u1", max_ms: 20_000 });
  t.clock.tick(2_000);
  t.session.onSpeechActivity({ event: "speech_end", utt_id: "u1" }); // a cough: suppressed
  t.clock.tick(2_999);
  assert.equal(t.session.counters.timeouts, 0);
  t.clock.tick(1);
  assert.deepEqual(t.summary().slice(2), ["event:timeout:silence"]);
});

Deno.test("wake session: silence after a wake still times out at the idle timeout", () => {
  using t = setup();
  t.session.onDetection({ score: 0.9, energy: 0.1 });
  t.clock.tick(3_000);
  assert.deepEqual(t.summary().slice(2), ["event:timeout:silence"]);
  // speech after the session ended does not reopen it
  t.session.onSpeechActivity({ event: "speech_start", utt_id: "late", max_ms: 20_000 });
  assert.equal(t.session.speaking, false);
  t.session.onSpeechActivity({ event: "speech_end", utt_id: "late" });
  t.clock.tick(30_000);
  assert.equal(t.session.counters.timeouts, 1);
});

Deno.test("wake session: speech that never ends times out at max_ms + the idle timeout", () => {
  using t = setup();
  t.session.onDetection({ score: 0.9, energy: 0.1 });
  t.session.onSpeechActivity({ event: "speech_start", utt_id: "u1", max_ms: 10_000 });
  t.clock.tick(12_999);
  assert.equal(t.session.counters.timeouts, 0);
  t.clock.tick(1);
  assert.deepEqual(t.summary().slice(2), ["event:timeout:max_speech"]);
  assert.equal(t.session.speaking, false);
  // without max_ms, the setting (default 20 s) bounds it
  t.session.onDetection({ score: 0.9, energy: 0.1 });
  t.session.onSpeechActivity({ event: "speech_start", utt_id: "u2" });
  t.clock.tick(22_999);
  assert.equal(t.session.counters.timeouts, 1);
  t.clock.tick(1);
  assert.equal(t.session.counters.timeouts, 2);
});

Deno.test("wake session: the speech_end of another utterance does not release the hold", () => {
  using t = setup();
  t.session.onDetection({ score: 0.9, energy: 0.1 });
  t.session.onSpeechActivity({ event: "speech_start", utt_id: "u2", max_ms: 20_000 });
  t.session.onSpeechActivity({ event: "speech_end", utt_id: "u1" });
  t.clock.tick(10_000);
  assert.equal(t.session.speaking, true);
  assert.equal(t.session.counters.timeouts, 0);
});

Deno.test("wake session: speech during an interrupt holds the paused TTS until the transcript", () => {
  using t = setup();
  t.session.onTtsStatus({ event: "speaking_start", utt_id: "utt-9" });
  t.session.onDetection({ score: 0.8, energy: 0.2 });
  t.clock.tick(1_000);
  t.session.onSpeechActivity({ event: "speech_start", utt_id: "u1", max_ms: 20_000 });
  t.clock.tick(5_000); // past the 2.5 s interrupt window and the 3 s idle timeout
  assert.equal(t.sent.length, 3); // no resume over the user's voice, no timeout
  t.session.onSpeechActivity({ event: "speech_end", utt_id: "u1" });
  t.session.onTranscript("what is the weather");
  assert.deepEqual(t.summary().slice(3), ["tts:stop:wake_new_request:utt-9"]);
  t.clock.tick(30_000);
  assert.equal(t.sent.length, 4);
});

Deno.test("wake session: wake while TTS speaks interrupts (pause), then resumes after the window", () => {
  using t = setup();
  t.session.onTtsStatus({ event: "speaking_start", utt_id: "utt-1" });
  assert.equal(t.session.tts, "speaking");
  t.session.onDetection({ score: 0.8, energy: 0.2 });
  assert.deepEqual(t.summary(), [
    "event:interrupt:double_wake",
    "mic:unmute:3000",
    "tts:pause:wake_interrupt:utt-1",
  ]);
  assert.equal((t.sent[0].data as WakeEventOut).tts_id, "utt-1");
  assert.equal(t.session.interrupted, true);
  t.clock.tick(2_499);
  assert.equal(t.sent.length, 3);
  t.clock.tick(1);
  assert.deepEqual(t.summary().slice(3), [
    "event:resume:timeout",
    "tts:resume:wake_resume:utt-1",
  ]);
  assert.equal(t.session.interrupted, false);
  t.clock.tick(500); // the idle timer still closes the wake session
  assert.deepEqual(t.summary().slice(5), ["event:timeout:silence"]);
});

Deno.test("wake session: the idle timeout resumes TTS when the interrupt is still open", () => {
  using t = setup({ idleTimeoutMs: 1_000, interruptWindowMs: 5_000 });
  t.session.onTtsStatus({ event: "speaking_start", utt_id: "utt-2" });
  t.session.onDetection({ score: 0.8, energy: 0.2 });
  t.clock.tick(1_000);
  assert.deepEqual(t.summary().slice(3), [
    "event:timeout:silence",
    "tts:resume:wake_timeout:utt-2",
  ]);
  t.clock.tick(10_000); // the interrupt timer was cancelled: no second resume
  assert.equal(t.sent.length, 5);
});

Deno.test("wake session: a cancel phrase during an interrupt stops TTS and sends cancelled", () => {
  for (const phrase of ["Cancel that.", "never mind", "STOP!", "Nevermind"]) {
    using t = setup();
    t.session.onTtsStatus({ event: "speaking_start", utt_id: "utt-3" });
    t.session.onDetection({ score: 0.8, energy: 0.2 });
    t.clock.tick(1_000);
    t.session.onTranscript(phrase);
    assert.deepEqual(t.summary().slice(3), [
      "tts:stop:wake_cancel:utt-3",
      "event:cancelled:cancel_phrase",
    ], phrase);
    t.clock.tick(10_000); // no resume, no timeout afterwards
    assert.equal(t.sent.length, 5, phrase);
    assert.equal(t.session.counters.cancels, 1);
  }
});

Deno.test("wake session: other speech during an interrupt is a new request: stop, no resume", () => {
  using t = setup();
  t.session.onTtsStatus({ event: "speaking_start", utt_id: "utt-4" });
  t.session.onDetection({ score: 0.8, energy: 0.2 });
  t.session.onTranscript("tell me a joke instead");
  assert.deepEqual(t.summary().slice(3), ["tts:stop:wake_new_request:utt-4"]);
  t.clock.tick(10_000);
  assert.equal(t.sent.length, 4);
});

Deno.test("wake session: TTS state follows tts/status; no interrupt when idle or paused", () => {
  using t = setup();
  t.session.onTtsStatus({ event: "speaking_start", utt_id: "a" });
  t.session.onTtsStatus({ event: "paused", utt_id: "a" });
  assert.equal(t.session.tts, "paused");
  t.session.onDetection({ score: 0.9, energy: 0.1 });
  assert.equal(t.summary()[0], "event:wake:wake_phrase");
  t.session.onTtsStatus({ event: "resumed", utt_id: "a" });
  assert.equal(t.session.tts, "speaking");
  t.session.onTtsStatus({ event: "speaking_end", utt_id: "other" }); // not ours: ignored
  assert.equal(t.session.tts, "speaking");
  t.session.onTtsStatus({ event: "speaking_end", utt_id: "a" });
  assert.equal(t.session.tts, "idle");
  assert.equal(t.session.ttsId, null);
});

Deno.test("wake session: idle timeout 0 disables the timer and the mic ttl", () => {
  using t = setup({ idleTimeoutMs: 0 });
  t.session.onDetection({ score: 0.9, energy: 0.1 });
  t.clock.tick(60_000);
  assert.deepEqual(t.summary(), ["event:wake:wake_phrase", "mic:unmute:null"]);
});

Deno.test("wake session: a failing publish is counted, never thrown; close stops the timers", async () => {
  const clock = FakeTimers.install();
  const errors: unknown[] = [];
  const session = new WakeSession(SETTINGS, {
    event: () => Promise.reject(new Error("offline")),
    mic: () => {
      throw new Error("boom");
    },
    ttsControl: () => {},
  }, { onError: (error) => errors.push(error) });
  try {
    session.onDetection({ score: 0.9, energy: 0.1 });
    await clock.tickAsync(0);
    assert.equal(session.counters.publishErrors, 2);
    assert.equal(errors.length, 2);
    session.close();
    clock.tick(10_000);
    assert.equal(session.counters.timeouts, 0);
    session.onDetection({ score: 0.9, energy: 0.1 }); // ignored after close
    assert.equal(session.counters.wakes, 1);
  } finally {
    session.close();
    clock.uninstall();
  }
});

Deno.test("wake session: normalizePhrase lowercases and strips punctuation", () => {
  assert.equal(normalizePhrase("  Never   mind, THAT! "), "never mind that");
});
