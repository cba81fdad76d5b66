/**
 * Checks a sherpa-onnx model directory before sherpa-onnx-node sees it. sherpa's native code
 * ends the whole process (exit 255, no exception) on a tokens file it cannot parse and on a
 * Whisper encoder without the metadata it reads, so a corrupt or incomplete download would be
 * a restart loop with no clear message. These checks throw an `Error` naming the file, what is
 * wrong and what to do instead. They are cheap: tokens files are small, and an `.onnx` file is
 * only walked at the top level of its protobuf (seeking over the graph), never read whole.
 *
 * What is checked mirrors sherpa-onnx 1.13 (sherpa-onnx/csrc/symbol-table.cc `ReadTokens`,
 * base64-decode.cc, macros.h `SHERPA_ONNX_READ_META_DATA*`, offline-whisper-model.cc
 * `InitEncoder`, offline-whisper-greedy-search-decoder.cc).
 *
 * @module
 */
import type { SherpaModelFiles } from "./sherpa.ts";

/** What to do when a check fails. */
export const SHERPA_MODEL_FIX =
  "set SHERPA_MODEL_DIR to an unpacked sherpa-onnx Whisper or Moonshine export " +
  "(download it again if it was cut short)";

/**
 * Integer metadata a Whisper encoder must carry (sherpa-onnx reads them without a default and
 * exits when one is missing, empty or negative).
 */
export const WHISPER_INTEGER_METADATA: readonly string[] = [
  "n_mels",
  "n_text_layer",
  "n_text_ctx",
  "n_text_state",
  "n_vocab",
  "sot",
  "eot",
  "blank_id",
  "translate",
  "transcribe",
  "is_multilingual",
  "no_timestamps",
  "no_speech",
];

/** Integer-list metadata a Whisper encoder must carry (comma separated). */
export const WHISPER_LIST_METADATA: readonly string[] = ["sot_sequence"];

/** Metadata a multilingual Whisper encoder (is_multilingual ≠ 0) must carry as well. */
export const WHISPER_MULTILINGUAL_METADATA: readonly string[] = [
  "all_language_tokens",
  "all_language_codes",
];

/** The largest tokens file read (real ones are below 1 MB). */
const MAX_TOKENS_BYTES = 64 * 1024 * 1024;
/** The largest metadata entry read (real ones are a few kB). */
const MAX_METADATA_ENTRY_BYTES = 64 * 1024 * 1024;

function fail(path: string, problem: string): never {
  throw new Error(`sherpa model file ${path} ${problem}; ${SHERPA_MODEL_FIX}`);
}

/** The whitespace of C's `isspace` in the "C" locale (what `std::istream >>` splits on). */
const C_SPACE = " \t\n\v\f\r";
const TRIM = new RegExp(`^[${C_SPACE}]+|[${C_SPACE}]+$`, "g");
const TOKEN_LINE = new RegExp(`^([^${C_SPACE}]+)(?:[${C_SPACE}]+([+-]?[0-9]+))?$`);
const BASE64_CHAR = /^[A-Za-z0-9+/]$/;

/**
 * Whether sherpa's `Base64Decode` decodes `symbol` without exiting: it reads groups of four,
 * stops at a group starting with `=`, and exits on any other non-base64 character it reads.
 */
export function isSherpaBase64(symbol: string): boolean {
  if (symbol.length === 0) return false;
  const ok = (i: number) => i < symbol.length && BASE64_CHAR.test(symbol[i]);
  for (let i = 0; i < symbol.length; i += 4) {
    if (symbol[i] === "=") return true;
    if (!ok(i) || !ok(i + 1)) return false;
    if (i + 2 < symbol.length && symbol[i + 2] !== "=") {
      if (!ok(i + 2)) return false;
      if (i + 3 < symbol.length && symbol[i + 3] !== "=" && !ok(i + 3)) return false;
    }
  }
  return true;
}

