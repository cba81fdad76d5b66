/**
 * Text helpers of the router: normalisation for phrase matching and wake phrase stripping.
 * Everything here matches whole words, never substrings (py-tars matched "now" inside
 * "know" and never stripped the wake phrase because of a doubled backslash).
 *
 * @module
 */

/** Lowercase, apostrophes dropped, every other non-alphanumeric run turned into one space. */
export function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/['’`]/g, "")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

/** The words of a text after {@linkcode normalize}. */
export function words(text: string): string[] {
  const normalized = normalize(text);
  return normalized === "" ? [] : normalized.split(" ");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A regular expression that matches a wake phrase at the start of a text: case-insensitive,
 * the phrase's words separated by any spaces or punctuation, ending on a word boundary,
 * followed by any punctuation and spaces ("Hey, TARS! what…" matches "hey tars").
 */
export function wakePhrasePattern(phrases: readonly string[]): RegExp | null {
  const alternatives = phrases
    .map((phrase) => words(phrase))
    .filter((parts) => parts.length > 0)
    .sort((a, b) => b.join(" ").length - a.join(" ").length)
    .map((parts) => parts.map(escapeRegExp).join("[\\s\\p{P}]+"));
  if (alternatives.length === 0) return null;
  return new RegExp(
    `^[\\s\\p{P}]*(?:${alternatives.join("|")})(?![\\p{L}\\p{N}])[\\s\\p{P}]*`,
    "iu",
  );
}

/** The result of {@linkcode stripWakePhrase}. */
export interface WakeStripResult {
  /** The text without the leading wake phrase (trimmed; may be empty). */
  readonly text: string;
  /** Whether a wake phrase was removed. */
  readonly hadWakePhrase: boolean;
}

/** Removes a leading wake phrase: "Hey TARS, what time is it" → "what time is it". */
export function stripWakePhrase(text: string, pattern: RegExp | null): WakeStripResult {
  const trimmed = text.trim();
  if (!pattern) return { text: trimmed, hadWakePhrase: false };
  const match = pattern.exec(trimmed);
  if (!match) return { text: trimmed, hadWakePhrase: false };
  return { text: trimmed.slice(match[0].length).trim(), hadWakePhrase: true };
}

/** Words said before a command that do not change it ("please", "can you", "tars"). */
const LEADING_FILLERS = [
  "ok",
  "okay",
  "tars",
  "please",
  "can you",
  "could you",
  "would you",
  "will you",
  "go ahead and",
  "i want you to",
  "id like you to",
  "lets",
];

/** Words said after a command that do not change it ("please", "for me", "again"). */
const TRAILING_FILLERS = [
  "please",
  "tars",
  "now",
  "right now",
  "for me",
  "for us",
  "again",
  "at me",
  "at us",
  "to me",
  "to us",
  "a bit",
  "a little",
  "everyone",
  "everybody",
  "thanks",
  "thank you",
];

function stripPhrases(
  parts: string[],
  phrases: readonly string[],
  from: "start" | "end",
  keep = 0,
): string[] {
  const lists = phrases.map((p) => p.split(" ")).sort((a, b) => b.length - a.length);
  let current = parts;
  for (let changed = true; changed;) {
    changed = false;
    for (const phrase of lists) {
      if (current.length - phrase.length < keep) continue;
      const slice = from === "start"
        ? current.slice(0, phrase.length)
        : current.slice(current.length - phrase.length);
      if (slice.join(" ") === phrase.join(" ")) {
        current = from === "start"
          ? current.slice(phrase.length)
          : current.slice(0, current.length - phrase.length);
        changed = true;
        break;
      }
    }
  }
  return current;
}

/**
 * The core of a spoken command: the normalised words without leading and trailing filler
 * words, so "Could you please wave at me, TARS?" → "wave". At least one word is kept.
 */
export function commandCore(text: string): string {
  const parts = words(text);
  const withoutTrailing = stripPhrases(parts, TRAILING_FILLERS, "end", 1);
  return stripPhrases(withoutTrailing, LEADING_FILLERS, "start", 1).join(" ");
}
