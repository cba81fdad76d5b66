/**
 * What we publish must be accepted by py-tars: for every schema, a minimal input parses to
 * an object whose keys are all keys py-tars' model has (taken from the golden fixtures),
 * unknown keys are rejected, and the defaults are py-tars'.
 */
import assert from "node:assert/strict";
import type { z } from "zod";
import * as contracts from "../../core/contracts/mod.ts";
import { topicList, type TopicName, topics } from "../../core/contracts/mod.ts";
import { fixturePayload, loadFixtures } from "./fixture_files.ts";

const fixtures = loadFixtures();
const HEX32 = /^[0-9a-f]{32}$/;

/** Minimal valid inputs per topic; unions list one input per variant. */
const MINIMAL_INPUTS: Record<
  Exclude<TopicName, "audioPcm" | "haStatus" | "haState" | "haCamera" | "haCommand">,
  Record<string, unknown>[]
> = {
  sttFinal: [{ text: "hello" }],
  sttPartial: [{ text: "hel" }],
  sttVad: [{ event: "speech_start", utt_id: "u1" }],
  wakeEvent: [{ type: "wake" }],
  wakeMic: [{ action: "unmute" }],
  ttsSay: [{ text: "Yes?" }],
  ttsStatus: [{ event: "speaking_start" }],
  ttsControl: [{ action: "pause" }],
  ttsAudio: [{
    utt_id: "u",
    seq: 0,
    sample_rate: 16000,
    channels: 1,
    format: "pcm_s16le",
    data: "",
    final: true,
  }],
  llmRequest: [{ id: "rt-1", text: "hi" }],
  llmStream: [{ id: "rt-1" }],
  llmResponse: [{ id: "rt-1" }],
  llmCancel: [{ id: "rt-1" }],
  llmToolsRegistry: [{ tools: [] }],
  llmToolCallRequest: [{ call_id: "c1", name: "mcp:s:t", arguments: {} }],
  llmToolCallResult: [{ call_id: "c1" }],
  memoryQuery: [{ text: "pizza" }, { query: "pizza" }],
  memoryResults: [{ query: "pizza", k: 0 }],
  memoryStore: [{ text: "my cat is called Tom" }],
  characterGet: [{}],
  characterResult: [{ name: "TARS" }, { section: "traits" }],
  characterUpdate: [{ trait: "humor", value: 50 }, { action: "reset_traits" }],
  systemCharacterCurrent: [{ name: "TARS" }],
  systemHealth: [{ ok: true }],
  systemKeepalive: [{ timestamp: 1 }],
  systemMetrics: [{ client_id: "tars-router", counters: {} }],
  systemTurn: [{ turn_id: "u1", marks: {}, stages: [], done: false }],
  movementTest: [{ command: "wave" }],
  movementStop: [{}],
  movementClear: [{}],
  movementStatus: [{ event: "command_started" }],
  movementState: [{ event: "ready" }],
  movementFrame: [{ ch0: 300 }],
  cameraFrame: [{ frame_data: "", width: 1, height: 1, frame_number: 0 }],
  cameraCapture: [{}],
  cameraImage: [{
    request_id: "r",
    image_data: "",
    format: "jpeg",
    width: 0,
    height: 0,
    size_bytes: 0,
  }],
  cameraStatus: [{ event: "camera_ready" }],
  routerLiveModeSet: [{ enabled: true }],
  routerLiveMode: [{ enabled: false }],
  haDiscovery: [{
    name: "Live mode",
    unique_id: "tars_live_mode",
    device: { identifiers: ["tars"], name: "TARS" },
    origin: { name: "TARS-Deno ha-bridge" },
  }],
};

/** The keys py-tars' model of a topic has: every key of every fixture payload of the topic. */
function pyTarsKeys(name: string): Set<string> {
  const keys = new Set<string>();
  for (const fixture of fixtures.filter((f) => f.spec.name === name)) {
    for (const key of Object.keys(fixturePayload(fixture))) keys.add(key);
  }
  // memory/query's raw alias `query` is input only; we publish `text`.
  if (name === "memoryQuery") keys.delete("query");
  return keys;
}

Deno.test("MINIMAL_INPUTS covers every topic with a schema", () => {
  const withSchema = topicList.filter((spec) => spec.schema).map((spec) => spec.name).sort();
  assert.deepEqual(Object.keys(MINIMAL_INPUTS).sort(), withSchema);
});

/**
 * Rows whose schema keeps unknown keys instead of refusing them: py-tars' wake-activation
 * publishes its health with `version` and `ts`, which the dashboard must still show.
 */
