/** Prompt building: budgets, memory formatting within a budget, history, persona, params. */
import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { CharacterResult, CharacterSnapshot, MemoryResults } from "../../core/mod.ts";
import { DEFAULT_RAG_PROMPT_TEMPLATE } from "../../services/llm-worker/config.ts";
import { personaPrompt, PersonaStore } from "../../services/llm-worker/persona.ts";
import {
  buildMessages,
  documentText,
  estimateTokens,
  formatMemory,
  promptBudget,
} from "../../services/llm-worker/prompt.ts";
import { readParams } from "../../services/llm-worker/service.ts";
import { safeToolName } from "../../services/llm-worker/tools.ts";

Deno.test("prompt: token estimate and py-tars budgets", () => {
  assert.equal(estimateTokens(""), 0);
  assert.equal(estimateTokens("one two three"), 4); // 3 × 1.3 = 3.9 → 4
  const budget = promptBudget({
    ctxWindow: 8192,
    maxTokens: 256,
    system: "",
    text: "hi",
    useMemory: true,
    memoryMaxTokens: 2000,
  });
  // 8192 − 256 − 100 − (300 + 0 + 2) = 7534; memory = min(3767, 2000)
  assert.equal(budget.remaining, 7534);
  assert.equal(budget.memory, 2000);
  const tight = promptBudget({
    ctxWindow: 700,
    maxTokens: 256,
    system: "",
    text: "hi",
    useMemory: true,
    memoryMaxTokens: 2000,
  });
  assert.equal(tight.remaining, 42);
  assert.equal(tight.memory, 0, "no memory with 100 tokens or less left");
  assert.equal(
    promptBudget({
      ...{ ctxWindow: 8192, maxTokens: 256, system: "", text: "x" },
      useMemory: false,
      memoryMaxTokens: 1,
    }).memory,
    0,
  );
});

Deno.test("prompt: memory lines as py-tars formats them, cut to the budget", () => {
  const results = MemoryResults.parse({
    query: "q",
    k: 2,
    results: [
      { document: "before", context_type: "previous" },
      { document: { text: "the answer" }, timestamp: "t1" },
      { document: { foo: 1 } },
      { document: "word ".repeat(100) },
    ],
  });
  assert.equal(formatMemory(results, 50), '[previous] before\n(t1) the answer\n{"foo":1}');
  assert.equal(formatMemory(results, 3), "[previous] before");
  assert.equal(documentText({ content: "c" }), "c");
});

Deno.test("prompt: system, newest history that fits, RAG template around the user text", () => {
  const history = [
    { role: "user" as const, content: "old ".repeat(50) },
    { role: "assistant" as const, content: "recent answer" },
    { role: "user" as const, content: "recent question" },
  ];
  const messages = buildMessages({
    persona: "You are TARS.",
    system: "Be brief.",
    text: "now?",
    history,
    memory: "fact one",
    ragTemplate: DEFAULT_RAG_PROMPT_TEMPLATE,
    remainingTokens: 20,
  });
  assert.deepEqual(messages, [
    { role: "system", content: "You are TARS.\n\nBe brief." },
    { role: "assistant", content: "recent answer" },
    { role: "user", content: "recent question" },
    {
      role: "user",
      content:
        "You are TARS. Use the following context to answer the user.\nContext:\nfact one\n\nUser: now?\nAssistant:",
    },
  ]);
  const plain = buildMessages({ text: "hi", ragTemplate: "{user}", remainingTokens: 0 });
  assert.deepEqual(plain, [{ role: "user", content: "hi" }]);
});

Deno.test("persona: snapshot → system prompt; traits section updates traits", () => {
  const persona = new PersonaStore();
  assert.equal(persona.systemPrompt(), undefined);
  persona.setSnapshot(CharacterSnapshot.parse({
    name: "TARS",
    description: "Robot.",
    systemprompt: "Short answers.",
    traits: { humor: 90 },
  }));
  // As py-tars: the systemprompt stands in for the description when there is one.
  assert.equal(persona.systemPrompt(), "Short answers.\n\nPersonality Metrics: humor: 90");
  assert.equal(
    persona.applyResult({ message_id: "m", section: "traits", value: { humor: 40 } }),
    true,
  );
  assert.deepEqual(persona.traitNames(), ["humor"]);
  assert.match(persona.systemPrompt() ?? "", /humor: 40/);
  assert.equal(
    persona.applyResult({
      message_id: "m",
      section: "x",
      value: { error: "unknown", available: [] },
    }),
    false,
  );
});

