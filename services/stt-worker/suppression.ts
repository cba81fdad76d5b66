/**
 * Transcript suppression: decides whether a transcript is published on stt/final, with
 * py-tars' rules, names and defaults (§4.1). Soft reasons (too short, too quiet, noisy text,
 * cough-like, few dictionary words, Whisper's no-speech/log-prob, low confidence) reject unless
 * the transcriber is highly confident (> 0.95, no-speech below NO_SPEECH_MAX); hard reasons
 * (punctuation-only, lexical nonsense, echo of the last TTS text, repeat within the cooldown)
 * always reject. Every decision carries its reasons. Pure: the caller passes the time.
 *
 * @module
 */

/** py-tars' COUGH_SUSPICIOUS_PHRASES default. */
export const DEFAULT_COUGH_PHRASES = ["thank you", "hello", "okay", "hi"] as const;

/** Words that make up most spoken English commands and questions (py-tars' COMMON_WORDS idea). */
export const COMMON_WORDS: ReadonlySet<string> = new Set(
  (
    "a about after again all also am an and any are as ask at away back be because been before " +
    "being big but by call can come could day did do does doing done down each even every " +
    "for from get give go going good got great had has have he hello help her here hey hi him " +
    "his how i if in into is it its just know last left let like little look lot make many " +
    "me more most move much my name need never new next no not now of off oh ok okay old on " +
    "one only or other our out over please put right said same say see she should show so " +
    "some something start stop take tell than thank thanks that the their them then there " +
    "these they thing think this those time to today tomorrow too turn two up us very want " +
    "was way we weather well were what when where which who why will with would yes yeah yet " +
    "you your play music light lights on off open close set timer remind reminder minute " +
    "minutes hour hours second seconds morning night evening is it's i'm don't can't what's " +
    "let's that's there's you're i'll we're tars robot walk forward backward wave dance bow " +
    "laugh joke story news play pause resume louder quieter volume again sorry yes no maybe " +
    "three four five six seven eight nine ten first temperature outside inside hot cold " +
    "doing fine day week year home work where's who's how's going"
  ).split(/\s+/),
);

/** Settings of {@linkcode Suppressor}, named after py-tars' variables. */
export interface SuppressionSettings {
  /** ECHO_SUPPRESS_MATCH: reject echoes of the last TTS text. */
  readonly echoMatch: boolean;
  /** ECHO_FUZZ_MIN_RATIO: similarity 0..1 that counts as an echo. */
  readonly echoFuzzMinRatio: number;
  /** REPEAT_COOLDOWN_SEC × 1000. */
  readonly repeatCooldownMs: number;
  /** NOISE_MIN_DURATION_MS. */
  readonly minDurationMs: number;
  /** NOISE_MIN_RMS. */
  readonly minRms: number;
  /** NOISE_MIN_LENGTH: shortest text. */
  readonly minLength: number;
  /** NOISE_MIN_ALPHA_RATIO: letters / non-space characters at least. */
  readonly minAlphaRatio: number;
  /** NOISE_MAX_PUNCT_RATIO: punctuation / characters at most. */
  readonly maxPunctRatio: number;
  /** COUGH_ACTIVE_MIN_RATIO. */
  readonly coughActiveMinRatio: number;
  /** COUGH_MIN_DURATION_MS. */
  readonly coughMinDurationMs: number;
  /** COUGH_SUSPICIOUS_PHRASES. */
  readonly coughPhrases: readonly string[];
  /** COUGH_MIN_SYLLABLES. */
  readonly coughMinSyllables: number;
  /** NO_SPEECH_MAX. */
  readonly noSpeechMax: number;
  /** AVG_LOGPROB_MIN. */
  readonly avgLogprobMin: number;
  /** DICT_MATCH_MIN_RATIO (0.05 inside the response window). */
  readonly dictMatchMinRatio: number;
  /** COMMON_WORDS_EXTRA. */
  readonly commonWordsExtra: readonly string[];
  /** STT_MIN_CONFIDENCE: lowest transcriber confidence (when it reports one). */
  readonly minConfidence: number;
}