const KEEPS_EXTRA_KEYS = new Set<string>(["systemHealth"]);

for (const [name, inputs] of Object.entries(MINIMAL_INPUTS)) {
  const spec = topics[name as TopicName];
  const schema = spec.schema as z.ZodType;

  Deno.test(`${spec.topic}: minimal input publishes only keys py-tars' model has`, () => {
    const allowed = pyTarsKeys(name);
    assert.ok(allowed.size > 0, `no fixture keys for ${name}`);
    for (const input of inputs) {
      const output = schema.parse(input) as Record<string, unknown>;
      const extra = Object.keys(output).filter((key) => !allowed.has(key));
      assert.deepEqual(extra, [], `${JSON.stringify(input)} -> keys py-tars rejects`);
      // Our own subscribers accept what we publish, unchanged.
      assert.deepEqual(schema.parse(output), output);
      if ("message_id" in output && !("message_id" in input) && name !== "ttsControl") {
        assert.match(String(output.message_id), HEX32);
      }
    }
  });

  if (KEEPS_EXTRA_KEYS.has(name)) {
    Deno.test(`${spec.topic}: unknown keys are kept (py-tars peers add their own)`, () => {
      for (const input of inputs) {
        const result = schema.parse({ ...input, not_a_py_tars_field: 1 });
        assert.equal((result as Record<string, unknown>).not_a_py_tars_field, 1);
      }
    });
    continue;
  }

  Deno.test(`${spec.topic}: unknown keys are rejected (extra="forbid")`, () => {
    for (const input of inputs) {
      const result = schema.safeParse({ ...input, not_a_py_tars_field: 1 });
      assert.equal(result.success, false, JSON.stringify(input));
    }
  });
}

Deno.test("schemas outside the table: py-tars fields only, extras rejected", () => {
  const cases: Array<[z.ZodType, Record<string, unknown>, string[]]> = [
    [contracts.ConversationMessage, { role: "user", content: "hi" }, [
      "role",
      "content",
      "timestamp",
    ]],
    [contracts.ToolSpec, { function: {} }, ["type", "function"]],
    [contracts.MemoryResult, { document: "x" }, [
      "document",
      "score",
      "timestamp",
      "context_type",
      "token_count",
    ]],
    [contracts.CharacterSnapshot, { name: "TARS" }, [
      "message_id",
      "name",
      "description",
      "systemprompt",
      "traits",
      "voice",
      "meta",
      "scenario",
      "personality_notes",
      "example_interactions",
    ]],
    [contracts.CharacterSection, { section: "voice" }, ["message_id", "section", "value"]],
    [contracts.CharacterResetTraits, {}, ["message_id", "action"]],
    [contracts.MoveLegsParams, { height_percent: 1, left_percent: 50, right_percent: 100 }, [
      "height_percent",
      "left_percent",
      "right_percent",
    ]],
    [contracts.MoveArmParams, { port_main: 50 }, [
      "port_main",
      "port_forearm",
      "port_hand",
      "star_main",
      "star_forearm",
      "star_hand",
    ]],
    [contracts.MovementCommand, { command: "bow" }, [
      "message_id",
      "timestamp",
      "id",
      "command",
      "params",
    ]],
    [contracts.MovementFrame, {
      id: "c",
      seq: 0,
      total: 1,
      duration_ms: 400,
      hold_ms: 0,
      channels: { "0": 300 },
    }, [
      "message_id",
      "timestamp",
      "id",
      "seq",
      "total",
      "duration_ms",
      "hold_ms",
      "channels",
      "disable_after",
      "done",
    ]],
    [contracts.MovementState, { id: "c", event: "started" }, [
      "message_id",
      "timestamp",
      "id",
      "event",
      "seq",
      "detail",
    ]],
  ];
  for (const [schema, input, fields] of cases) {
    const output = schema.parse(input) as Record<string, unknown>;
    const extra = Object.keys(output).filter((key) => !fields.includes(key));
    assert.deepEqual(extra, [], JSON.stringify(input));
    assert.equal(schema.safeParse({ ...input, not_a_py_tars_field: 1 }).success, false);
  }
});

