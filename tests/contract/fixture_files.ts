/**
 * Loads the golden fixtures of `tests/contract/fixtures/`: one JSON message per topic in
 * the exact shape py-tars produces, named `<topic with / replaced by _>.json`, plus
 * variants `<name>.<variant>.json`. The `raw` variant is the bare payload py-tars sends
 * without an envelope; other variants are further enveloped shapes of the same topic.
 *
 * @module
 */
import { topicList, type TopicSpec } from "../../core/contracts/mod.ts";

/** The directory of the fixtures. */
export const FIXTURES_DIR = new URL("./fixtures/", import.meta.url);

/** One fixture file. */
export interface Fixture {
  /** File name, e.g. `stt_final.json`. */
  readonly file: string;
  /** The topic row it belongs to. */
  readonly spec: TopicSpec;
  /** `""` for the main fixture, else the variant, e.g. `raw`. */
  readonly variant: string;
  /** The parsed JSON. */
  readonly value: unknown;
}

/** The fixture base name of a topic: `/` replaced by `_`. */
export function fixtureBaseName(spec: TopicSpec): string {
  return spec.topic.replaceAll("/", "_");
}

/** The topic row and variant a fixture file belongs to; `null` for a stray file. */
export function classifyFixture(file: string): { spec: TopicSpec; variant: string } | null {
  let best: { spec: TopicSpec; variant: string; length: number } | null = null;
  for (const spec of topicList) {
    const base = fixtureBaseName(spec);
    let variant: string | null = null;
    if (file === `${base}.json`) variant = "";
    else if (file.startsWith(`${base}.`) && file.endsWith(".json")) {
      const middle = file.slice(base.length + 1, -".json".length);
      if (/^[a-z0-9_-]+$/.test(middle)) variant = middle;
    }
    if (variant !== null && (!best || base.length > best.length)) {
      best = { spec, variant, length: base.length };
    }
  }
  return best && { spec: best.spec, variant: best.variant };
}

/** Every `*.json` file name of the fixtures directory, sorted. */
export function fixtureFileNames(): string[] {
  return [...Deno.readDirSync(FIXTURES_DIR)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".json"))
    .map((entry) => entry.name)
    .sort();
}

/** Loads every fixture that belongs to a topic (stray files are reported by the tests). */
export function loadFixtures(): Fixture[] {
  const fixtures: Fixture[] = [];
  for (const file of fixtureFileNames()) {
    const owner = classifyFixture(file);
    if (!owner) continue;
    const value: unknown = JSON.parse(Deno.readTextFileSync(new URL(file, FIXTURES_DIR)));
    fixtures.push({ file, ...owner, value });
  }
  return fixtures;
}

/** Whether a fixture is a bare payload (a `raw` variant or a topic that is not enveloped). */
export function isBarePayload(fixture: Fixture): boolean {
  return fixture.variant === "raw" || fixture.spec.wire !== "envelope";
}

/** The payload of a fixture: `data` of an envelope, else the value itself. */
export function fixturePayload(fixture: Fixture): Record<string, unknown> {
  const value = fixture.value as Record<string, unknown>;
  return isBarePayload(fixture) ? value : value.data as Record<string, unknown>;
}
