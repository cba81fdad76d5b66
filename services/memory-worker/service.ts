/**
 * The memory-worker service: stores what is said (stt/final, the spoken replies on tts/say,
 * facts on memory/store) in the memory database, answers memory/query on memory/results
 * with the query's envelope id, and serves the character (retained
 * system/character/current, character/get → character/result, character/update).
 * Queries and ingestion run on separate subscriptions, so a burst of ingestion never delays
 * an answer. Storage failures turn health to `ok:false` with the error until a write works
 * again; the memories meanwhile wait in a bounded backlog.
 *
 * @module
 */
import { RateLimitedLog, type ServiceDeps, topics } from "../../core/mod.ts";
import {
  Character,
  characterFile,
  type CharacterProfile,
  loadConfiguredCharacter,
} from "./character.ts";
import type { MemoryConfig } from "./config.ts";
import type { Embedder } from "./embedders/mod.ts";
import { EmbeddingIndexer } from "./indexer.ts";
import { ArrivalClock, factMemory, ReplyCollector, transcriptMemory } from "./ingest.ts";
import { MemorySearcher } from "./retrieval.ts";
import { MemoryDatabase } from "./store.ts";
import { MemoryWriter } from "./writer.ts";

/** Bytes of a memory/results envelope besides its results and query (ids, counts, keys). */
const RESULTS_OVERHEAD_BYTES = 2_048;
const UTF8 = new TextEncoder();

/** Options of {@linkcode startMemoryWorker}. */
export interface MemoryWorkerOptions {
  /** The configuration (`readMemoryConfig`). */
  readonly config: MemoryConfig;
  /** The loaded embedder; `null`/absent = lexical search only. Closed with the service. */
  readonly embedder?: Embedder | null;
  /** The character already loaded by `loadConfiguredCharacter`; read at start when absent. */
  readonly character?: CharacterProfile;
}

/** Counters of the service. */
export interface MemoryWorkerCounters {
  /** memory/query answered. */
  queries: number;
  /** Queries that failed on storage (answered with no results). */
  queryErrors: number;
  /** Memories stored. */
  stored: number;
  /** tts/say messages not stored (wake acks, announcements, empty). */
  skipped: number;
}

/** A running memory-worker. */
export interface MemoryWorker {
  /** The database. */
  readonly db: MemoryDatabase;
  /** The writer (backlog, failures). */
  readonly writer: MemoryWriter;
  /** The background embedder, when an embedder is configured. */
  readonly indexer: EmbeddingIndexer | null;
  /** The character. */
  readonly character: Character;
  /** Service counters. */
  readonly counters: Readonly<MemoryWorkerCounters>;
  /** Stores the replies still being collected, stops, and closes the database. */
  close(): Promise<void>;
}

/**
 * Opens the database and the character, subscribes and publishes the character.
 *
 * @throws Error when the database or the character file cannot be opened (the message
 * names the path).
 */
