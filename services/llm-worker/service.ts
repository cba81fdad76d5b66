/**
 * The llm-worker: answers llm/request with llm/stream deltas (seq 1..n, then a done marker
 * n+1) and a final llm/response, or a non-streamed llm/response. Requests run concurrently
 * (LLM_MAX_CONCURRENCY), each with its own abort controller that llm/cancel trips at once.
 * The persona comes from the retained system/character/current (and character/get at
 * start), memory from memory/query through `request()`, and tool calls are executed and fed
 * back to the model, streamed or not. No configuration, an unreachable endpoint or an HTTP
 * error gives an llm/response with a clear `error`, never a crash.
 *
 * @module
 */
import {
  clipText,
  type LLMRequest,
  type MessageContext,
  RateLimitedLog,
  type ServiceDeps,
  TEXT_LIMITS,
  topics,
} from "../../core/mod.ts";
import {
  type ChatBackend,
  type ChatMessage,
  completeWithRetry,
  LlmCancelled,
  LlmError,
  OpenAIChatBackend,
} from "./chat_backend.ts";
import { type LlmConfig, NOT_CONFIGURED_ERROR } from "./config.ts";
import { MemoryRetriever } from "./memory.ts";
import { PersonaStore } from "./persona.ts";
import { buildMessages, promptBudget, systemPrompt } from "./prompt.ts";
import { ToolBox } from "./tools.ts";

/** Options of {@linkcode startLlmWorker}. */
export interface LlmWorkerOptions {
  /** The configuration (`readLlmConfig`). */
  readonly config: LlmConfig;
  /** A backend to use instead of the configured OpenAI one (tests). */
  readonly backend?: ChatBackend;
}

/** Counters of the worker. */
export interface LlmWorkerCounters {
  /** Requests received. */
  requests: number;
  /** Requests answered with a reply. */
  replies: number;
  /** Requests answered with an error. */
  errors: number;
  /** Requests cancelled (nothing more published for them). */
  cancelled: number;
  /** Requests ignored (empty text, duplicate id, retained). */
  ignored: number;
  /** Tool calls executed. */
  toolCalls: number;
  /** Memory queries that came back with context. */
  ragHits: number;
  /** Memory queries that timed out or failed. */
  ragMisses: number;
  /** Publishes that failed. */
  publishErrors: number;
}

/** A running llm-worker. */
export interface LlmWorker {
  /** Counters. */
  readonly counters: Readonly<LlmWorkerCounters>;
  /** The persona store (current character). */
  readonly persona: PersonaStore;
  /** The toolbox (built-in and registry tools). */
  readonly tools: ToolBox;
  /** Ids of the requests running now. */
  activeRequests(): string[];
  /** Cancels every running request and unsubscribes. */
  close(): Promise<void>;
}

const CANCEL_MEMORY_MS = 60_000;

