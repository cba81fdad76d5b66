/**
 * Wires {@linkcode RouterCore} to MQTT: subscribes to the router's inputs through the topic
 * table and publishes its decisions (tts/say, llm/request, llm/cancel, movement/test,
 * movement/stop) and its live mode (router/live_mode, retained; switched by voice or by
 * router/live_mode/set). Publishing is fire-and-forget in call order, so a sentence goes out the
 * moment its delta is handled; a failed publish is logged and counted, never thrown.
 *
 * @module
 */
import { type QueueOptions, type ServiceDeps, topics } from "../../core/mod.ts";
import type { RouterConfig } from "./config.ts";
import { type RouterClock, RouterCore, type RouterOutputs } from "./router.ts";

/** Options of {@linkcode startRouterService}. */
export interface RouterServiceOptions {
  /** The configuration (`readRouterConfig`). */
  readonly config: RouterConfig;
  /** Time source (tests). */
  readonly clock?: RouterClock;
}

/** A running router. */
export interface RouterService {
  /** The state machine. */
  readonly core: RouterCore;
  /** Publishes that failed. */
  readonly publishErrors: number;
  /** Unsubscribes and clears the router's timers. */
  close(): Promise<void>;
}

/** Subscribes the router's inputs and starts routing. */
export async function startRouterService(
  context: ServiceDeps,
  options: RouterServiceOptions,
): Promise<RouterService> {
  const { client, logger } = context;
  const { config } = options;
  // Fire-and-forget: the client counts and logs (rate-limited) a failed publish.
  let publishErrors = 0;
  const onError = () => void publishErrors++;
  const outputs: RouterOutputs = {
    say: (message) => client.publishDetached(topics.ttsSay, message, { onError }),
    requestLlm: (message, correlationId) =>
      client.publishDetached(topics.llmRequest, message, { correlationId, onError }),
    cancelLlm: (id) =>
      client.publishDetached(topics.llmCancel, { id }, { correlationId: id, onError }),
    move: (message) => client.publishDetached(topics.movementTest, message, { onError }),
    stopMovement: (reason) => client.publishDetached(topics.movementStop, { reason }, { onError }),
    liveModeChanged: (enabled) =>
      client.publishDetached(topics.routerLiveMode, { enabled }, { onError }),
  };
  const core = new RouterCore(config, outputs, { clock: options.clock, logger });
  const queue: QueueOptions = {
    queueSize: config.queue.maxSize,
    overflow: config.queue.overflow,
    handlerTimeoutMs: config.queue.handlerTimeoutMs,
  };
  const subscriptions = client.group();
  const live = { ...queue, ignoreRetained: true };
  const healthTopics = new Set([config.healthTopicTts, config.healthTopicStt]);
  try {
    // Health last: its retained messages can make the router say "System online." at once, and
    // by then every topic the user's answer travels on must already be subscribed.
    await subscriptions.subscribe(topics.wakeEvent, (event) => core.onWake(event), live);
    await subscriptions.subscribe(topics.ttsStatus, (status) => core.onTtsStatus(status), live);
    await subscriptions.subscribe(topics.llmStream, (delta) => core.onStream(delta), live);
    await subscriptions.subscribe(
      topics.llmResponse,
      (response) => core.onResponse(response),
      live,
    );
    await subscriptions.subscribe(topics.llmCancel, (cancel) => core.onCancel(cancel), live);
    await subscriptions.subscribe(topics.movementStatus, (status) => {
      core.onMovementStatus(status);
    }, queue);
    await subscriptions.subscribe(
      topics.sttVad,
      (activity) => core.onSpeechActivity(activity),
      live,
    );
    await subscriptions.subscribe(topics.sttFinal, (final, message) => {
      const decision = core.onFinal(final, {
        source: message.envelope?.source,
        retained: message.retained,
        id: message.envelope?.id,
      });
      logger.debug("stt/final → {decision}", { decision });
    }, queue);
    await subscriptions.subscribe(topics.routerLiveModeSet, (command) => {
      core.setLiveMode(command.enabled);
    }, live);
    await subscriptions.subscribe(topics.systemHealth, (health, message) => {
      if (healthTopics.has(message.topic)) core.onHealth(message.topic, health);
    }, queue);
  } catch (error) {
    core.dispose();
    await subscriptions.close().catch(() => {});
    throw error;
  }
  // Retained, so Home Assistant's switch shows the state the router starts in.
  outputs.liveModeChanged?.(core.liveMode);
  logger.info("Router ready: live mode {live}, wake phrases {phrases}", {
    live: core.liveMode,
    phrases: config.wakePhrases.join(" | "),
  });
  return {
    core,
    get publishErrors() {
      return publishErrors;
    },
    async close() {
      core.dispose();
      await subscriptions.close().catch(() => {});
    },
  };
}
