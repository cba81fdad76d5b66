import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { TtsSay } from "../../core/mod.ts";
import {
  factMemory,
  MAX_REPLY_CHARS,
  type NewMemory,
  ReplyCollector,
  transcriptMemory,
} from "../../services/memory-worker/ingest.ts";
import {
  bareCharacter,
  Character,
  characterFile,
  loadCharacter,
  loadCharacterOrDefault,
} from "../../services/memory-worker/character.ts";
import { BUNDLED_CHARACTER_DIR, readMemoryConfig } from "../../services/memory-worker/config.ts";
import { ConfigError } from "../../core/mod.ts";

const say = (text: string, extra: Record<string, unknown> = {}) => TtsSay.parse({ text, ...extra });

Deno.test("ingest: a reply longer than MAX_REPLY_CHARS is stored as several memories", () => {
  const clock = FakeTimers.install();
  try {
    const stored: NewMemory[] = [];
    const collector = new ReplyCollector({ idleMs: 3000, onReply: (m) => stored.push(m) });
    const sentence = `${"a".repeat(999)}.`;
    const count = Math.ceil(MAX_REPLY_CHARS / 1001) * 2;
    for (let i = 0; i < count; i++) collector.add(say(sentence, { utt_id: "long" }));
    collector.flushAll();
    assert.ok(stored.length >= 2, `${stored.length} memories`);
    assert.ok(stored.every((m) => m.text.length <= MAX_REPLY_CHARS));
    assert.equal(stored.reduce((n, m) => n + (m.document.sentences as number), 0), count);
  } finally {
    clock.uninstall();
  }
});

Deno.test("ingest: the sentences of one reply become one memory after it goes quiet", () => {
  const clock = FakeTimers.install();
  try {
    const stored: NewMemory[] = [];
    const collector = new ReplyCollector({ idleMs: 3000, onReply: (m) => stored.push(m) });
    assert.equal(collector.add(say("Hello there.", { utt_id: "r1", stt_ts: 12 })), null);
    clock.tick(2000);
    collector.add(say("I am TARS.", { utt_id: "r1" }));
    clock.tick(2999);
    assert.equal(stored.length, 0, "still speaking");
    clock.tick(1);
    assert.equal(stored.length, 1);
    assert.equal(stored[0].text, "Hello there. I am TARS.");
    assert.deepEqual(stored[0].document, {
      role: "assistant",
      utt_id: "r1",
      stt_ts: 12,
      sentences: 2,
    });
    assert.equal(stored[0].kind, "assistant");
  } finally {
    clock.uninstall();
  }
});

Deno.test("ingest: a new reply completes the previous one; acks and announcements are skipped", () => {
  const clock = FakeTimers.install();
  try {
    const stored: NewMemory[] = [];
    const collector = new ReplyCollector({ idleMs: 3000, onReply: (m) => stored.push(m) });
    collector.add(say("First reply.", { utt_id: "a" }));
    collector.add(say("Second reply.", { utt_id: "b" }));
    assert.deepEqual(stored.map((m) => m.text), ["First reply."]);
    assert.equal(collector.add(say("Yes?", { wake_ack: true, utt_id: "b" })), "wake_ack");
    assert.equal(collector.add(say("Online.", { system_announce: true })), "system_announce");
    assert.equal(collector.add(say("   ", { utt_id: "b" })), "empty");
    collector.add(say("No utterance id."));
    assert.deepEqual(stored.map((m) => m.text), ["First reply.", "No utterance id."]);
    collector.flushAll();
    assert.deepEqual(stored.map((m) => m.text), [
      "First reply.",
      "No utterance id.",
      "Second reply.",
    ]);
    assert.equal(collector.pending, 0);
    clock.tick(10_000);
    assert.equal(stored.length, 3, "no timer fires after the flush");
  } finally {
    clock.uninstall();
  }
});