/** Subscribes and starts answering requests. */
export async function startLlmWorker(
  context: ServiceDeps,
  options: LlmWorkerOptions,
): Promise<LlmWorker> {
  const { client, logger } = context;
  const { config } = options;
  const counters: LlmWorkerCounters = {
    requests: 0,
    replies: 0,
    errors: 0,
    cancelled: 0,
    ignored: 0,
    toolCalls: 0,
    ragHits: 0,
    ragMisses: 0,
    publishErrors: 0,
  };
  const warnings = new RateLimitedLog(10_000);
  const persona = new PersonaStore();
  const tools = new ToolBox(client, persona, logger, config.tools.timeoutMs);
  const memory = new MemoryRetriever(client, config.rag, logger);
  const backend: ChatBackend | undefined = options.backend ??
    (config.configured
      ? new OpenAIChatBackend({
        apiKey: config.apiKey,
        baseUrl: config.baseUrl,
        timeoutMs: config.timeoutMs,
      })
      : undefined);
  const active = new Map<string, AbortController>();
  const recentlyCancelled = new Map<string, number>();
  const subscriptions = client.group();
  let closing = false;

  // Health tells the dashboard (and anyone on the bus) whether answers can come: not
  // configured, or the last request failed at the provider (with the reason), or ready.
  let healthy = true;
  const setHealth = (ok: boolean, event: string, err?: string) => {
    if (ok === healthy && ok) return;
    healthy = ok;
    client.publishHealth(ok ? { ok, event } : { ok, event, err }).catch((error) =>
      logger.warn("Could not publish health {event}: {error}", { event, error: String(error) })
    );
  };
  if (!backend) {
    logger.warn(NOT_CONFIGURED_ERROR + " Every llm/request is answered with this error.");
  } else {
    logger.info("LLM endpoint {url}, model {model}, up to {n} requests at once", {
      url: config.baseUrl ?? "https://api.openai.com/v1",
      model: config.model,
      n: config.maxConcurrency,
    });
  }

  const publishResponse = async (
    request: LLMRequest,
    correlationId: string | null,
    data: { reply?: string | null; error?: string | null; model?: string; tokens?: object },
  ) => {
    try {
      await client.publishEvent(topics.llmResponse, {
        id: request.id,
        // Clipped rather than refused by the contract: an answer must go out.
        reply: data.reply == null ? null : clipText(data.reply, TEXT_LIMITS.longText),
        error: data.error == null ? null : clipText(data.error, TEXT_LIMITS.detail),
        provider: backend?.provider ?? null,
        model: data.model ?? null,
        tokens: (data.tokens as Record<string, unknown> | undefined) ?? null,
      }, { correlationId });
    } catch (error) {
      counters.publishErrors++;
      logger.error("Could not publish llm/response for {id}: {error}", {
        id: request.id,
        error: String(error),
      });
    }
  };

  const handleRequest = async (request: LLMRequest, message: MessageContext) => {
    counters.requests++;
    if (message.retained) {
      counters.ignored++;
      return; // a stale request someone retained by mistake
    }
    if (!request.text.trim()) {
      counters.ignored++;
      warnings.maybe("empty", () => logger.info("Ignoring an llm/request with empty text"));
      return;
    }
    if (active.has(request.id)) {
      counters.ignored++;
      logger.info("Ignoring a duplicate of running request {id}", { id: request.id });
      return;
    }
    pruneCancelled();
    if (recentlyCancelled.has(request.id)) {
      counters.cancelled++;
      logger.info("Request {id} was cancelled before it started", { id: request.id });
      return;
    }
    const correlationId = message.correlationId ?? request.message_id;
    if (!backend) {
      counters.errors++;
      await publishResponse(request, correlationId, { error: NOT_CONFIGURED_ERROR });
      return;
    }
    const cancel = new AbortController();
    active.set(request.id, cancel);
    const signal = AbortSignal.any([cancel.signal, message.signal]);
    try {
      await answer(request, correlationId, signal, backend);
    } finally {
      active.delete(request.id);
    }
  };

  const answer = async (
    request: LLMRequest,
    correlationId: string,
    signal: AbortSignal,
    backend: ChatBackend,
  ) => {
    const started = performance.now();
    const params = readParams(
      request.params,
      config,
      (key, value) =>
        warnings.maybe(
          `param:${key}`,
          () =>
            logger.warn("Ignoring llm/request params.{key}={value}: wrong type or range", {
              key,
              value: String(value),
            }),
        ),
    );
    const personaPrompt = persona.systemPrompt();
    const system = systemPrompt(personaPrompt, request.system);
    const useRag = request.use_rag ?? config.rag.enabled;
    const budget = promptBudget({
      ctxWindow: config.ctxWindow,
      maxTokens: params.maxTokens,
      system,
      text: request.text,
      useMemory: useRag,
      memoryMaxTokens: config.rag.maxTokens,
    });
    let memoryText = "";
    if (budget.memory > 0) {
      const topK = request.rag_k && request.rag_k > 0
        ? Math.min(50, request.rag_k)
        : config.rag.topK;
      const found = await memory.retrieve(request.text, {
        topK,
        maxTokens: budget.memory,
        correlationId,
        signal,
      });
      memoryText = found.context;
      if (found.source === "timeout" || found.source === "error") counters.ragMisses++;
      else if (found.context) counters.ragHits++;
    }
    if (signal.aborted) {
      counters.cancelled++;
      return;
    }
    const messages: ChatMessage[] = buildMessages({
      persona: personaPrompt,
      system: request.system,
      text: request.text,
      history: request.conversation_history,
      memory: memoryText,
      ragTemplate: config.rag.promptTemplate,
      remainingTokens: budget.remaining,
    });

    let seq = 0;
    let text = "";
    let model = params.model;
    const tokens: Record<string, number> = {};
    // Chunks are not held back until the broker acknowledged the one before (a round trip
    // each, and the router speaks a short reply only once it has all of them): they leave in
    // order, and the done marker waits for every acknowledgement, so a failed publish still
    // fails the request.
    const inFlight: Promise<unknown>[] = [];
    const onDelta = (delta: string) => {
      text += delta;
      if (!request.stream || signal.aborted) return;
      seq++;
      const published = client.publishEvent(topics.llmStream, {
        id: request.id,
        seq,
        delta,
        done: false,
        provider: backend.provider,
        model,
      }, { correlationId });
      published.catch(() => {}); // rethrown by finishStream
      inFlight.push(published);
    };
    const finishStream = async () => {
      if (!request.stream) return;
      await Promise.all(inFlight.splice(0));
      seq++;
      await client.publishEvent(topics.llmStream, {
        id: request.id,
        seq,
        delta: null,
        done: true,
        provider: backend.provider,
        model,
      }, { correlationId });
    };

    try {
      for (let round = 1;; round++) {
        const offerTools = config.tools.enabled && round <= config.tools.maxRounds;
        const result = await completeWithRetry(backend, {
          model: params.model,
          messages,
          maxTokens: params.maxTokens,
          temperature: params.temperature,
          topP: params.topP,
          tools: offerTools ? tools.definitions() : undefined,
          stream: request.stream,
        }, {
          signal,
          onDelta,
          deadlineMs: config.retryDeadlineMs,
          minDelayMs: config.retryMinDelayMs,
          maxDelayMs: config.retryMaxDelayMs,
          onRetry: (error, delayMs, attempt) =>
            logger.warn(
              "LLM attempt {attempt} for {id} failed ({error}); retrying in {delayMs} ms",
              {
                attempt,
                id: request.id,
                error: error.message,
                detail: error.detail ?? "",
                delayMs,
              },
            ),
        });
        model = result.model;
        for (const [key, value] of Object.entries(result.usage ?? {})) {
          tokens[key] = (tokens[key] ?? 0) + value;
        }
        if (!request.stream) text += result.content;
        if (!offerTools || result.toolCalls.length === 0) break;
        messages.push({
          role: "assistant",
          content: result.content || null,
          toolCalls: result.toolCalls,
        });
        for (const call of result.toolCalls) {
          counters.toolCalls++;
          logger.info("Tool call {tool} for {id}", { tool: call.name, id: request.id });
          const output = await tools.execute(call, { requestId: request.id, signal });
          messages.push({ role: "tool", toolCallId: call.id, content: output });
        }
        if (signal.aborted) throw new LlmCancelled();
      }
      if (signal.aborted) throw new LlmCancelled();
      await finishStream();
      counters.replies++;
      setHealth(true, "ready");
      await publishResponse(request, correlationId, {
        reply: text || null,
        model,
        tokens: Object.keys(tokens).length > 0 ? tokens : undefined,
      });
      logger.info("Answered {id} in {ms} ms ({chars} chars, {chunks} chunks)", {
        id: request.id,
        ms: Math.round(performance.now() - started),
        chars: text.length,
        chunks: request.stream ? seq - 1 : 0,
      });
    } catch (error) {
      if (error instanceof LlmCancelled || signal.aborted) {
        counters.cancelled++;
        logger.info("Request {id} cancelled after {chunks} chunks; HTTP stream closed", {
          id: request.id,
          chunks: seq,
        });
        return;
      }
      counters.errors++;
      // Published: fixed text and the HTTP status only, never what the provider said (it may
      // echo the API key). Logged: the provider's text too, through the redacting log.
      const reason = error instanceof LlmError
        ? error.message
        : `llm-worker internal error (${
          error instanceof Error ? error.name : typeof error
        }); see the llm-worker log`;
      logger.error("Request {id} failed: {error}", {
        id: request.id,
        error: reason,
        detail: error instanceof LlmError
          ? error.detail ?? ""
          : error instanceof Error
          ? error.message
          : String(error),
      });
      try {
        if (seq > 0) await finishStream();
      } catch {
        counters.publishErrors++;
      }
      if (error instanceof LlmError) setHealth(false, "llm_error", reason);
      await publishResponse(request, correlationId, { reply: text || null, error: reason, model });
    }
  };

  const pruneCancelled = () => {
    const now = Date.now();
    for (const [id, at] of recentlyCancelled) {
      if (now - at > CANCEL_MEMORY_MS) recentlyCancelled.delete(id);
    }
  };

  await subscriptions.subscribe(topics.llmCancel, (cancel) => {
    const running = active.get(cancel.id);
    if (running) {
      logger.info("Cancelling request {id}", { id: cancel.id });
      running.abort();
    } else {
      pruneCancelled();
      recentlyCancelled.set(cancel.id, Date.now());
      while (recentlyCancelled.size > 1000) {
        recentlyCancelled.delete(recentlyCancelled.keys().next().value!);
      }
    }
  }, { concurrency: 4, handlerTimeoutMs: 5_000, ignoreRetained: true });
  await subscriptions.subscribe(topics.systemCharacterCurrent, (snapshot) => {
    persona.setSnapshot(snapshot);
    logger.info("Persona: {name}", { name: snapshot.name });
  });
  await subscriptions.subscribe(topics.characterResult, (result) => {
    if (persona.applyResult(result)) logger.debug("Persona updated from character/result");
  });
  if (config.tools.enabled) {
    await subscriptions.subscribe(topics.llmToolsRegistry, (registry) => {
      tools.setRegistry(registry);
      logger.info("Tool registry: {tools}", { tools: tools.externalNames().join(", ") });
    });
    await subscriptions.subscribe(topics.llmToolCallResult, (r) => tools.resolveResult(r), {
      concurrency: 8,
    });
  }
  await subscriptions.subscribe(topics.llmRequest, handleRequest, {
    concurrency: config.maxConcurrency,
    handlerTimeoutMs: 0, // bounded by LLM_TIMEOUT_SEC and the retry deadline instead
    queueSize: 256,
  });
  // Ask for the character; the answer (character/result) and the retained
  // system/character/current both feed the persona.
  client.publishDetached(topics.characterGet, { section: null }, {
    onError: () => void counters.publishErrors++,
  });

  // Once subscribed (like `ready`): it answers, if only with the error that says what to set.
  if (!backend) setHealth(false, "llm_not_configured", NOT_CONFIGURED_ERROR);

  return {
    counters,
    persona,
    tools,
    activeRequests: () => [...active.keys()],
    async close() {
      if (closing) return;
      closing = true;
      for (const controller of active.values()) controller.abort();
      await subscriptions.close().catch(() => {});
    },
  };
}

