/**
 * llm-worker configuration from the environment, with py-tars' names and defaults
 * (§4.5) plus a concurrency limit, a retry deadline and timeouts.
 *
 * @module
 */
import { ConfigError, type ConfigIssue, envVar, readEnv } from "../../core/mod.ts";

/** py-tars' default RAG prompt template; `{context}` and `{user}` are filled in. */
export const DEFAULT_RAG_PROMPT_TEMPLATE =
  "You are TARS. Use the following context to answer the user.\nContext:\n{context}\n\n" +
  "User: {user}\nAssistant:";

/** The retrieval strategies memory-worker offers. */
export const RAG_STRATEGIES = ["hybrid", "recent", "similarity"] as const;

/** The variables, their defaults and ranges. */
export const LLM_ENV = {
  LLM_PROVIDER: envVar.choice("openai", ["openai"]),
  OPENAI_API_KEY: envVar.optionalString(),
  OPENAI_BASE_URL: envVar.optionalString(),
  LLM_MODEL: envVar.string("gpt-4o-mini"),
  LLM_MAX_TOKENS: envVar.int(256, { min: 1, max: 1_000_000 }),
  LLM_TEMPERATURE: envVar.float(0.7, { min: 0, max: 2 }),
  LLM_TOP_P: envVar.float(1.0, { min: 0, max: 1 }),
  LLM_CTX_WINDOW: envVar.int(8192, { min: 256, max: 10_000_000 }),
  LLM_TIMEOUT_SEC: envVar.float(60, { min: 0.1, max: 3600 }),
  LLM_MAX_CONCURRENCY: envVar.int(2, { min: 1, max: 64 }),
  LLM_RETRY_DEADLINE_SEC: envVar.float(20, { min: 0, max: 600 }),
  LLM_RETRY_MIN_DELAY_SEC: envVar.float(0.5, { min: 0.01, max: 60 }),
  LLM_RETRY_MAX_DELAY_SEC: envVar.float(8, { min: 0.01, max: 600 }),
  RAG_ENABLED: envVar.bool(false),
  RAG_TOP_K: envVar.int(5, { min: 1, max: 50 }),
  RAG_PROMPT_TEMPLATE: envVar.string(DEFAULT_RAG_PROMPT_TEMPLATE),
  RAG_MAX_TOKENS: envVar.int(2000, { min: 1, max: 10_000 }),
  RAG_INCLUDE_CONTEXT: envVar.bool(true),
  RAG_CONTEXT_WINDOW: envVar.int(1, { min: 0, max: 5 }),
  RAG_STRATEGY: envVar.choice("hybrid", RAG_STRATEGIES),
  RAG_CACHE_TTL: envVar.float(300, { min: 0, max: 86_400 }),
  RAG_TIMEOUT_SEC: envVar.float(5, { min: 0.1, max: 120 }),
  TOOL_CALLING_ENABLED: envVar.bool(false),
  LLM_TOOL_TIMEOUT_SEC: envVar.float(10, { min: 0.1, max: 600 }),
  LLM_MAX_TOOL_ROUNDS: envVar.int(3, { min: 1, max: 20 }),
};

/** Older or alternative names read when a variable is unset. */
export const LLM_ENV_ALIASES = { OPENAI_BASE_URL: ["LLM_BASE_URL"] } as const;

/** The parsed configuration. */
export interface LlmConfig {
  /** The provider (`LLM_PROVIDER`): always `openai` (any OpenAI-compatible endpoint). */
  readonly provider: "openai";
  /** `OPENAI_API_KEY`, if set. */
  readonly apiKey?: string;
  /** `OPENAI_BASE_URL` / `LLM_BASE_URL` without a trailing slash, if set. */
  readonly baseUrl?: string;
  /** Whether an LLM is configured at all (a key or a base URL). */
  readonly configured: boolean;
  /** Default model (`LLM_MODEL`). */
  readonly model: string;
  /** Default completion token limit (`LLM_MAX_TOKENS`). */
  readonly maxTokens: number;
  /** Default sampling temperature. */
  readonly temperature: number;
  /** Default nucleus sampling. */
  readonly topP: number;
  /** The model's context window, tokens (prompt budgeting). */
  readonly ctxWindow: number;
  /** HTTP timeout of one attempt, ms. */
  readonly timeoutMs: number;
  /** Requests served at once. */
  readonly maxConcurrency: number;
  /** Retries of 429/5xx/connection errors stop once this much time passed, ms (0 = none). */
  readonly retryDeadlineMs: number;
  /** First retry delay, ms. */
  readonly retryMinDelayMs: number;
  /** Largest retry delay, ms. */
  readonly retryMaxDelayMs: number;
  /** RAG settings. */
  readonly rag: RagConfig;
  /** Tool calling settings. */
  readonly tools: ToolConfig;
}