export async function startMemoryWorker(
  context: ServiceDeps,
  options: MemoryWorkerOptions,
): Promise<MemoryWorker> {
  const { client, logger } = context;
  const { config } = options;
  const embedder = options.embedder ?? null;
  const counters: MemoryWorkerCounters = { queries: 0, queryErrors: 0, stored: 0, skipped: 0 };
  const warnings = new RateLimitedLog(10_000);

  const characterPath = characterFile(config.characterDir, config.characterName);
  const readCharacter = () =>
    loadConfiguredCharacter(config, (warning) => logger.warn("{warning}", { warning }));
  // A character file that exists but cannot be used is a setting to fix (exit 78).
  const base = options.character ?? await readCharacter();
  if (config.directory) await Deno.mkdir(config.directory, { recursive: true });
  let db: MemoryDatabase;
  try {
    db = MemoryDatabase.open({
      path: config.databasePath,
      vectors: embedder !== null,
      busyTimeoutMs: config.busyTimeoutMs,
    });
  } catch (error) {
    throw new Error(
      `Cannot open the memory database ${config.databasePath}: ${(error as Error).message}. ` +
        "Check MEMORY_DIR/MEMORY_FILE and that the folder is writable.",
    );
  }
  const character = new Character(base, db.traitOverrides(base.name));
  logger.info("Memory database {path}: {count} memories; character {name} from {file}", {
    path: config.databasePath,
    count: db.count(),
    name: base.name,
    file: characterPath,
  });

  const indexer = embedder
    ? new EmbeddingIndexer(db, embedder, { batchSize: config.embedBatchSize, logger })
    : null;
  const writer = new MemoryWriter(db, {
    retryMs: config.retryMs,
    maxBacklog: config.maxBacklog,
    logger,
    onStored: () => {
      counters.stored++;
      indexer?.kick();
    },
    onFailure: (error) => {
      client.publishHealth({ ok: false, event: "storage_error", err: error.message })
        .catch(() => {});
    },
    onRecovered: () => {
      logger.info("Memory storage works again");
      client.publishHealth({ ok: true, event: "ready" }).catch(() => {});
    },
  });
  const arrivals = new ArrivalClock(db.latestTime());
  const collector = new ReplyCollector({
    idleMs: config.replyIdleMs,
    onReply: (memory) => writer.write(memory),
  });
  const searcher = new MemorySearcher(db, {
    fusion: config.fusion,
    embedQuery: async (text) => {
      if (!embedder) return null;
      try {
        const [vector] = await embedder.embed(
          [text],
          AbortSignal.timeout(config.queryEmbedTimeoutMs),
        );
        return vector ?? null;
      } catch (error) {
        warnings.maybe(
          "query-embed",
          (suppressed) =>
            logger.warn("Embedding a query failed, searching lexically: {error} (+{suppressed})", {
              error: (error as Error).message,
              suppressed,
            }),
        );
        return null;
      }
    },
  });

  const publishCharacter = () =>
    client.publishEvent(topics.systemCharacterCurrent, character.snapshot()).catch((error) =>
      logger.warn("Publishing the character failed: {error}", { error: String(error) })
    );

  const subscriptions = client.group();
  try {
    await subscriptions.subscribe(topics.memoryQuery, async (query, ctx) => {
      counters.queries++;
      let answer;
      try {
        answer = await searcher.search({
          text: query.text,
          topK: query.top_k,
          maxTokens: query.max_tokens,
          includeContext: query.include_context,
          contextWindow: query.context_window,
          strategy: query.retrieval_strategy,
          // Room for the envelope and the echoed query beside the results.
          maxResultBytes: topics.memoryResults.maxBytes - RESULTS_OVERHEAD_BYTES -
            UTF8.encode(JSON.stringify(query.text)).byteLength,
        });
        writer.reportSuccess();
      } catch (error) {
        counters.queryErrors++;
        logger.error("Memory query failed on storage: {error}", { error: String(error) });
        writer.reportFailure(error as Error);
        answer = {
          results: [],
          k: 0,
          totalTokens: 0,
          truncated: false,
          strategyUsed: query.retrieval_strategy,
        };
      }
      await client.publishEvent(topics.memoryResults, {
        query: query.text,
        k: answer.k,
        results: answer.results,
        total_tokens: answer.totalTokens,
        strategy_used: answer.strategyUsed,
        truncated: answer.truncated,
      }, { correlationId: ctx.correlationId });
    }, { concurrency: 2 });
    await subscriptions.subscribe(topics.sttFinal, (final) => {
      const memory = transcriptMemory(final, arrivals.next());
      if (!memory) return;
      collector.flushAll(); // the user speaks: the previous reply is over
      writer.write(memory);
    });
    await subscriptions.subscribe(topics.ttsSay, (say) => {
      if (collector.add(say, arrivals.next()) !== null) counters.skipped++;
    });
    await subscriptions.subscribe(topics.memoryStore, (fact) => {
      writer.write(factMemory(fact, arrivals.next()));
    });
    await subscriptions.subscribe(topics.characterGet, async (request, ctx) => {
      const options = { correlationId: ctx.correlationId };
      if (!request.section) {
        await client.publishEvent(topics.characterResult, character.snapshot(), options);
        return;
      }
      const answer = character.section(request.section);
      await client.publishEvent(
        topics.characterResult,
        { section: request.section, value: answer.value },
        options,
      );
    });
    await subscriptions.subscribe(topics.characterUpdate, async (update) => {
      if ("action" in update) {
        let fresh;
        try {
          fresh = await readCharacter();
        } catch (error) {
          logger.error("reset_traits: {error}; the character is unchanged", {
            error: (error as Error).message,
          });
          return;
        }
        character.reset(fresh);
        try {
          db.clearTraitOverrides(fresh.name);
        } catch (error) {
          writer.reportFailure(error as Error);
        }
        logger.info("Traits reset from {file}", { file: characterPath });
      } else {
        const problem = character.setTrait(update.trait, update.value);
        if (problem) {
          logger.warn("character/update ignored: {problem}", { problem });
          return;
        }
        try {
          db.setTraitOverride(character.snapshot().name, update.trait, update.value);
        } catch (error) {
          logger.error("Saving trait {trait} failed: {error}", {
            trait: update.trait,
            error: String(error),
          });
          writer.reportFailure(error as Error);
        }
        logger.info("Trait {trait} set to {value}", update);
      }
      await publishCharacter();
    });
  } catch (error) {
    await subscriptions.close().catch(() => {});
    db.close();
    throw error;
  }
  await publishCharacter();
  indexer?.start();

  return {
    db,
    writer,
    indexer,
    character,
    counters,
    async close() {
      await subscriptions.close().catch(() => {});
      collector.flushAll();
      writer.close();
      await indexer?.close();
      await embedder?.close();
      db.close();
    },
  };
}