/** The sampling parameters of a request: `params` overrides where valid, else config. */
export interface RequestParams {
  /** Model name. */
  readonly model: string;
  /** Completion token limit. */
  readonly maxTokens: number;
  /** Temperature. */
  readonly temperature: number;
  /** Nucleus sampling. */
  readonly topP: number;
}

/** Reads `model`, `max_tokens`, `temperature`, `top_p` from `params`; bad values are reported. */
export function readParams(
  params: Record<string, unknown> | null | undefined,
  config: Pick<LlmConfig, "model" | "maxTokens" | "temperature" | "topP">,
  onInvalid: (key: string, value: unknown) => void = () => {},
): RequestParams {
  const pick = <T>(key: string, valid: (value: unknown) => value is T, fallback: T): T => {
    const value = params?.[key];
    if (value === undefined || value === null) return fallback;
    if (valid(value)) return value;
    onInvalid(key, value);
    return fallback;
  };
  const inRange =
    (min: number, max: number, integer = false) => (value: unknown): value is number =>
      typeof value === "number" && Number.isFinite(value) && value >= min && value <= max &&
      (!integer || Number.isInteger(value));
  return {
    model: pick(
      "model",
      (v): v is string => typeof v === "string" && v.trim() !== "",
      config.model,
    ),
    maxTokens: pick("max_tokens", inRange(1, 1_000_000, true), config.maxTokens),
    temperature: pick("temperature", inRange(0, 2), config.temperature),
    topP: pick("top_p", inRange(0, 1), config.topP),
  };
}