/**
 * Checks a tokens file as sherpa's `ReadTokens` parses it: every line (trimmed) is
 * `<token> <integer id>`, a lone token (sherpa reads it as the id of a space) or empty.
 * Whisper's tokens are base64 (`base64: true`): there every line must be
 * `<base64 token> <id>`, because sherpa base64-decodes every token and exits on anything else.
 *
 * @throws Error naming the file, the line and what is wrong.
 */
export async function checkSherpaTokens(
  path: string,
  options: { readonly base64: boolean },
): Promise<void> {
  let size: number;
  try {
    size = (await Deno.stat(path)).size;
  } catch (error) {
    fail(path, `cannot be read (${(error as Error).message})`);
  }
  if (size > MAX_TOKENS_BYTES) {
    fail(path, `is ${size} bytes, far too large for a tokens file (a model file?)`);
  }
  // one char per byte: the checks below only look at ASCII
  const text = new TextDecoder("latin1").decode(await Deno.readFile(path));
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop(); // std::getline: no line after the final newline
  if (lines.length === 0) fail(path, "is empty; a tokens file lists `<token> <id>` per line");
  const expected = options.base64 ? "`<base64 token> <integer id>`" : "`<token> <integer id>`";
  for (const [index, raw] of lines.entries()) {
    const line = raw.replace(TRIM, "");
    const where = `line ${index + 1} ${JSON.stringify(line.slice(0, 80))}`;
    if (!options.base64 && line === "") continue;
    const match = TOKEN_LINE.exec(line);
    if (!match) fail(path, `${where} is not ${expected}`);
    if (options.base64) {
      if (match[2] === undefined) fail(path, `${where} has no id; expected ${expected}`);
      if (!isSherpaBase64(match[1])) {
        fail(path, `${where}: the token is not base64 as Whisper's tokens.txt has it`);
      }
    }
  }
}

/** What {@linkcode readOnnxModelInfo} found at the top level of an ONNX file. */
export interface OnnxModelInfo {
  /** The file size in bytes. */
  readonly size: number;
  /** ModelProto.ir_version. */
  readonly irVersion: number;
  /** ModelProto.metadata_props (key → value; a later duplicate wins). */
  readonly metadata: ReadonlyMap<string, string>;
}

/** ModelProto fields (onnx.proto) and their wire types: 0 varint, 2 length-delimited. */
const MODEL_PROTO_FIELDS = new Map<number, { name: string; wireType: 0 | 2 }>([
  [1, { name: "ir_version", wireType: 0 }],
  [2, { name: "producer_name", wireType: 2 }],
  [3, { name: "producer_version", wireType: 2 }],
  [4, { name: "domain", wireType: 2 }],
  [5, { name: "model_version", wireType: 0 }],
  [6, { name: "doc_string", wireType: 2 }],
  [7, { name: "graph", wireType: 2 }],
  [8, { name: "opset_import", wireType: 2 }],
  [14, { name: "metadata_props", wireType: 2 }],
  [20, { name: "training_info", wireType: 2 }],
  [25, { name: "functions", wireType: 2 }],
  [26, { name: "configuration", wireType: 2 }],
]);

/** A varint at `offset` of `bytes`: [value, bytes used], or null when cut off or too long. */
function readVarint(bytes: Uint8Array, offset: number): [number, number] | null {
  let value = 0;
  for (let i = 0; i < 10 && offset + i < bytes.length; i++) {
    const byte = bytes[offset + i];
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return [value, i + 1];
  }
  return null;
}

async function readAt(file: Deno.FsFile, position: number, length: number): Promise<Uint8Array> {
  await file.seek(position, Deno.SeekMode.Start);
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return buffer.subarray(0, filled);
}

