/**
 * A small stand-in for memory-worker that speaks its real MQTT contract over a real broker,
 * for llm-worker tests: memory/query → memory/results (reusing the query's envelope id),
 * character/get → character/result, and the retained system/character/current.
 *
 * @module
 */
import {
  type CharacterSnapshot,
  type MemoryQuery,
  type MemoryResult,
  type MqttClient,
  topics,
} from "../../core/mod.ts";
import { testClient } from "./wait.ts";

/** Options of {@linkcode startMemoryStandIn}. */
export interface MemoryStandInOptions {
  /** The character it serves (published retained at start when `retainCharacter`). */
  readonly character?: Omit<CharacterSnapshot, "message_id">;
  /** Publish the character retained on system/character/current at start (default true). */
  readonly retainCharacter?: boolean;
  /** Documents returned for a query (default: one echoing the query). */
  readonly answer?: (query: MemoryQuery) => MemoryResult[];
  /** Delay before answering a query, ms. */
  readonly delayMs?: number;
  /** Do not answer memory/query at all (to test timeouts). */
  readonly silent?: boolean;
}

/** A running stand-in. */
export interface MemoryStandIn extends AsyncDisposable {
  /** Its client. */
  readonly client: MqttClient;
  /** The queries it received, with their envelope ids. */
  readonly queries: Array<{ query: MemoryQuery; id: string | null }>;
  /** character/get requests received (their sections). */
  readonly gets: Array<string | null | undefined>;
  /** Clears the retained character and disconnects. */
  close(): Promise<void>;
}

/** The default TARS-like character. */
export const STANDIN_CHARACTER: Omit<CharacterSnapshot, "message_id"> = {
  name: "TARS",
  description: "A former Marine robot with a dry wit.",
  systemprompt: "Answer in one or two short sentences.",
  traits: { honesty: 95, humor: 90 },
  voice: {},
  meta: {},
  scenario: {},
  personality_notes: {},
  example_interactions: {},
};

/** Connects the stand-in and starts answering. */
export async function startMemoryStandIn(
  url: string,
  options: MemoryStandInOptions = {},
): Promise<MemoryStandIn> {
  const client = testClient(url, { clientId: `memory-standin-${crypto.randomUUID().slice(0, 6)}` });
  await client.connect({ timeoutMs: 10_000 });
  const character = options.character ?? STANDIN_CHARACTER;
  const queries: MemoryStandIn["queries"] = [];
  const gets: MemoryStandIn["gets"] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  await client.subscribe(topics.memoryQuery, async (query, context) => {
    queries.push({ query, id: context.correlationId });
    if (options.silent) return;
    if (options.delayMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, options.delayMs);
        timers.add(timer);
      });
    }
    const results = options.answer?.(query) ??
      [{ document: { text: `memory about ${query.text}` }, context_type: "target" as const }];
    await client.publishEvent(topics.memoryResults, {
      query: query.text,
      k: results.filter((r) => r.context_type === "target").length,
      results,
    }, { correlationId: context.correlationId });
  }, { concurrency: 8 });
  await client.subscribe(topics.characterGet, async (get, context) => {
    gets.push(get.section);
    await client.publishEvent(topics.characterResult, { ...character }, {
      correlationId: context.correlationId,
    });
  });
  if (options.retainCharacter ?? true) {
    await client.publishEvent(topics.systemCharacterCurrent, { ...character });
  }
  let closed = false;
  const standIn: MemoryStandIn = {
    client,
    queries,
    gets,
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      if (options.retainCharacter ?? true) {
        await client.publishRaw(topics.systemCharacterCurrent.topic, new Uint8Array(), {
          retain: true,
          qos: 1,
        }).catch(() => {});
      }
      await client.shutdown();
    },
    [Symbol.asyncDispose]() {
      return standIn.close();
    },
  };
  return standIn;
}