Deno.test("ingest: transcripts and facts", () => {
  const memory = transcriptMemory({
    message_id: "m",
    text: " what time is it ",
    lang: "en",
    confidence: 0.9,
    utt_id: "u1",
    ts: 5,
    is_final: true,
  }, 1000);
  assert.deepEqual(memory, {
    kind: "user",
    text: "what time is it",
    document: { role: "user", lang: "en", confidence: 0.9, utt_id: "u1", ts: 5 },
    at: 1000,
  });
  assert.equal(
    transcriptMemory({ message_id: "m", text: "  ", lang: "en", ts: 1, is_final: true }),
    null,
  );
  assert.deepEqual(
    factMemory({ message_id: "x", text: "Anna likes tea", source: "llm-worker" }, 7),
    {
      kind: "fact",
      text: "Anna likes tea",
      document: { role: "fact", source: "llm-worker" },
      at: 7,
    },
  );
});

Deno.test("character: the bundled TARS profile loads with py-tars sections and traits", async () => {
  const profile = await loadCharacter(characterFile(BUNDLED_CHARACTER_DIR, "TARS"));
  assert.equal(profile.name, "TARS");
  assert.equal(profile.traits.honesty, 95);
  assert.equal(profile.traits.humor, 90);
  assert.equal(Object.keys(profile.traits).length, 18);
  assert.equal(profile.voice.voice_id, "TARS");
  assert.equal(profile.meta.version, 2);
  assert.ok(profile.systemprompt?.startsWith("You are TARS"));
  for (const section of ["scenario", "personality_notes", "example_interactions"] as const) {
    assert.ok(Object.keys(profile[section]).length > 0, section);
  }
});

Deno.test("character: sections, unknown section error, trait validation, reset", async () => {
  const profile = await loadCharacter(characterFile(BUNDLED_CHARACTER_DIR, "TARS"));
  const character = new Character(profile, { humor: 40, vanished: 3 });
  assert.equal(character.snapshot().traits.humor, 40, "persisted change applied");
  assert.equal("vanished" in character.snapshot().traits, false);
  assert.deepEqual(character.section("voice"), { found: true, value: profile.voice });
  assert.deepEqual(character.section("name"), { found: true, value: "TARS" });
  const unknown = character.section("hobbies");
  assert.equal(unknown.found, false);
  assert.deepEqual(unknown.value, {
    error: "unknown section 'hobbies'",
    available: character.sections(),
  });
  assert.equal(character.setTrait("humor", 75), null);
  assert.equal(character.snapshot().traits.humor, 75);
  assert.match(character.setTrait("charm", 50)!, /unknown trait 'charm'; known traits: honesty/);
  assert.match(character.setTrait("humor", 101)!, /0\.\.100/);
  character.reset(profile);
  assert.equal(character.snapshot().traits.humor, 90);
});