Deno.test("persona: the whole character, section by section as py-tars' build_system_prompt", () => {
  const character = CharacterSnapshot.parse({
    name: "TARS",
    description: "A tactical robot.",
    traits: { honesty: 95, humor: "high" },
    scenario: { world: "A workshop.", context: "Helps the crew." },
    personality_notes: { crisis_mode: "Calm orders.", humor_style: "Deadpan.", rank: 3 },
    example_interactions: {
      a: "User: Hi. TARS: Hello.",
      b: "  ",
      c: "User: Status? TARS: Nominal.",
    },
    meta: { version: 2 },
  });
  assert.equal(
    personaPrompt(character),
    [
      "You are TARS. A tactical robot.",
      "World Context: A workshop.\nOperational Context: Helps the crew.",
      "Behavioral Guidelines:\n- Crisis Mode: Calm orders.\n- Humor Style: Deadpan.",
      "Example Communication Style:\nUser: Hi. TARS: Hello.\n\nUser: Status? TARS: Nominal.",
      "Personality Metrics: honesty: 95; humor: high",
    ].join("\n\n"),
  );
  assert.equal(personaPrompt(CharacterSnapshot.parse({ name: "Bot" })), "You are Bot.");
  assert.equal(
    personaPrompt(CharacterSnapshot.parse({ name: "Bot", scenario: { world: "Mars." } })),
    "You are Bot.\n\nWorld Context: Mars.",
  );
});

Deno.test("persona: character/result merges any known section, not only traits", () => {
  const persona = new PersonaStore();
  const section = (name: string, value: unknown) =>
    persona.applyResult(CharacterResult.parse({ message_id: "m", section: name, value }));
  assert.equal(section("scenario", { world: "Mars." }), false, "nothing before a snapshot");
  persona.setSnapshot(CharacterSnapshot.parse({ name: "TARS", systemprompt: "Be brief." }));
  assert.equal(section("scenario", { world: "Mars.", context: "Rover duty." }), true);
  assert.equal(section("personality_notes", { loyalty: "To the crew." }), true);
  assert.equal(section("example_interactions", { x: "User: Hi. TARS: Hi." }), true);
  assert.equal(section("systemprompt", "Be very brief."), true);
  assert.equal(section("description", { not: "text" }), false, "wrong kind of value");
  assert.equal(section("scenario", "text"), false, "wrong kind of value");
  assert.equal(section("unknown", { a: 1 }), false);
  assert.equal(
    persona.systemPrompt(),
    [
      "Be very brief.",
      "World Context: Mars.\nOperational Context: Rover duty.",
      "Behavioral Guidelines:\n- Loyalty: To the crew.",
      "Example Communication Style:\nUser: Hi. TARS: Hi.",
    ].join("\n\n"),
  );
});

Deno.test("persona: the shipped TARS character reaches the model whole", async () => {
  const toml = await Deno.readTextFile(
    new URL("../../services/memory-worker/characters/TARS/character.toml", import.meta.url),
  );
  const parsed = parseToml(toml) as Record<string, Record<string, unknown>>;
  const prompt = personaPrompt(CharacterSnapshot.parse({
    name: parsed.info.name,
    description: parsed.info.description,
    systemprompt: parsed.info.systemprompt,
    traits: parsed.traits,
    voice: parsed.voice,
    meta: parsed.meta,
    scenario: parsed.scenario,
    personality_notes: parsed.personality_notes,
    example_interactions: parsed.example_interactions,
  }));
  const headings = [
    "You are TARS, a robot assistant.",
    "World Context: The present day",
    "Behavioral Guidelines:\n- Crisis Mode: In an emergency",
    "Example Communication Style:\nUser: What's your honesty parameter?",
    "Personality Metrics: honesty: 95; humor: 90;",
  ].map((heading) => prompt.indexOf(heading));
  assert.ok(headings.every((at) => at >= 0), `every section present: ${headings}`);
  assert.deepEqual([...headings].sort((a, b) => a - b), headings, "in py-tars' order");
});

Deno.test("params: valid overrides are used, bad ones reported and replaced by config", () => {
  const bad: string[] = [];
  const config = { model: "m", maxTokens: 100, temperature: 0.7, topP: 1 };
  assert.deepEqual(
    readParams({ model: "x", max_tokens: 5, temperature: 0, top_p: 0.2, extra: 1 }, config),
    { model: "x", maxTokens: 5, temperature: 0, topP: 0.2 },
  );
  assert.deepEqual(
    readParams(
      { model: "", max_tokens: 1.5, temperature: 9, top_p: "x" },
      config,
      (k) => bad.push(k),
    ),
    { model: "m", maxTokens: 100, temperature: 0.7, topP: 1 },
  );
  assert.deepEqual(bad, ["model", "max_tokens", "temperature", "top_p"]);
  assert.deepEqual(readParams(null, config), config);
});

Deno.test("tools: registry names become valid OpenAI function names", () => {
  assert.equal(safeToolName("mcp:weather:now"), "mcp__weather__now");
  assert.equal(safeToolName("ok_name-1"), "ok_name-1");
  assert.equal(safeToolName("x".repeat(80)).length, 64);
});
