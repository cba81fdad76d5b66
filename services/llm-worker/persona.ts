/**
 * The persona: the current character from memory-worker (retained
 * system/character/current, or a character/result answering character/get), turned into
 * the system prompt of every request the way py-tars' `build_system_prompt` does.
 *
 * @module
 */
import type { CharacterResult, CharacterSnapshot } from "../../core/mod.ts";

/** Sections of a character whose value is a table (TOML section). */
const TABLE_SECTIONS = [
  "traits",
  "voice",
  "meta",
  "scenario",
  "personality_notes",
  "example_interactions",
] as const;
/** Sections of a character whose value is text. */
const TEXT_SECTIONS = ["name", "description", "systemprompt"] as const;

type TableSection = typeof TABLE_SECTIONS[number];
type TextSection = typeof TEXT_SECTIONS[number];

function isTableSection(section: string): section is TableSection {
  return (TABLE_SECTIONS as readonly string[]).includes(section);
}

function isTextSection(section: string): section is TextSection {
  return (TEXT_SECTIONS as readonly string[]).includes(section);
}

/** `crisis_mode` → `Crisis Mode` (Python's `str.replace("_", " ").title()`). */
function titleCase(key: string): string {
  return key.replaceAll("_", " ").toLowerCase().replace(
    /(^|[^a-z])([a-z])/g,
    (_, before: string, letter: string) => before + letter.toUpperCase(),
  );
}

/** Python's `str(value)` for the scalar values a character TOML holds. */
function pythonText(value: unknown): string {
  if (value === true) return "True";
  if (value === false) return "False";
  if (value === null || value === undefined) return "None";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/**
 * The persona system prompt of `character`, section by section as py-tars builds it, parts
 * joined by blank lines:
 * 1. the `systemprompt`, else `You are {name}. {description}`, else `You are {name}.`;
 * 2. `World Context: {scenario.world}` and `Operational Context: {scenario.context}`;
 * 3. `Behavioral Guidelines:` with one `- Key Name: text` line per personality note;
 * 4. `Example Communication Style:` with the example interactions, blank-line separated;
 * 5. `Personality Metrics: trait: value; ...`.
 */
export function personaPrompt(character: CharacterSnapshot): string {
  const parts: string[] = [];
  const systemprompt = character.systemprompt?.trim();
  const description = character.description ??
    (typeof character.meta.description === "string" ? character.meta.description : undefined);
  if (systemprompt) parts.push(systemprompt);
  else if (description) parts.push(`You are ${character.name}. ${description}`);
  else parts.push(`You are ${character.name}.`);

  const scenario: string[] = [];
  if ("world" in character.scenario) {
    scenario.push(`World Context: ${pythonText(character.scenario.world)}`);
  }
  if ("context" in character.scenario) {
    scenario.push(`Operational Context: ${pythonText(character.scenario.context)}`);
  }
  if (scenario.length > 0) parts.push(scenario.join("\n"));

  const notes = Object.entries(character.personality_notes)
    .filter((entry): entry is [string, string] => typeof entry[1] === "string")
    .map(([key, value]) => `- ${titleCase(key)}: ${value}`);
  if (notes.length > 0) parts.push(["Behavioral Guidelines:", ...notes].join("\n"));

  const examples = Object.values(character.example_interactions)
    .filter((value): value is string => typeof value === "string" && value.trim() !== "")
    .map((value) => value.trim());
  if (examples.length > 0) parts.push(`Example Communication Style:\n${examples.join("\n\n")}`);

  const traits = Object.entries(character.traits)
    .map(([name, value]) => `${name}: ${pythonText(value)}`);
  if (traits.length > 0) parts.push(`Personality Metrics: ${traits.join("; ")}`);

  return parts.join("\n\n").trim();
}

/** Holds the current character and renders it as a system prompt. */
export class PersonaStore {
  #snapshot: CharacterSnapshot | undefined;

  /** The current character, if one arrived. */
  get snapshot(): CharacterSnapshot | undefined {
    return this.#snapshot;
  }

  /** Replaces the character. */
  setSnapshot(snapshot: CharacterSnapshot): void {
    this.#snapshot = snapshot;
  }

  /**
   * Applies a character/result: a snapshot replaces the character; a section answer
   * replaces that section (tables: traits, voice, meta, scenario, personality_notes,
   * example_interactions; text: name, description, systemprompt), as py-tars'
   * `update_section` does. Error answers (`{error, available}`), unknown sections, values
   * of the wrong kind and sections before any snapshot change nothing. Returns whether
   * something changed.
   */
  applyResult(result: CharacterResult): boolean {
    if ("name" in result) {
      this.#snapshot = result;
      return true;
    }
    const { section, value } = result;
    if (!this.#snapshot) return false;
    if (isTableSection(section)) {
      if (!value || typeof value !== "object" || "error" in value) return false;
      this.#snapshot = { ...this.#snapshot, [section]: value };
      return true;
    }
    if (isTextSection(section)) {
      if (typeof value !== "string") return false;
      if (section === "name" && !value.trim()) return false;
      this.#snapshot = { ...this.#snapshot, [section]: value };
      return true;
    }
    return false;
  }

  /** The trait names of the current character (empty before one arrived). */
  traitNames(): string[] {
    return Object.keys(this.#snapshot?.traits ?? {});
  }

  /** The persona system prompt, or `undefined` before a character arrived. */
  systemPrompt(): string | undefined {
    return this.#snapshot ? personaPrompt(this.#snapshot) : undefined;
  }
}
