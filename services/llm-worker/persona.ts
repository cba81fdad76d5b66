/**
 * The persona: the current character from memory-worker (retained
 * system/character/current, or a character/result answering character/get), turned into
 * the system prompt of every request.
 *
 * @module
 */
import type { CharacterResult, CharacterSnapshot } from "../../core/mod.ts";

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
   * Applies a character/result: a snapshot replaces the character, a `traits` section
   * replaces the traits; other sections (and error answers) change nothing. Returns whether
   * something changed.
   */
  applyResult(result: CharacterResult): boolean {
    if ("name" in result) {
      this.#snapshot = result;
      return true;
    }
    const value = result.value;
    if (
      result.section === "traits" && this.#snapshot && value && typeof value === "object" &&
      !("error" in value)
    ) {
      this.#snapshot = { ...this.#snapshot, traits: value };
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
    const character = this.#snapshot;
    if (!character) return undefined;
    const lines: string[] = [];
    const intro = `You are ${character.name}.`;
    lines.push(character.description ? `${intro} ${character.description.trim()}` : intro);
    if (character.systemprompt?.trim()) lines.push(character.systemprompt.trim());
    const traits = Object.entries(character.traits)
      .filter(([, value]) => typeof value === "number")
      .map(([name, value]) => `${name} ${value}`);
    if (traits.length > 0) {
      lines.push(`Personality traits (0-100): ${traits.join(", ")}.`);
    }
    return lines.join("\n");
  }
}
