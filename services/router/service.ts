/**
 * Wires {@linkcode RouterCore} to MQTT: subscribes to the router's inputs through the topic
 * table and publishes its decisions (tts/say, llm/request, llm/cancel, movement/test,
 * movement/stop) and its live mode (router/live_mode, retained; switched by voice or by
 * router/live_mode/set). Publishing is fire-and-forget in call order, so a sentence goes out the
 * moment its delta is handled; a failed publish is logged and counted, never thrown.
 *
 * @module
 */
import { type QueueOptions, type ServiceDeps, type Subscription, topics } from "../../core/mod.ts";
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
  let publishErrors = 0;
  const send = (what: string, sending: Promise<unknown>) => {
    sending.catch((error) => {
      publishErrors++;
      logger.warn("Could not publish {what}: {error}", { what, error: String(error) });
    });
  };
  const outputs: RouterOutputs = {
    say: (message) => send("tts/say", client.publishEvent(topics.ttsSay, message)),
    requestLlm: (message, correlationId) =>
      send("llm/request", client.publishEvent(topics.llmRequest, message, { correlationId })),
    cancelLlm: (id) =>
      send("llm/cancel", client.publishEvent(topics.llmCancel, { id }, { correlationId: id })),
    move: (message) => send("movement/test", client.publishEvent(topics.movementTest, message)),
    stopMovement: (reason) =>
      send("movement/stop", client.publishEvent(topics.movementStop, { reason })),
    liveModeChanged: (enabled) =>
      send("router/live_mode", client.publishEvent(topics.routerLiveMode, { enabled })),
  };
  const core = new RouterCore(config, outputs, { clock: options.clock, logger });
  const queue: QueueOptions = {
    queueSize: config.queue.maxSize,
    overflow: config.queue.overflow,
    handlerTimeoutMs: config.queue.handlerTimeoutMs,
  };
  const subscriptions: Subscription[] = [];
  const healthTopics = new Set([config.healthTopicTts, config.healthTopicStt]);
  try {
    // Health last: its retained messages can make the router say "System online." at once, and
    // by then every topic the user's answer travels on must already be subscribed.
    subscriptions.push(
      await client.subscribe(topics.wakeEvent, (event, message) => {
        if (!message.retained) core.onWake(event);
      }, { ...queue, qos: 1 }),
      await client.subscribe(topics.ttsStatus, (status, message) => {
        if (!message.retained) core.onTtsStatus(status);
      }, { ...queue, qos: 1 }),
      await client.subscribe(topics.llmStream, (delta, message) => {
        if (!message.retained) core.onStream(delta);
      }, { ...queue, qos: 1 }),
      await client.subscribe(topics.llmResponse, (response, message) => {
        if (!message.retained) core.onResponse(response);
      }, { ...queue, qos: 1 }),
      await client.subscribe(topics.llmCancel, (cancel, message) => {
        if (!message.retained) core.onCancel(cancel);
      }, { ...queue, qos: 1 }),
      await client.subscribe(topics.movementStatus, (status) => {
        core.onMovementStatus(status);
      }, { ...queue, qos: 0 }),
      await client.subscribe(topics.sttVad, (activity, message) => {
        if (!message.retained) core.onSpeechActivity(activity);
      }, { ...queue, qos: 1 }),
      await client.subscribe(topics.sttFinal, (final, message) => {
        const decision = core.onFinal(final, {
          source: message.envelope?.source,
          retained: message.retained,
          id: message.envelope?.id,
        });
        logger.debug("stt/final → {decision}", { decision });
      }, { ...queue, qos: 1 }),
      await client.subscribe(topics.routerLiveModeSet, (command, message) => {
        if (!message.retained) core.setLiveMode(command.enabled);
      }, { ...queue, qos: 1 }),
      await client.subscribe(topics.systemHealth, (health, message) => {
        if (healthTopics.has(message.topic)) core.onHealth(message.topic, health);
      }, { ...queue, qos: 1 }),
    );
  } catch (error) {
    core.dispose();
    await Promise.allSettled(subscriptions.map((s) => s.unsubscribe()));
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
      await Promise.allSettled(subscriptions.map((s) => s.unsubscribe()));
    },
  };
}
