/**
 * Piper's text → phoneme ids step: espeak-ng IPA phonemes (clause by clause, punctuation put
 * back as piper-phonemize does) mapped through a voice's `phoneme_id_map` with Piper's
 * BOS/EOS/pad rules.
 *
 * @module
 */

import { spawnTool } from "../../../lib/process/mod.ts";
import { espeakTool } from "./espeak.ts";

/** The symbols of a Piper `phoneme_id_map` this module relies on. */
export const PIPER_PAD = "_";
/** Beginning of sentence. */
export const PIPER_BOS = "^";
/** End of sentence. */
export const PIPER_EOS = "$";

const SENTENCE_END = new Set([".", "!", "?"]);
const CLAUSE_END = new Set([",", ":", ";"]);

/** A voice's phoneme → ids table (`phoneme_id_map` of the `.onnx.json`). */
export type PhonemeIdMap = Readonly<Record<string, readonly number[]>>;

/** Options of {@linkcode espeakIpaSentences}. */
export interface EspeakPhonemizeOptions {
  /** espeak-ng voice, e.g. `en-us` (the voice config's `espeak.voice`). */
  readonly voice: string;
  /** The executable; default `espeak-ng`. */
  readonly bin?: string;
  /** Cancels the espeak-ng process. */
  readonly signal?: AbortSignal;
}

/** Runs `espeak-ng -q --ipa` on `text` and returns one IPA line per clause espeak-ng found. */
export async function espeakIpaLines(
  text: string,
  options: EspeakPhonemizeOptions,
): Promise<string[]> {
  const bin = options.bin ?? "espeak-ng";
  const child = spawnTool(espeakTool(bin), {
    args: ["-q", "--ipa", "-v", options.voice],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  });
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text.replace(/\s+/g, " ") + "\n"));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(
      `${bin} --ipa exited with ${code}: ${new TextDecoder().decode(stderr).trim()}`,
    );
  }
  return new TextDecoder().decode(stdout).split("\n").map((l) => l.trim()).filter((l) => l);
}

/** The clauses of `text` with the punctuation that ended each (`""` for none). */
export function splitClauses(text: string): Array<{ text: string; punctuation: string }> {
  const clauses: Array<{ text: string; punctuation: string }> = [];
  for (const piece of text.trim().split(/(?<=[.,;:!?])\s+/)) {
    const match = /^(.*?)([.,;:!?]*)$/s.exec(piece)!;
    const body = match[1].trim();
    const punctuation = match[2].slice(-1);
    if (/[\p{L}\p{N}]/u.test(body)) clauses.push({ text: body, punctuation });
    else if (clauses.length > 0 && punctuation && !clauses[clauses.length - 1].punctuation) {
      clauses[clauses.length - 1].punctuation = punctuation;
    }
  }
  return clauses;
}

/**
 * Joins espeak-ng's clause lines into Piper sentences: `, : ;` are kept and followed by a
 * space, `. ! ?` are kept and end the sentence. When espeak-ng split the text differently
 * from the punctuation (abbreviations, numbers), the lines are joined with spaces and only
 * the final punctuation is kept.
 */
export function ipaSentences(text: string, lines: readonly string[]): string[] {
  const clauses = splitClauses(text);
  if (clauses.length !== lines.length) {
    const last = clauses.at(-1)?.punctuation ?? "";
    const joined = lines.join(" ") + (SENTENCE_END.has(last) ? last : "");
    return joined ? [joined.normalize("NFD")] : [];
  }
  const sentences: string[] = [];
  let current = "";
  clauses.forEach((clause, i) => {
    current += lines[i];
    if (CLAUSE_END.has(clause.punctuation)) current += clause.punctuation + " ";
    else if (SENTENCE_END.has(clause.punctuation)) {
      sentences.push((current + clause.punctuation).normalize("NFD"));
      current = "";
    } else current += " ";
  });
  if (current.trim()) sentences.push(current.trimEnd().normalize("NFD"));
  return sentences;
}

/** Phonemizes `text` into Piper sentences (IPA strings, NFD-normalized). */
export async function espeakIpaSentences(
  text: string,
  options: EspeakPhonemizeOptions,
): Promise<string[]> {
  return ipaSentences(text, await espeakIpaLines(text, options));
}

/** Result of {@linkcode phonemesToIds}. */
export interface PhonemeIds {
  /** `^ _ p1 _ p2 _ … $` as ids. */
  readonly ids: number[];
  /** Phonemes that are not in the map (skipped, as Piper does), with their counts. */
  readonly missing: ReadonlyMap<string, number>;
}

/**
 * Maps one sentence of phonemes to ids as Piper does: BOS, pad, then each phoneme's ids
 * followed by pad, then EOS. Phonemes missing from the map are skipped and reported.
 *
 * @throws a TypeError when the map lacks `_`, `^` or `$`.
 */
export function phonemesToIds(phonemes: string, map: PhonemeIdMap): PhonemeIds {
  const pad = map[PIPER_PAD], bos = map[PIPER_BOS], eos = map[PIPER_EOS];
  if (!pad || !bos || !eos) {
    throw new TypeError('phoneme_id_map needs the symbols "_", "^" and "$"');
  }
  const ids: number[] = [...bos, ...pad];
  const missing = new Map<string, number>();
  for (const phoneme of phonemes.normalize("NFD")) {
    const phonemeIds = map[phoneme];
    if (!phonemeIds) {
      missing.set(phoneme, (missing.get(phoneme) ?? 0) + 1);
      continue;
    }
    ids.push(...phonemeIds, ...pad);
  }
  ids.push(...eos);
  return { ids, missing };
}
