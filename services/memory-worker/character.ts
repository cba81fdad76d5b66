/**
 * The character (persona): read from `CHARACTER_DIR/CHARACTER_NAME/character.toml` in the
 * py-tars format (`[info]`, `[traits]` 0..100, `[voice]`, `[scenario]`, `[personality_notes]`,
 * `[example_interactions]`, `[meta]`), with trait changes from character/update applied on
 * top and persisted by the caller. A reset re-reads the file.
 *
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { CharacterSnapshot, ConfigError, topics } from "../../core/mod.ts";
import { BUNDLED_CHARACTER_DIR, type MemoryConfig } from "./config.ts";

/** The snapshot fields, as published (without `message_id`). */
export type CharacterProfile = Omit<CharacterSnapshot, "message_id">;

/** Sections a character/get may name, besides the `info` fields `name`, `description`, `systemprompt`. */
export const CHARACTER_SECTIONS = [
  "traits",
  "voice",
  "scenario",
  "personality_notes",
  "example_interactions",
  "meta",
] as const;

/** The path of a character's file. */
export function characterFile(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, "")}/${name}/character.toml`;
}

/** A character of that name and nothing else (py-tars' fallback). */
export function bareCharacter(name: string): CharacterProfile {
  return {
    name,
    description: null,
    systemprompt: null,
    traits: {},
    voice: {},
    meta: {},
    scenario: {},
    personality_notes: {},
    example_interactions: {},
  };
}

/**
 * Reads the character file at `path`; when there is no such file, returns the character
 * shipped in `builtinDir` under the same name, else a character with only that name (as
 * py-tars did), and calls `onMissing` with a sentence to log as a warning.
 *
 * @throws Error as {@linkcode loadCharacter} for a file that exists but is not valid.
 */
export async function loadCharacterOrDefault(
  path: string,
  name: string,
  builtinDir: string,
  onMissing: (warning: string) => void,
): Promise<CharacterProfile> {
  try {
    await Deno.stat(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    const builtin = characterFile(builtinDir, name);
    let profile: CharacterProfile;
    let what: string;
    if (builtin !== path && await exists(builtin)) {
      profile = await loadCharacter(builtin);
      what = `the built-in ${name} character (${builtin})`;
    } else {
      profile = bareCharacter(name);
      what = `a character with only the name ${name}`;
    }
    onMissing(
      `No character file ${path}: using ${what}. Put a character.toml there or set ` +
        "CHARACTER_DIR / CHARACTER_NAME.",
    );
    return profile;
  }
  return await loadCharacter(path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads and checks a character file. Traits are integers 0..100 or, as py-tars accepted
 * them, text (`humor = "high"`).
 *
 * @throws Error naming the file and what is wrong (missing, bad TOML, a trait neither an
 * integer 0..100 nor text).
 */
export async function loadCharacter(path: string): Promise<CharacterProfile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`Cannot read the character file ${path}: ${(error as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = toJson(parseToml(text)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`The character file ${path} is not valid TOML: ${(error as Error).message}`);
  }
  const table = (key: string): Record<string, unknown> => {
    const value = doc[key];
    if (value === undefined) return {};
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      throw new Error(`The character file ${path}: [${key}] must be a table`);
    }
    return value as Record<string, unknown>;
  };
  const info = table("info");
  const traits = table("traits");
  const bad = Object.entries(traits).filter(([, v]) => !isTraitValue(v) && typeof v !== "string");
  if (bad.length > 0) {
    throw new Error(
      `The character file ${path}: traits must be integers 0..100 or text; bad: ` +
        bad.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(", "),
    );
  }
  const text_ = (value: unknown) => typeof value === "string" ? value.trim() : null;
  const name = text_(info.name);
  if (!name) throw new Error(`The character file ${path}: [info] name is missing`);
  const profile: CharacterProfile = {
    name,
    description: text_(info.description),
    systemprompt: text_(info.systemprompt),
    traits: traits as Record<string, number | string>,
    voice: table("voice"),
    meta: table("meta"),
    scenario: table("scenario"),
    personality_notes: table("personality_notes"),
    example_interactions: table("example_interactions"),
  };
  checkCharacterSize(profile, path);
  return profile;
}

/**
 * Throws when `profile` breaks the contract's field limits or would not fit
 * `system/character/current` (the client would refuse to publish it).
 */
