/**
 * stt-worker suppression (pure): each py-tars rule rejects with its reason, a clean
 * utterance passes, high confidence overrides soft reasons only, echo and repeat rules.
 */
import assert from "node:assert/strict";
import {
  countSyllables,
  normalizeText,
  similarity,
  type SuppressionCandidate,
  Suppressor,
} from "../../services/stt-worker/suppression.ts";

const GOOD: SuppressionCandidate = {
  text: "What time is it?",
  confidence: 0.8,
  durationMs: 1500,
  rms: 3000,
  activeRatio: 0.8,
};

function reasons(candidate: Partial<SuppressionCandidate>, suppressor = new Suppressor()) {
  return suppressor.evaluate({ ...GOOD, ...candidate }, 100_000);
}

Deno.test("stt suppression: a clean utterance is accepted with no reasons", () => {
  const decision = reasons({});
  assert.equal(decision.accept, true);
  assert.deepEqual(decision.reasons, []);
});

Deno.test("stt suppression: each soft rule rejects with its reason", () => {
  const cases: Array<[Partial<SuppressionCandidate>, RegExp]> = [
    [{ durationMs: 300 }, /^too_short:300ms<500ms$/],
    [{ rms: 100 }, /^too_quiet:rms 100<220$/],
    [{ activeRatio: 0.1 }, /^low_activity/],
    [{ text: "a 1 2 3 4 5 6 7 8 what" }, /^noisy_text:alpha/],
    [{ text: "what,.!? time?!" }, /^noisy_text:punct/],
    [{ text: "thank you", durationMs: 550 }, /^cough_like:"thank you"$/],
    [{ text: "quixotic zephyr lambent" }, /^few_known_words/],
    [{ noSpeechProb: 0.9 }, /^no_speech:0\.90>0\.6$/],
    [{ avgLogprob: -2 }, /^low_logprob/],
    [{ confidence: 0.1 }, /^low_confidence:0\.10<0\.3$/],
  ];
  for (const [candidate, pattern] of cases) {
    const decision = reasons(candidate);
    assert.equal(decision.accept, false, JSON.stringify(candidate));
    assert.ok(decision.reasons.some((r) => pattern.test(r)), `${decision.reasons} ~ ${pattern}`);
  }
});

Deno.test("stt suppression: confidence > 0.95 overrides soft reasons, not hard ones", () => {
  const soft = reasons({ durationMs: 300, confidence: 0.97 });
  assert.equal(soft.accept, true);
  assert.equal(soft.overridden, true);
  assert.deepEqual(soft.reasons, ["too_short:300ms<500ms"]);
  // no-speech above NO_SPEECH_MAX cancels the override
  assert.equal(reasons({ durationMs: 300, confidence: 0.97, noSpeechProb: 0.8 }).accept, false);
  assert.equal(reasons({ text: "...", confidence: 0.99 }).accept, false);
});

Deno.test("stt suppression: punctuation-only and lexical nonsense are hard rejections", () => {
  assert.ok(reasons({ text: " ... " }).reasons.includes("punctuation_only"));
  assert.ok(reasons({ text: "?!" }).reasons.includes("punctuation_only"));
  assert.ok(reasons({ text: "hmm", confidence: 0.99 }).reasons.includes("lexical"));
  assert.ok(reasons({ text: "brrrr pfff", confidence: 0.99 }).reasons.includes("lexical"));
  // a short known word is fine ("stop" is a command)
  assert.equal(reasons({ text: "Stop.", confidence: 0.99 }).accept, true);
});

Deno.test("stt suppression: echo of the last TTS text, exact and fuzzy", () => {
  const s = new Suppressor();
  s.rememberTts("It is three o'clock in the afternoon.");
  assert.deepEqual(
    s.evaluate({ ...GOOD, text: "It is three o'clock in the afternoon" }, 0).reasons,
    ["echo:exact"],
  );
  const fuzzy = s.evaluate({ ...GOOD, text: "it is three o clock in the afternoon" }, 0);
  assert.equal(fuzzy.accept, false);
  assert.match(fuzzy.reasons[0], /^echo:similarity 0\.9/);
  const part = s.evaluate({ ...GOOD, text: "in the afternoon" }, 0);
  assert.deepEqual(part.reasons, ["echo:part_of_tts"]);
  assert.equal(s.evaluate(GOOD, 0).accept, true);
  const off = new Suppressor({ echoMatch: false });
  off.rememberTts("what time is it");
  assert.equal(off.evaluate(GOOD, 0).accept, true);
});

Deno.test("stt suppression: a repeat within REPEAT_COOLDOWN_SEC is rejected, later accepted", () => {
  const s = new Suppressor({ repeatCooldownMs: 8_000 });
  assert.equal(s.evaluate(GOOD, 1_000).accept, true);
  s.recordPublished(GOOD.text, 1_000);
  const again = s.evaluate({ ...GOOD, text: "what time is it" }, 5_000);
  assert.deepEqual(again.reasons, ["repeat:4.0s<8s"]);
  assert.equal(s.evaluate(GOOD, 9_500).accept, true);
});

Deno.test("stt suppression: the response window relaxes the dictionary check", () => {
  const text = "Paris Berlin Madrid";
  assert.equal(reasons({ text }).accept, false);
  assert.equal(reasons({ text, inResponseWindow: true }).accept, false); // 0 known words
  assert.equal(reasons({ text: "Paris Berlin and Madrid", inResponseWindow: true }).accept, true);
  const extra = new Suppressor({ commonWordsExtra: ["paris", "berlin"] });
  assert.equal(reasons({ text: "Paris Berlin Madrid" }, extra).accept, true);
});

Deno.test("stt suppression: helpers", () => {
  assert.equal(normalizeText("  Hello,   WORLD!! "), "hello world");
  assert.equal(countSyllables("thank you"), 2);
  assert.equal(similarity("abc", "abc"), 1);
  assert.equal(similarity("abc", ""), 0);
  assert.ok(Math.abs(similarity("kitten", "sitting") - (1 - 3 / 7)) < 1e-9);
});