Deno.test("character: a broken file is reported with its path and the problem", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tars-char-" });
  try {
    await Deno.mkdir(`${dir}/X`);
    const file = characterFile(dir, "X");
    await Deno.writeTextFile(file, "[info\nname=");
    await assert.rejects(loadCharacter(file), /not valid TOML/);
    await Deno.writeTextFile(
      file,
      '[info]\nname = "X"\n[traits]\nhumor = 150\nwit = "high"\nmood = [1]\n',
    );
    await assert.rejects(
      loadCharacter(file),
      /traits must be integers 0\.\.100 or text; bad: humor = 150, mood = \[1\]/,
    );
    await Deno.writeTextFile(file, "[traits]\nhumor = 1\n");
    await assert.rejects(loadCharacter(file), /\[info\] name is missing/);
    await Deno.writeTextFile(file, `[info]\nname = "X"\nsystemprompt = "${"p".repeat(70_000)}"\n`);
    await assert.rejects(loadCharacter(file), /systemprompt: Too big.*shorten it/);
    const notes = Array.from({ length: 40 }, (_, i) => `n${i} = "${"q".repeat(8_000)}"`).join("\n");
    await Deno.writeTextFile(file, `[info]\nname = "X"\n[personality_notes]\n${notes}\n`);
    await assert.rejects(loadCharacter(file), /bytes as JSON, over the \d+ bytes/);
    await assert.rejects(
      loadCharacter(characterFile(dir, "Nobody")),
      /Cannot read the character file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("character: text trait values load, as py-tars accepted them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tars-char-" });
  try {
    await Deno.mkdir(`${dir}/X`);
    const file = characterFile(dir, "X");
    await Deno.writeTextFile(file, '[info]\nname = "X"\n[traits]\nhumor = 90\nwit = "high"\n');
    const character = new Character(await loadCharacter(file));
    assert.deepEqual(character.snapshot().traits, { humor: 90, wit: "high" });
    assert.equal(character.setTrait("wit", 40), null, "a text trait can be set to a number");
    assert.deepEqual(character.snapshot().traits, { humor: 90, wit: 40 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("character: no file → the built-in one of that name, else only the name; a warning", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tars-char-" });
  try {
    const warnings: string[] = [];
    const warn = (warning: string) => void warnings.push(warning);
    const tars = await loadCharacterOrDefault(
      characterFile(dir, "TARS"),
      "TARS",
      BUNDLED_CHARACTER_DIR,
      warn,
    );
    assert.deepEqual(tars, await loadCharacter(characterFile(BUNDLED_CHARACTER_DIR, "TARS")));
    assert.match(warnings[0], /No character file .*TARS\/character\.toml: using the built-in TARS/);
    const nobody = await loadCharacterOrDefault(
      characterFile(dir, "Nobody"),
      "Nobody",
      BUNDLED_CHARACTER_DIR,
      warn,
    );
    assert.deepEqual(nobody, bareCharacter("Nobody"));
    assert.match(warnings[1], /a character with only the name Nobody.*CHARACTER_DIR/);
    // A file that exists but is broken is still an error, not a silent default.
    await Deno.mkdir(`${dir}/X`);
    await Deno.writeTextFile(characterFile(dir, "X"), "[info\nname=");
    await assert.rejects(
      loadCharacterOrDefault(characterFile(dir, "X"), "X", BUNDLED_CHARACTER_DIR, warn),
      /not valid TOML/,
    );
    assert.equal(warnings.length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: defaults, embedder settings and one error naming every bad variable", () => {
  const defaults = readMemoryConfig({});
  assert.equal(defaults.databasePath, "/data/memory.sqlite");
  assert.deepEqual(defaults.embedder, { backend: "none" });
  assert.equal(defaults.fusion, "hybrid");
  assert.equal(defaults.characterDir, BUNDLED_CHARACTER_DIR);
  const openai = readMemoryConfig({
    EMBED_BACKEND: "openai",
    OPENAI_BASE_URL: "http://127.0.0.1:8080/v1/",
    OPENAI_API_KEY: "sk-secret",
    EMBED_DIMENSIONS: "256",
  });
  assert.deepEqual(openai.embedder, {
    backend: "openai",
    baseUrl: "http://127.0.0.1:8080/v1",
    model: "text-embedding-3-small",
    apiKey: "sk-secret",
    dimensions: 256,
    timeoutMs: 15_000,
  });
  assert.equal(readMemoryConfig({ MEMORY_FILE: ":memory:" }).databasePath, ":memory:");
  try {
    readMemoryConfig({
      EMBED_BACKEND: "onnx",
      MEMORY_FILE: "../x.db",
      RAG_STRATEGY: "fuzzy",
      EMBED_API_KEY: "sk-leak",
      EMBED_DIMENSIONS: "-1",
      CHARACTER_NAME: "../etc",
    });
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const message = error.message;
    for (
      const name of [
        "EMBED_MODEL",
        "MEMORY_FILE",
        "RAG_STRATEGY",
        "EMBED_DIMENSIONS",
        "CHARACTER_NAME",
      ]
    ) {
      assert.match(message, new RegExp(name));
    }
    assert.doesNotMatch(message, /sk-leak/);
  }
});