function checkCharacterSize(profile: CharacterProfile, path: string): void {
  const parsed = CharacterSnapshot.safeParse(profile);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `The character file ${path}: ${issue.path.join(".")}: ${issue.message}; shorten it`,
    );
  }
  const bytes = new TextEncoder().encode(JSON.stringify(profile)).byteLength;
  const limit = topics.systemCharacterCurrent.maxBytes - CHARACTER_ENVELOPE_BYTES;
  if (bytes > limit) {
    throw new Error(
      `The character file ${path} is ${bytes} bytes as JSON, over the ${limit} bytes ` +
        "system/character/current carries; shorten its texts",
    );
  }
}

/** Room left in system/character/current for the envelope and the message id. */
const CHARACTER_ENVELOPE_BYTES = 1_024;

/** Whether `value` is a valid trait value: an integer 0..100. */
export function isTraitValue(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 100;
}

/** The answer to a character/get for one section. */
export type SectionAnswer =
  | { readonly found: true; readonly value: Record<string, unknown> | string | null }
  | { readonly found: false; readonly value: { error: string; available: string[] } };

/** The character with its trait changes. */
export class Character {
  #base: CharacterProfile;
  #overrides: Record<string, number>;

  /** Creates it from the file's profile and the persisted trait changes. */
  constructor(base: CharacterProfile, overrides: Readonly<Record<string, number>> = {}) {
    this.#base = base;
    // A persisted change to a trait the file no longer has is dropped.
    this.#overrides = Object.fromEntries(
      Object.entries(overrides).filter(([trait, v]) => trait in base.traits && isTraitValue(v)),
    );
  }

  /** The whole character. */
  snapshot(): CharacterProfile {
    return { ...this.#base, traits: { ...this.#base.traits, ...this.#overrides } };
  }

  /** Names character/get accepts. */
  sections(): string[] {
    return ["name", "description", "systemprompt", ...CHARACTER_SECTIONS];
  }

  /** One section, or an error listing the available ones. */
  section(name: string): SectionAnswer {
    const snapshot = this.snapshot() as unknown as Record<string, unknown>;
    const key = name.trim().toLowerCase();
    if (!this.sections().includes(key)) {
      return {
        found: false,
        value: { error: `unknown section '${name}'`, available: this.sections() },
      };
    }
    return { found: true, value: (snapshot[key] ?? null) as SectionAnswer["value"] };
  }

  /** Trait names of the file. */
  traitNames(): string[] {
    return Object.keys(this.#base.traits);
  }

  /**
   * Sets a trait. Returns an error text (and changes nothing) for a trait the file does not
   * define or a value outside 0..100.
   */
  setTrait(trait: string, value: number): string | null {
    if (!(trait in this.#base.traits)) {
      return `unknown trait '${trait}'; known traits: ${this.traitNames().join(", ")}`;
    }
    if (!isTraitValue(value)) return `trait ${trait} must be an integer 0..100, got ${value}`;
    this.#overrides[trait] = value;
    return null;
  }

  /** Drops every trait change and takes `base` (the re-read file). */
  reset(base: CharacterProfile): void {
    this.#base = base;
    this.#overrides = {};
  }
}

// TOML dates and times become ISO strings; everything else is already JSON.
function toJson(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === "object") {
    if (!Object.getPrototypeOf(value) || Object.getPrototypeOf(value) === Object.prototype) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
    }
    return String(value);
  }
  return value;
}

/**
 * Loads the character memory-worker's settings name (CHARACTER_DIR/CHARACTER_NAME); a missing
 * file falls back as {@linkcode loadCharacterOrDefault} does (and `onMissing` hears about it).
 *
 * @throws ConfigError naming CHARACTER_DIR when the file exists but cannot be used (exit 78).
 */
export async function loadConfiguredCharacter(
  config: Pick<MemoryConfig, "characterDir" | "characterName">,
  onMissing: (warning: string) => void,
): Promise<CharacterProfile> {
  try {
    return await loadCharacterOrDefault(
      characterFile(config.characterDir, config.characterName),
      config.characterName,
      BUNDLED_CHARACTER_DIR,
      onMissing,
    );
  } catch (error) {
    throw new ConfigError([{
      variable: "CHARACTER_DIR",
      value: config.characterDir,
      expected: `a usable ${config.characterName}/character.toml (${(error as Error).message})`,
    }], "memory-worker character");
  }
}