/** Defaults, py-tars' where they exist. */
export const DEFAULT_SUPPRESSION: SuppressionSettings = {
  echoMatch: true,
  echoFuzzMinRatio: 0.85,
  repeatCooldownMs: 8_000,
  minDurationMs: 500,
  minRms: 220,
  minLength: 3,
  minAlphaRatio: 0.6,
  maxPunctRatio: 0.35,
  coughActiveMinRatio: 0.25,
  coughMinDurationMs: 600,
  coughPhrases: DEFAULT_COUGH_PHRASES,
  coughMinSyllables: 2,
  noSpeechMax: 0.6,
  avgLogprobMin: -1.2,
  dictMatchMinRatio: 0.4,
  commonWordsExtra: [],
  minConfidence: 0.3,
};

/** What is known about one transcript. */
export interface SuppressionCandidate {
  /** The text. */
  readonly text: string;
  /** Transcriber confidence 0..1, null when it gives none. */
  readonly confidence: number | null;
  /** Audio length, ms. */
  readonly durationMs: number;
  /** Voiced RMS (int16 scale). */
  readonly rms: number;
  /** Active-frame ratio. */
  readonly activeRatio: number;
  /** Whisper's mean no-speech probability, when known. */
  readonly noSpeechProb?: number | null;
  /** Whisper's mean log probability, when known. */
  readonly avgLogprob?: number | null;
  /** Whether the mic is in the response window after TTS (lenient dictionary check). */
  readonly inResponseWindow?: boolean;
}

/** The verdict. */
export interface SuppressionDecision {
  /** Whether to publish. */
  readonly accept: boolean;
  /** Why it was rejected (all reasons found); soft reasons overridden by confidence too. */
  readonly reasons: readonly string[];
  /** Whether high confidence overrode soft reasons. */
  readonly overridden: boolean;
}

const PUNCTUATION = /[.,!?;:]/g;

/** Lower-case, punctuation removed, whitespace collapsed. */
export function normalizeText(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}\s']/gu, " ").replace(/\s+/g, " ").trim();
}

/** Vowel runs, a cheap syllable count (py-tars without syllapy). */
export function countSyllables(text: string): number {
  return (normalizeText(text).match(/[aeiouy]+/g) ?? []).length;
}

/** Similarity 0..1 from the Levenshtein distance (1 = equal). */
export function similarity(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length === 0 || b.length === 0) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return 1 - previous[b.length] / Math.max(a.length, b.length);
}

/** The suppression state (last TTS text, recent publications) and rules. */
export class Suppressor {
  readonly #s: SuppressionSettings;
  readonly #words: ReadonlySet<string>;
  #lastTts = "";
  #recent: { text: string; at: number }[] = [];

