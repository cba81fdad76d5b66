/**
 * llm-worker: answers llm/request through any OpenAI-compatible chat completions endpoint
 * (OpenAI, Ollama, llama.cpp server, vLLM), streaming llm/stream deltas and a final
 * llm/response, with the persona from memory-worker, RAG over memory/query, tool calls
 * that move the robot or change traits, cancel on llm/cancel, retries within a deadline and
 * a clear error (never a crash) when no LLM is configured or reachable.
 *
 * @module
 */
import { runService } from "../../core/mod.ts";
import { readLlmConfig } from "./config.ts";
import { startLlmWorker } from "./service.ts";

if (import.meta.main) {
  await runService("llm-worker", {
    readConfig: readLlmConfig,
    main: (ctx) => startLlmWorker(ctx, { config: ctx.config }),
  });
}
