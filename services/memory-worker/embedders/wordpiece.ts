/**
 * The BERT WordPiece tokenizer that sentence-transformer models such as all-MiniLM-L6-v2
 * use, read from the model directory's Hugging Face `tokenizer.json` (WordPiece model) or
 * from a plain `vocab.txt`: clean and lowercase (stripping accents), split on whitespace and
 * punctuation, then greedy longest-match word pieces with the `##` prefix, wrapped in
 * `[CLS] … [SEP]` and truncated to the model's length.
 *
 * @module
 */

/** Settings of a {@linkcode WordPieceTokenizer}. */
export interface WordPieceSettings {
  /** Token → id. */
  readonly vocab: ReadonlyMap<string, number>;
  /** Lowercase and strip accents (uncased models). Default true. */
  readonly lowercase?: boolean;
  /** Prefix of a word's continuation pieces. Default `##`. */
  readonly continuingPrefix?: string;
  /** Unknown token. Default `[UNK]`. */
  readonly unkToken?: string;
  /** Longer words become the unknown token. Default 100. */
  readonly maxCharsPerWord?: number;
}

/** Token ids of one text. */
export interface Encoding {
  /** `[CLS] pieces… [SEP]`. */
  readonly ids: number[];
}

/** A WordPiece tokenizer. */
export class WordPieceTokenizer {
  readonly #vocab: ReadonlyMap<string, number>;
  readonly #lowercase: boolean;
  readonly #prefix: string;
  readonly #unk: number;
  readonly #maxChars: number;
  /** Id of `[CLS]`. */
  readonly clsId: number;
  /** Id of `[SEP]`. */
  readonly sepId: number;
  /** Id of `[PAD]` (0 when the vocabulary has none). */
  readonly padId: number;

  /**
   * Creates the tokenizer.
   *
   * @throws Error when the vocabulary lacks `[CLS]`, `[SEP]` or the unknown token.
   */
  constructor(settings: WordPieceSettings) {
    this.#vocab = settings.vocab;
    this.#lowercase = settings.lowercase ?? true;
    this.#prefix = settings.continuingPrefix ?? "##";
    this.#maxChars = settings.maxCharsPerWord ?? 100;
    const need = (token: string) => {
      const id = settings.vocab.get(token);
      if (id === undefined) throw new Error(`The tokenizer vocabulary has no ${token} token`);
      return id;
    };
    this.#unk = need(settings.unkToken ?? "[UNK]");
    this.clsId = need("[CLS]");
    this.sepId = need("[SEP]");
    this.padId = settings.vocab.get("[PAD]") ?? 0;
  }

  /** The words and punctuation marks of `text`, normalized. */
  preTokenize(text: string): string[] {
    let clean = "";
    for (const char of text) {
      const code = char.codePointAt(0)!;
      if (code === 0 || code === 0xfffd || (/\p{Cc}/u.test(char) && !/\s/u.test(char))) continue;
      // CJK ideographs are words on their own, as in BERT.
      clean += isCjk(code) ? ` ${char} ` : char;
    }
    if (this.#lowercase) clean = clean.toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "");
    return clean.match(/[\p{P}\p{S}]|[^\s\p{P}\p{S}]+/gu) ?? [];
  }

  /** The ids of one word's pieces (`[UNK]` alone when it cannot be split). */
  wordPieces(word: string): number[] {
    const chars = [...word];
    if (chars.length > this.#maxChars) return [this.#unk];
    const pieces: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: number | undefined;
      while (start < end) {
        const piece = (start > 0 ? this.#prefix : "") + chars.slice(start, end).join("");
        found = this.#vocab.get(piece);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) return [this.#unk];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  /** Encodes `text` as `[CLS] pieces… [SEP]`, at most `maxLength` ids. */
  encode(text: string, maxLength: number): Encoding {
    const room = Math.max(0, maxLength - 2);
    const ids: number[] = [this.clsId];
    for (const word of this.preTokenize(text)) {
      for (const id of this.wordPieces(word)) {
        if (ids.length - 1 >= room) break;
        ids.push(id);
      }
      if (ids.length - 1 >= room) break;
    }
    ids.push(this.sepId);
    return { ids };
  }

  /**
   * Reads the tokenizer of a model directory: `tokenizer.json` (a Hugging Face WordPiece
   * tokenizer) or else `vocab.txt` (+ `tokenizer_config.json` for `do_lower_case`).
   *
   * @throws Error naming the files it looked for when none is usable.
   */
  static async fromDirectory(dir: string): Promise<WordPieceTokenizer> {
    const json = await readText(`${dir}/tokenizer.json`);
    if (json !== null) return WordPieceTokenizer.fromTokenizerJson(JSON.parse(json), dir);
    const vocabText = await readText(`${dir}/vocab.txt`);
    if (vocabText === null) {
      throw new Error(
        `No tokenizer in ${dir}: expected tokenizer.json (Hugging Face, WordPiece) or vocab.txt`,
      );
    }
    const vocab = new Map<string, number>();
    vocabText.split(/\r?\n/).forEach((token, i) => {
      if (token !== "" && !vocab.has(token)) vocab.set(token, i);
    });
    const config = await readText(`${dir}/tokenizer_config.json`);
    const lowercase = config === null ? true : JSON.parse(config).do_lower_case !== false;
    return new WordPieceTokenizer({ vocab, lowercase });
  }

  /**
   * Builds the tokenizer from a parsed Hugging Face `tokenizer.json`.
   *
   * @throws Error when its model is not WordPiece.
   */
  static fromTokenizerJson(spec: TokenizerJson, where = "tokenizer.json"): WordPieceTokenizer {
    const model = spec.model;
    if (model?.type !== "WordPiece" || !model.vocab) {
      throw new Error(
        `${where}: the tokenizer model is ${model?.type ?? "missing"}; only WordPiece ` +
          "(BERT-style sentence-transformers such as all-MiniLM-L6-v2) is supported",
      );
    }
    const normalizer = spec.normalizer;
    return new WordPieceTokenizer({
      vocab: new Map(Object.entries(model.vocab)),
      lowercase: normalizer?.lowercase ?? true,
      continuingPrefix: model.continuing_subword_prefix ?? "##",
      unkToken: model.unk_token ?? "[UNK]",
      maxCharsPerWord: model.max_input_chars_per_word ?? 100,
    });
  }
}

/** The parts of a Hugging Face `tokenizer.json` the tokenizer reads. */
export interface TokenizerJson {
  /** Normalizer (BertNormalizer). */
  readonly normalizer?: { readonly lowercase?: boolean } | null;
  /** Truncation settings. */
  readonly truncation?: { readonly max_length?: number } | null;
  /** The model. */
  readonly model?: {
    readonly type?: string;
    readonly vocab?: Record<string, number>;
    readonly unk_token?: string;
    readonly continuing_subword_prefix?: string;
    readonly max_input_chars_per_word?: number;
  };
}

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

function isCjk(code: number): boolean {
  return (code >= 0x4e00 && code <= 0x9fff) || (code >= 0x3400 && code <= 0x4dbf) ||
    (code >= 0x20000 && code <= 0x2a6df) || (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0x2f800 && code <= 0x2fa1f);
}
