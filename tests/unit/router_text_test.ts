/** Router text handling: wake phrase stripping, whole-utterance rules and movement intents. */
import assert from "node:assert/strict";
import { matchMovementIntent } from "../../services/router/movement_intents.ts";
import {
  isGreeting,
  isTimeQuestion,
  matchLiveMode,
  sayText,
  timeSentence,
} from "../../services/router/rules.ts";
import {
  commandCore,
  normalize,
  stripWakePhrase,
  wakePhrasePattern,
} from "../../services/router/text.ts";

Deno.test("router text: the wake phrase is stripped in any case and punctuation", () => {
  const pattern = wakePhrasePattern(["hey tars", "ok tars"]);
  const strip = (text: string) => stripWakePhrase(text, pattern);
  assert.deepEqual(strip("Hey TARS, what time is it"), {
    text: "what time is it",
    hadWakePhrase: true,
  });
  assert.equal(strip("hey, tars! Tell me a joke.").text, "Tell me a joke.");
  assert.equal(strip("  OK Tars:   wave").text, "wave");
  assert.deepEqual(strip("Hey TARS."), { text: "", hadWakePhrase: true });
  // Not a wake phrase: a longer word, or the phrase later in the sentence.
  assert.deepEqual(strip("hey tarsier, hello"), {
    text: "hey tarsier, hello",
    hadWakePhrase: false,
  });
  assert.equal(strip("I said hey tars").hadWakePhrase, false);
  // Regex characters in phrases are literal.
  assert.equal(stripWakePhrase("a.b tars go", wakePhrasePattern(["a.b tars"])).text, "go");
  assert.equal(
    stripWakePhrase("axb tars go", wakePhrasePattern(["a.b tars"])).hadWakePhrase,
    false,
  );
  assert.equal(wakePhrasePattern([]), null);
  assert.equal(stripWakePhrase(" hi ", null).text, "hi");
});

Deno.test("router text: normalize and commandCore drop fillers but keep one word", () => {
  assert.equal(normalize("What's   the TIME?!"), "whats the time");
  assert.equal(commandCore("Could you please wave at me, TARS?"), "wave");
  assert.equal(commandCore("please"), "please");
  assert.equal(commandCore("now"), "now");
  assert.equal(commandCore("Take a bow, please!"), "take a bow");
});

Deno.test("router rules: movement intents match whole utterances, never substrings", () => {
  assert.deepEqual(matchMovementIntent("wave"), { kind: "command", command: "wave" });
  assert.deepEqual(matchMovementIntent("Can you wave your hand at me?"), {
    kind: "command",
    command: "wave",
  });
  assert.deepEqual(matchMovementIntent("Take a bow."), { kind: "command", command: "bow" });
  assert.deepEqual(matchMovementIntent("step back please"), {
    kind: "command",
    command: "step_backward",
  });
  assert.deepEqual(matchMovementIntent("Pez dispenser"), {
    kind: "command",
    command: "pezz_dispenser",
  });
  assert.deepEqual(matchMovementIntent("now"), { kind: "command", command: "now" });
  assert.deepEqual(matchMovementIntent("Stop!"), { kind: "stop" });
  assert.deepEqual(matchMovementIntent("halt"), { kind: "stop" });
  assert.deepEqual(matchMovementIntent("stop moving now"), { kind: "stop" });
  for (
    const text of [
      "I know",
      "my elbow hurts",
      "what time is it now",
      "it's snowing",
      "suppose so",
      "what is the purpose of life",
      "don't stop believing",
      "turn off the lights",
      "tell me about the bow of a ship",
    ]
  ) {
    assert.equal(matchMovementIntent(text), null, text);
  }
});

Deno.test("router rules: time, say, greeting and live mode", () => {
  assert.equal(isTimeQuestion("What time is it?"), true);
  assert.equal(isTimeQuestion("what's the time, please"), true);
  assert.equal(isTimeQuestion("what time is it now"), true);
  assert.equal(isTimeQuestion("what time does the shop open"), false);
  assert.equal(sayText("Say good night"), "good night");
  assert.equal(sayText("say: hello world"), "hello world");
  assert.equal(sayText("saying things"), null);
  assert.equal(sayText("say"), null);
  assert.equal(isGreeting("Hello there, TARS!"), true);
  assert.equal(isGreeting("hi"), true);
  assert.equal(isGreeting("hey, tell me a story"), false);
  assert.equal(isGreeting("say hi to my mom"), false);
  const phrases = { enterPhrase: "enter live mode", exitPhrase: "Exit live mode" };
  assert.equal(matchLiveMode("Enter live mode.", phrases), "enter");
  assert.equal(matchLiveMode("please exit live mode", phrases), "exit");
  assert.equal(matchLiveMode("how do I enter live mode", phrases), null);
});

Deno.test("router rules: the time sentence is 12-hour with AM/PM in the zone", () => {
  const at = Date.UTC(2026, 0, 15, 15, 7, 0);
  assert.equal(timeSentence(at, "UTC"), "It is 3:07 PM.");
  assert.equal(timeSentence(Date.UTC(2026, 0, 15, 0, 5), "UTC"), "It is 12:05 AM.");
  assert.equal(timeSentence(at, "Asia/Tokyo"), "It is 12:07 AM.");
});