/** Parses one StringStringEntryProto (key = 1, value = 2). */
function parseStringEntry(bytes: Uint8Array): { key: string; value: string } | null {
  const decoder = new TextDecoder();
  let key = "";
  let value = "";
  let offset = 0;
  while (offset < bytes.length) {
    const tag = readVarint(bytes, offset);
    if (!tag) return null;
    offset += tag[1];
    const field = Math.floor(tag[0] / 8);
    const wireType = tag[0] % 8;
    if (wireType === 0) {
      const skipped = readVarint(bytes, offset);
      if (!skipped) return null;
      offset += skipped[1];
    } else if (wireType === 2) {
      const length = readVarint(bytes, offset);
      if (!length || offset + length[1] + length[0] > bytes.length) return null;
      offset += length[1];
      const text = decoder.decode(bytes.subarray(offset, offset + length[0]));
      if (field === 1) key = text;
      else if (field === 2) value = text;
      offset += length[0];
    } else if (wireType === 1 || wireType === 5) {
      offset += wireType === 1 ? 8 : 4;
    } else {
      return null;
    }
  }
  return offset === bytes.length ? { key, value } : null;
}

/**
 * Walks the top level of an ONNX file (a protobuf ModelProto) with seeks, reading only field
 * headers and the metadata entries: every field has ModelProto's wire type, every length stays
 * inside the file, ir_version, graph and opset_import are present and the last field ends
 * exactly at the end of the file. Catches files that are not ONNX and truncated downloads.
 *
 * @throws Error naming the file and what is wrong.
 */
export async function readOnnxModelInfo(path: string): Promise<OnnxModelInfo> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    fail(path, `cannot be read (${(error as Error).message})`);
  }
  try {
    const size = (await file.stat()).size;
    if (size === 0) fail(path, "is empty, not an ONNX model");
    const notOnnx: (detail: string) => never = (detail) =>
      fail(path, `is not a complete ONNX model (${size} bytes; ${detail})`);
    const seen = new Set<number>();
    const metadata = new Map<string, string>();
    let irVersion = 0;
    let position = 0;
    while (position < size) {
      const head = await readAt(file, position, 21);
      const tag = readVarint(head, 0);
      if (!tag) notOnnx(`unreadable field header at byte ${position}`);
      const fieldNumber = Math.floor(tag[0] / 8);
      const wireType = tag[0] % 8;
      const known = MODEL_PROTO_FIELDS.get(fieldNumber);
      if (fieldNumber === 0 || (wireType !== 0 && wireType !== 2)) {
        notOnnx(
          `byte ${position} is no ModelProto field (field ${fieldNumber}, wire type ${wireType})`,
        );
      }
      if (known && known.wireType !== wireType) {
        notOnnx(`field ${known.name} at byte ${position} has wire type ${wireType}`);
      }
      const value = readVarint(head, tag[1]);
      if (!value) notOnnx(`unreadable field at byte ${position}`);
      seen.add(fieldNumber);
      if (wireType === 0) {
        if (fieldNumber === 1) irVersion = value[0];
        position += tag[1] + value[1];
        continue;
      }
      const start = position + tag[1] + value[1];
      const end = start + value[0];
      if (end > size) {
        fail(
          path,
          `is cut short (or not an ONNX model): its ${
            known?.name ?? `field ${fieldNumber}`
          } at byte ${position} ` +
            `needs ${value[0]} bytes but only ${size - start} remain (${size} bytes in all)`,
        );
      }
      if (fieldNumber === 14) {
        if (value[0] > MAX_METADATA_ENTRY_BYTES) {
          notOnnx(`a metadata entry of ${value[0]} bytes at byte ${position}`);
        }
        const entry = parseStringEntry(await readAt(file, start, value[0]));
        if (!entry) notOnnx(`a malformed metadata entry at byte ${position}`);
        metadata.set(entry.key, entry.value);
      }
      position = end;
    }
    if (position !== size) notOnnx("the last field runs past the end");
    for (const [number, name] of [[1, "ir_version"], [7, "graph"], [8, "opset_import"]] as const) {
      if (!seen.has(number)) notOnnx(`no ${name}`);
    }
    return { size, irVersion, metadata };
  } finally {
    file.close();
  }
}

/** C's `atoi` for the values sherpa reads: leading spaces, sign, digits; 0 when none. */
function cAtoi(text: string): number {
  const match = new RegExp(`^[${C_SPACE}]*([+-]?)([0-9]*)`).exec(text)!;
  const digits = match[2] ? Number(match[2]) : 0;
  return match[1] === "-" ? -digits : digits;
}