/** RAG (memory) settings. */
export interface RagConfig {
  /** Whether requests use memory unless they say otherwise (`RAG_ENABLED`). */
  readonly enabled: boolean;
  /** Results to ask for (`RAG_TOP_K`). */
  readonly topK: number;
  /** The user prompt when context was found; `{context}` and `{user}` are filled in. */
  readonly promptTemplate: string;
  /** Most tokens of memory in the prompt. */
  readonly maxTokens: number;
  /** Ask memory-worker for neighbouring documents too. */
  readonly includeContext: boolean;
  /** Neighbours on each side. */
  readonly contextWindow: number;
  /** Retrieval strategy. */
  readonly strategy: typeof RAG_STRATEGIES[number];
  /** How long a memory answer is reused, ms (0 = no cache). */
  readonly cacheTtlMs: number;
  /** How long to wait for memory/results, ms. */
  readonly timeoutMs: number;
}

/** Tool calling settings. */
export interface ToolConfig {
  /** Whether the model is offered tools (`TOOL_CALLING_ENABLED`). */
  readonly enabled: boolean;
  /** How long to wait for an external tool's llm/tool.call.result, ms. */
  readonly timeoutMs: number;
  /** Most model → tools → model rounds per request. */
  readonly maxRounds: number;
}

/** Reads the configuration; throws one `ConfigError` naming every bad variable. */
export function readLlmConfig(
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): LlmConfig {
  const { values, issues } = readEnv(LLM_ENV, env, {
    aliases: LLM_ENV_ALIASES,
    redact: (variable, value) => variable === "OPENAI_API_KEY" ? "***" : value,
  });
  const problems: ConfigIssue[] = [...issues];
  let baseUrl = values.OPENAI_BASE_URL?.trim();
  if (baseUrl !== undefined) {
    const variable = env.OPENAI_BASE_URL?.trim() ? "OPENAI_BASE_URL" : "LLM_BASE_URL";
    let ok = false;
    try {
      const url = new URL(baseUrl);
      ok = url.protocol === "http:" || url.protocol === "https:";
    } catch {
      ok = false;
    }
    if (!ok) {
      problems.push({
        variable,
        value: baseUrl,
        expected: "an http(s) URL of an OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1",
      });
      baseUrl = undefined;
    } else {
      baseUrl = baseUrl.replace(/\/+$/, "");
    }
  }
  if (!values.RAG_PROMPT_TEMPLATE.includes("{user}")) {
    problems.push({
      variable: "RAG_PROMPT_TEMPLATE",
      value: values.RAG_PROMPT_TEMPLATE,
      expected: "a template containing {user} (and usually {context})",
    });
  }
  if (values.LLM_RETRY_MAX_DELAY_SEC < values.LLM_RETRY_MIN_DELAY_SEC) {
    problems.push({
      variable: "LLM_RETRY_MAX_DELAY_SEC",
      value: String(values.LLM_RETRY_MAX_DELAY_SEC),
      expected: `a number >= LLM_RETRY_MIN_DELAY_SEC (${values.LLM_RETRY_MIN_DELAY_SEC})`,
    });
  }
  if (problems.length > 0) throw new ConfigError(problems, "llm-worker configuration");
  const apiKey = values.OPENAI_API_KEY?.trim() || undefined;
  return {
    provider: values.LLM_PROVIDER,
    apiKey,
    baseUrl,
    configured: apiKey !== undefined || baseUrl !== undefined,
    model: values.LLM_MODEL,
    maxTokens: values.LLM_MAX_TOKENS,
    temperature: values.LLM_TEMPERATURE,
    topP: values.LLM_TOP_P,
    ctxWindow: values.LLM_CTX_WINDOW,
    timeoutMs: Math.round(values.LLM_TIMEOUT_SEC * 1000),
    maxConcurrency: values.LLM_MAX_CONCURRENCY,
    retryDeadlineMs: Math.round(values.LLM_RETRY_DEADLINE_SEC * 1000),
    retryMinDelayMs: Math.round(values.LLM_RETRY_MIN_DELAY_SEC * 1000),
    retryMaxDelayMs: Math.round(values.LLM_RETRY_MAX_DELAY_SEC * 1000),
    rag: {
      enabled: values.RAG_ENABLED,
      topK: values.RAG_TOP_K,
      promptTemplate: values.RAG_PROMPT_TEMPLATE,
      maxTokens: values.RAG_MAX_TOKENS,
      includeContext: values.RAG_INCLUDE_CONTEXT,
      contextWindow: values.RAG_CONTEXT_WINDOW,
      strategy: values.RAG_STRATEGY,
      cacheTtlMs: Math.round(values.RAG_CACHE_TTL * 1000),
      timeoutMs: Math.round(values.RAG_TIMEOUT_SEC * 1000),
    },
    tools: {
      enabled: values.TOOL_CALLING_ENABLED,
      timeoutMs: Math.round(values.LLM_TOOL_TIMEOUT_SEC * 1000),
      maxRounds: values.LLM_MAX_TOOL_ROUNDS,
    },
  };
}

/** The `error` of every llm/response while no LLM is configured (agreed with the router). */
export const NOT_CONFIGURED_ERROR = "LLM not configured: set OPENAI_API_KEY (for api.openai.com) " +
  "or OPENAI_BASE_URL / LLM_BASE_URL (an OpenAI-compatible server such as Ollama, llama.cpp " +
  "server or vLLM, e.g. http://127.0.0.1:11434/v1), then restart llm-worker.";