Deno.test("defaults are py-tars'", () => {
  const final = contracts.FinalTranscript.parse({ text: "a" });
  assert.equal(final.lang, "en");
  assert.equal(final.is_final, true);
  assert.ok(Math.abs(final.ts - Date.now() / 1000) < 5, "ts is epoch seconds now");
  assert.equal(contracts.PartialTranscript.parse({ text: "a" }).is_final, false);
  assert.equal(contracts.WakeMicCommand.parse({ action: "mute" }).reason, "wake");
  assert.equal(contracts.TtsStatus.parse({ event: "paused" }).text, "");
  assert.equal(contracts.LLMRequest.parse({ id: "1", text: "a" }).stream, true);
  assert.equal(contracts.LLMStreamDelta.parse({ id: "1" }).done, false);
  const query = contracts.MemoryQuery.parse({ text: "a" });
  assert.equal(query.top_k, 5);
  assert.equal(query.include_context, false);
  assert.equal(query.context_window, 1);
  assert.equal(query.retrieval_strategy, "hybrid");
  const results = contracts.MemoryResults.parse({ query: "a", k: 0 });
  assert.deepEqual([results.results, results.strategy_used, results.truncated], [
    [],
    "hybrid",
    false,
  ]);
  assert.equal(contracts.MemoryResult.parse({ document: "x" }).context_type, "target");
  assert.equal(contracts.TestMovementRequest.parse({ command: "bow" }).speed, 1.0);
  assert.deepEqual(contracts.TestMovementRequest.parse({ command: "bow" }).params, {});
  const capture = contracts.CameraCaptureRequest.parse({});
  assert.equal(capture.format, "jpeg");
  assert.equal(capture.quality, 85);
  assert.match(capture.request_id, HEX32);
  assert.equal(contracts.CameraFrame.parse(MINIMAL_INPUTS.cameraFrame[0]).format, "jpeg");
  assert.equal(contracts.CameraImageResponse.parse(MINIMAL_INPUTS.cameraImage[0]).success, true);
  assert.deepEqual(contracts.HeartbeatPayload.parse({ timestamp: 1 }), {
    ok: true,
    event: "heartbeat",
    timestamp: 1,
  });
  const snapshot = contracts.CharacterSnapshot.parse({ name: "TARS" });
  assert.notEqual(snapshot.traits, contracts.CharacterSnapshot.parse({ name: "T" }).traits);
});

Deno.test("optional py-tars None fields accept null and absence, and stay absent", () => {
  const withNull = contracts.FinalTranscript.parse({ text: "a", utt_id: null, confidence: null });
  assert.equal(withNull.utt_id, null);
  const absent = contracts.FinalTranscript.parse({ text: "a" });
  assert.ok(!("utt_id" in absent) && !("confidence" in absent));
  const health = contracts.HealthPing.parse({ ok: true });
  assert.deepEqual(Object.keys(health).sort(), ["message_id", "ok", "timestamp"]);
});

Deno.test("ranges are py-tars'", () => {
  const rejects = (schema: z.ZodType, input: unknown) =>
    assert.equal(schema.safeParse(input).success, false, JSON.stringify(input));
  rejects(contracts.FinalTranscript, { text: "a", confidence: 1.5 });
  rejects(contracts.WakeEvent, { type: "wake", confidence: -0.1 });
  rejects(contracts.WakeEvent, { type: "wake", energy: -1 });
  rejects(contracts.WakeMicCommand, { action: "unmute", ttl_ms: -1 });
  rejects(contracts.WakeMicCommand, { action: "toggle" });
  rejects(contracts.MemoryQuery, { text: "a", top_k: 0 });
  rejects(contracts.MemoryQuery, { text: "a", top_k: 51 });
  rejects(contracts.MemoryQuery, { text: "a", context_window: 6 });
  rejects(contracts.MemoryQuery, { text: "a", retrieval_strategy: "naive" });
  rejects(contracts.TestMovementRequest, { command: "wave", speed: 0.05 });
  rejects(contracts.TestMovementRequest, { command: "wave", speed: 1.01 });
  rejects(contracts.TestMovementRequest, { command: "moonwalk" });
  rejects(contracts.CharacterTraitUpdate, { trait: "humor", value: 101 });
  rejects(contracts.CharacterTraitUpdate, { trait: "humor", value: 50.5 });
  rejects(contracts.CharacterUpdate, {});
  rejects(contracts.TtsStatus, { event: "speaking" });
  rejects(contracts.TtsControl, { action: "mute" });
  rejects(contracts.CameraCaptureRequest, { quality: 0 });
  rejects(contracts.CameraFrame, { frame_data: "", width: 0, height: 1, frame_number: 0 });
  rejects(contracts.ServoFrame, { ch16: 300 });
  rejects(contracts.ServoFrame, { ch0: 5000 });
  assert.equal(contracts.TEST_MOVEMENT_COMMANDS.length, 20);
  assert.ok(contracts.WakeEvent.safeParse({ type: "custom", ts: 12.5 }).success);
});