/** Fields of a comma list that `strtoll` reads whole (empty fields are skipped), or null. */
function cIntegerList(text: string): number[] | null {
  const fields = text.split(",").filter((field) => field !== "");
  const integer = new RegExp(`^[${C_SPACE}]*[+-]?[0-9]+$`);
  return fields.every((field) => integer.test(field)) ? fields.map(Number) : null;
}

/**
 * Checks the metadata a Whisper encoder must carry for sherpa-onnx (the keys it reads without
 * a default, their integer form, and for a multilingual model that `language` is one of its
 * languages, since sherpa exits on an unknown one at the first utterance).
 *
 * @throws Error naming the file and the missing or bad keys.
 */
export function checkWhisperMetadata(
  path: string,
  metadata: ReadonlyMap<string, string>,
  language: string,
): void {
  const multilingual = cAtoi(metadata.get("is_multilingual") ?? "0") !== 0;
  const required = [
    ...WHISPER_INTEGER_METADATA,
    ...WHISPER_LIST_METADATA,
    ...(multilingual ? WHISPER_MULTILINGUAL_METADATA : []),
  ];
  const missing = required.filter((key) => !metadata.get(key));
  if (missing.length) {
    fail(
      path,
      `lacks the Whisper metadata sherpa-onnx needs: ${missing.join(", ")} (a Whisper model ` +
        "exported by sherpa-onnx's scripts/whisper/export-onnx.py carries them)",
    );
  }
  const bad: string[] = [];
  for (const key of WHISPER_INTEGER_METADATA) {
    if (cAtoi(metadata.get(key)!) < 0) bad.push(`${key}=${metadata.get(key)}`);
  }
  const sotSequence = cIntegerList(metadata.get("sot_sequence")!);
  if (!sotSequence?.length) bad.push(`sot_sequence=${metadata.get("sot_sequence")}`);
  if (multilingual) {
    const tokens = cIntegerList(metadata.get("all_language_tokens")!);
    const codes = metadata.get("all_language_codes")!.split(",");
    if (!tokens || tokens.some((t) => Math.abs(t) > 2 ** 31 - 1)) {
      bad.push(`all_language_tokens=${metadata.get("all_language_tokens")!.slice(0, 80)}`);
    } else if (tokens.length !== codes.length) {
      bad.push(`${tokens.length} all_language_tokens for ${codes.length} all_language_codes`);
    } else if (sotSequence && sotSequence.length < 3) {
      bad.push(`sot_sequence=${metadata.get("sot_sequence")} (a multilingual one has 3 ids)`);
    }
  }
  if (bad.length) fail(path, `has Whisper metadata sherpa-onnx cannot use: ${bad.join(", ")}`);
  if (multilingual && language) {
    const codes = metadata.get("all_language_codes")!.split(",");
    if (!codes.includes(language)) {
      throw new Error(
        `STT_LANGUAGE ${language} is not a language of the Whisper model ${path} ` +
          `(it knows ${codes.slice(0, 20).join(", ")}${codes.length > 20 ? ", ..." : ""}); ` +
          "set STT_LANGUAGE to one of them, or to an empty value to detect the language",
      );
    }
  }
}

/**
 * Checks every file of a model directory before sherpa-onnx-node loads it: the tokens file,
 * each `.onnx` file's top-level structure and, for Whisper, the encoder's metadata.
 *
 * @throws Error naming the file, what is wrong and what to do.
 */
export async function checkSherpaModelFiles(
  model: SherpaModelFiles,
  language: string,
): Promise<void> {
  await checkSherpaTokens(model.tokens, { base64: model.kind === "whisper" });
  if (model.kind === "whisper") {
    const encoder = await readOnnxModelInfo(model.encoder);
    checkWhisperMetadata(model.encoder, encoder.metadata, language);
    await readOnnxModelInfo(model.decoder);
  } else {
    for (
      const path of [model.preprocessor, model.encoder, model.uncachedDecoder, model.cachedDecoder]
    ) await readOnnxModelInfo(path);
  }
}
