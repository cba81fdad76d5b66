/**
 * The router's built-in answers, tried before the LLM: live mode phrases, the time, "say …"
 * and greetings. Each matches the whole utterance (filler words aside), so "what time does
 * the shop open" or "hey, tell me a story" still go to the LLM (py-tars answered any
 * utterance containing "hey" with its greeting).
 *
 * @module
 */
import { commandCore, normalize } from "./text.ts";

/** Utterances (normalised, fillers removed) that ask for the time. */
const TIME_QUESTIONS = new Set([
  "what time is it",
  "what is the time",
  "whats the time",
  "what time",
  "the time",
  "time",
  "tell me the time",
  "do you know the time",
  "do you know what time it is",
  "what time do we have",
  "what time is it right now",
]);

/** Whole-utterance greetings. */
const GREETINGS = new Set([
  "hello",
  "hi",
  "hey",
  "hiya",
  "howdy",
  "hello there",
  "hi there",
  "hey there",
  "greetings",
  "good morning",
  "good afternoon",
  "good evening",
]);

/** Which live mode phrase an utterance is, if any. */
export function matchLiveMode(
  text: string,
  phrases: { readonly enterPhrase: string; readonly exitPhrase: string },
): "enter" | "exit" | null {
  const core = commandCore(text);
  if (core !== "" && core === normalize(phrases.enterPhrase)) return "enter";
  if (core !== "" && core === normalize(phrases.exitPhrase)) return "exit";
  return null;
}

/** Whether the utterance asks for the time. */
export function isTimeQuestion(text: string): boolean {
  return TIME_QUESTIONS.has(commandCore(text));
}

/** Whether the whole utterance is a greeting ("Hello there, TARS!"). */
export function isGreeting(text: string): boolean {
  return GREETINGS.has(commandCore(text));
}

/** The text after a leading "say" ("Say: good night" → "good night"), or `null`. */
export function sayText(text: string): string | null {
  const match = /^\s*say\b[\s,:;-]+(\S[\s\S]*)$/i.exec(text);
  if (!match) return null;
  const rest = match[1].trim();
  return rest === "" ? null : rest;
}

/** "It is 3:07 PM." for `epochMs`, in `timeZone` (default: the process's local zone). */
export function timeSentence(epochMs: number, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat("en-US", {
    hour: "numeric",
    minute: "2-digit",
    hour12: true,
    timeZone,
  }).formatToParts(new Date(epochMs));
  const part = (type: Intl.DateTimeFormatPartTypes) =>
    parts.find((p) => p.type === type)?.value ?? "";
  return `It is ${part("hour")}:${part("minute")} ${part("dayPeriod").toUpperCase()}.`;
}
