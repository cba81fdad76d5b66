/** llm-worker configuration: py-tars names and defaults, aliases, errors naming variables. */
import assert from "node:assert/strict";
import { ConfigError } from "../../core/mod.ts";
import {
  DEFAULT_RAG_PROMPT_TEMPLATE,
  NOT_CONFIGURED_ERROR,
  readLlmConfig,
} from "../../services/llm-worker/config.ts";

Deno.test("llm config: py-tars defaults; nothing configured without a key or base URL", () => {
  const config = readLlmConfig({});
  assert.equal(config.configured, false);
  assert.equal(config.model, "gpt-4o-mini");
  assert.equal(config.maxTokens, 256);
  assert.equal(config.temperature, 0.7);
  assert.equal(config.topP, 1.0);
  assert.equal(config.ctxWindow, 8192);
  assert.equal(config.timeoutMs, 60_000);
  assert.equal(config.maxConcurrency, 2);
  assert.equal(config.retryDeadlineMs, 20_000);
  assert.deepEqual(config.rag, {
    enabled: false,
    topK: 5,
    promptTemplate: DEFAULT_RAG_PROMPT_TEMPLATE,
    maxTokens: 2000,
    includeContext: true,
    contextWindow: 1,
    strategy: "hybrid",
    cacheTtlMs: 300_000,
    timeoutMs: 5_000,
  });
  assert.deepEqual(config.tools, { enabled: false, timeoutMs: 10_000, maxRounds: 3 });
  assert.match(NOT_CONFIGURED_ERROR, /^LLM not configured: set OPENAI_API_KEY/);
});

Deno.test("llm config: a key alone or LLM_BASE_URL alone configures the LLM", () => {
  const key = readLlmConfig({ OPENAI_API_KEY: "sk-1" });
  assert.equal(key.configured, true);
  assert.equal(key.baseUrl, undefined);
  const local = readLlmConfig({ LLM_BASE_URL: "http://127.0.0.1:11434/v1/" });
  assert.equal(local.configured, true);
  assert.equal(local.baseUrl, "http://127.0.0.1:11434/v1");
  assert.equal(local.apiKey, undefined);
  const both = readLlmConfig({
    OPENAI_BASE_URL: "http://a:1/v1",
    LLM_BASE_URL: "http://b:2/v1",
  });
  assert.equal(both.baseUrl, "http://a:1/v1", "OPENAI_BASE_URL wins");
});

Deno.test("llm config: every bad variable is named once; the key is redacted", () => {
  try {
    readLlmConfig({
      OPENAI_API_KEY: "sk-secret",
      LLM_BASE_URL: "not a url",
      LLM_TOP_P: "2",
      RAG_ENABLED: "maybe",
      LLM_MAX_CONCURRENCY: "0",
      RAG_PROMPT_TEMPLATE: "no placeholders",
      LLM_RETRY_MIN_DELAY_SEC: "5",
      LLM_RETRY_MAX_DELAY_SEC: "1",
      LLM_PROVIDER: "gemini",
    });
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.issues.map((issue) => issue.variable).sort(), [
      "LLM_BASE_URL",
      "LLM_MAX_CONCURRENCY",
      "LLM_PROVIDER",
      "LLM_RETRY_MAX_DELAY_SEC",
      "LLM_TOP_P",
      "RAG_ENABLED",
      "RAG_PROMPT_TEMPLATE",
    ]);
    assert.ok(!error.message.includes("sk-secret"));
    assert.match(error.message, /llm-worker configuration/);
  }
});