  /** @param settings thresholds; defaults are py-tars'. */
  constructor(settings: Partial<SuppressionSettings> = {}) {
    this.#s = { ...DEFAULT_SUPPRESSION, ...settings };
    this.#words = new Set([
      ...COMMON_WORDS,
      ...this.#s.commonWordsExtra.map((w) => w.toLowerCase().trim()),
    ]);
  }

  /** Remembers what TTS says (tts/say), for the echo check. */
  rememberTts(text: string): void {
    this.#lastTts = normalizeText(text);
  }

  /** Records a published transcript at `nowMs` (for the repeat check; last 5 kept). */
  recordPublished(text: string, nowMs: number): void {
    this.#recent.push({ text: normalizeText(text), at: nowMs });
    while (this.#recent.length > 5) this.#recent.shift();
  }

  /** Judges `candidate` at `nowMs`. */
  evaluate(candidate: SuppressionCandidate, nowMs: number): SuppressionDecision {
    const s = this.#s;
    const raw = candidate.text.trim();
    const text = normalizeText(raw);
    const hard: string[] = [];
    const soft: string[] = [];
    const chars = raw.replace(/\s/g, "");
    const letters = (raw.match(/\p{L}/gu) ?? []).length;
    if (text === "" || letters === 0) hard.push("punctuation_only");

    if (candidate.durationMs < s.minDurationMs) {
      soft.push(`too_short:${Math.round(candidate.durationMs)}ms<${s.minDurationMs}ms`);
    }
    if (candidate.rms < s.minRms) {
      soft.push(`too_quiet:rms ${Math.round(candidate.rms)}<${s.minRms}`);
    }
    if (candidate.activeRatio < 0.3) {
      soft.push(`low_activity:${candidate.activeRatio.toFixed(2)}<0.30`);
    }
    if (raw.length < s.minLength) soft.push(`too_few_chars:${raw.length}<${s.minLength}`);
    const alphaRatio = chars.length ? letters / chars.length : 0;
    if (alphaRatio < s.minAlphaRatio) {
      soft.push(`noisy_text:alpha ${alphaRatio.toFixed(2)}<${s.minAlphaRatio}`);
    }
    const punctRatio = raw.length ? (raw.match(PUNCTUATION) ?? []).length / raw.length : 0;
    if (punctRatio > s.maxPunctRatio) {
      soft.push(`noisy_text:punct ${punctRatio.toFixed(2)}>${s.maxPunctRatio}`);
    }
    if (s.coughPhrases.some((p) => normalizeText(p) === text)) {
      const syllables = countSyllables(text);
      if (
        candidate.durationMs < s.coughMinDurationMs ||
        candidate.activeRatio < s.coughActiveMinRatio ||
        syllables < s.coughMinSyllables
      ) soft.push(`cough_like:"${text}"`);
    }
    const tokens = text.split(" ").filter((t) => t !== "");
    if (tokens.length > 0) {
      const known = tokens.filter((t) => this.#words.has(t)).length / tokens.length;
      const needed = candidate.inResponseWindow ? 0.05 : s.dictMatchMinRatio;
      if (known < needed) soft.push(`few_known_words:${known.toFixed(2)}<${needed}`);
    }
    if (candidate.noSpeechProb != null && candidate.noSpeechProb > s.noSpeechMax) {
      soft.push(`no_speech:${candidate.noSpeechProb.toFixed(2)}>${s.noSpeechMax}`);
    }
    if (candidate.avgLogprob != null && candidate.avgLogprob < s.avgLogprobMin) {
      soft.push(`low_logprob:${candidate.avgLogprob.toFixed(2)}<${s.avgLogprobMin}`);
    }
    if (candidate.confidence != null && candidate.confidence < s.minConfidence) {
      soft.push(`low_confidence:${candidate.confidence.toFixed(2)}<${s.minConfidence}`);
    }

    // Hard checks: lexical nonsense, echo, repeat.
    if (text !== "") {
      const vowels = (text.match(/[aeiouy]/g) ?? []).length;
      const lettersOnly = (text.match(/\p{L}/gu) ?? []).length;
      if (
        (tokens.length < 2 && text.length < 5 && !this.#words.has(text)) ||
        (lettersOnly > 0 && vowels / lettersOnly < 0.25)
      ) hard.push("lexical");
      if (s.echoMatch && this.#lastTts !== "") {
        const ratio = similarity(text, this.#lastTts);
        if (text === this.#lastTts) hard.push("echo:exact");
        else if (
          ratio >= s.echoFuzzMinRatio && Math.min(text.length, this.#lastTts.length) > 4
        ) hard.push(`echo:similarity ${ratio.toFixed(2)}`);
        else if (text.length > 8 && this.#lastTts.includes(text)) hard.push("echo:part_of_tts");
      }
      const repeat = this.#recent.find((r) => r.text === text && nowMs - r.at < s.repeatCooldownMs);
      if (repeat) {
        hard.push(
          `repeat:${((nowMs - repeat.at) / 1000).toFixed(1)}s<${s.repeatCooldownMs / 1000}s`,
        );
      }
    }

    const highConfidence = candidate.confidence != null && candidate.confidence > 0.95 &&
      (candidate.noSpeechProb == null || candidate.noSpeechProb < s.noSpeechMax);
    const overridden = soft.length > 0 && highConfidence && hard.length === 0;
    const reasons = [...hard, ...soft];
    return { accept: hard.length === 0 && (soft.length === 0 || overridden), reasons, overridden };
  }
}
