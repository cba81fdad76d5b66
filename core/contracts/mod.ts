/**
 * The TARS contracts: the py-tars wire envelope, the topic table and one zod schema per
 * payload. This module is the single source of truth for what travels over MQTT; services
 * never build topic strings or payload objects by hand.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FinalTranscript, topicFor, topics } from "./mod.ts";
 *
 * const final = FinalTranscript.parse({ text: "hello" }); // message_id, lang, ts filled
 * assert.equal(final.text, "hello");
 * assert.equal(topicFor(topics.systemHealth, { client_id: "tars-stt" }), "system/health/tars-stt");
 * ```
 *
 * @module
 */
export * from "./envelope.ts";
export { type ClockSources, epochMs, WallClock } from "./wall_clock.ts";
export * from "./topic.ts";
export * from "./topics.ts";
export * from "./topic_row.ts";
export * from "./topic_lookup.ts";
export { clipText, TEXT_LIMITS } from "./payloads/common.ts";
export * from "./payloads/camera.ts";
export * from "./payloads/character.ts";
export * from "./payloads/health.ts";
export * from "./payloads/home_assistant.ts";
export * from "./payloads/llm.ts";
export * from "./payloads/memory.ts";
export * from "./payloads/movement.ts";
export * from "./payloads/stt.ts";
export * from "./payloads/system.ts";
export * from "./payloads/turn.ts";
export * from "./payloads/tts.ts";
export * from "./payloads/wake.ts";
