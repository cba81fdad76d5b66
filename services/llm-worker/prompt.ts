/**
 * Builds the chat messages of a request: the persona and the request's own system prompt,
 * memory (RAG) context and conversation history, all within the model's context window.
 * Budgets follow py-tars: available = LLM_CTX_WINDOW − max_tokens − 100, base = 300 +
 * tokens(system) + tokens(text), tokens = words × 1.3; memory gets at most half of what is
 * left (and at most RAG_MAX_TOKENS); history takes the rest, newest turns first. Unlike
 * py-tars, the memory text itself is cut to its budget.
 *
 * @module
 */
import type { ConversationMessage, MemoryResult, MemoryResults } from "../../core/mod.ts";
import type { ChatMessage } from "./chat_backend.ts";

/** py-tars' token estimate: words × 1.3, rounded up. */
export function estimateTokens(text: string): number {
  const words = text.match(/\S+/g)?.length ?? 0;
  return Math.ceil(words * 1.3);
}

/** The token budgets of one request. */
export interface PromptBudget {
  /** Tokens left for memory and history after the system prompt and the user's text. */
  readonly remaining: number;
  /** Tokens memory may use (0 = do not query memory). */
  readonly memory: number;
}

/** Computes the budgets; memory is 0 unless `useMemory` and more than 100 tokens are left. */
export function promptBudget(options: {
  readonly ctxWindow: number;
  readonly maxTokens: number;
  readonly system: string;
  readonly text: string;
  readonly useMemory: boolean;
  readonly memoryMaxTokens: number;
}): PromptBudget {
  const available = options.ctxWindow - options.maxTokens - 100;
  const base = 300 + estimateTokens(options.system) + estimateTokens(options.text);
  const remaining = Math.max(0, available - base);
  const memory = options.useMemory && remaining > 100
    ? Math.floor(Math.min(remaining / 2, options.memoryMaxTokens))
    : 0;
  return { remaining, memory };
}

/** The text of a stored memory document (a TtsSay/transcript dict or a string). */
export function documentText(document: MemoryResult["document"]): string {
  if (typeof document === "string") return document;
  for (const key of ["text", "content", "reply"]) {
    const value = document[key];
    if (typeof value === "string") return value;
  }
  return JSON.stringify(document);
}

/**
 * Formats memory results as py-tars does (`[previous] (ts) text`, `(ts) text`), one per line,
 * keeping whole lines while they fit in `budgetTokens`.
 */
export function formatMemory(results: MemoryResults, budgetTokens: number): string {
  const lines: string[] = [];
  let used = 0;
  for (const result of results.results) {
    const text = documentText(result.document).trim();
    if (!text) continue;
    const marker = result.context_type === "target" ? "" : `[${result.context_type}] `;
    const stamp = result.timestamp ? `(${result.timestamp}) ` : "";
    const line = `${marker}${stamp}${text}`;
    const cost = estimateTokens(line);
    if (used + cost > budgetTokens) break;
    lines.push(line);
    used += cost;
  }
  return lines.join("\n");
}

/** Inputs of {@linkcode buildMessages}. */
export interface PromptInputs {
  /** The persona prompt (from the character), if any. */
  readonly persona?: string;
  /** The request's own system prompt, if any (after the persona). */
  readonly system?: string | null;
  /** The user's text. */
  readonly text: string;
  /** Earlier turns, oldest first. */
  readonly history?: readonly ConversationMessage[] | null;
  /** Formatted memory context ("" = none). */
  readonly memory?: string;
  /** Template of the user message when there is memory: `{context}`, `{user}`. */
  readonly ragTemplate: string;
  /** Tokens left for memory and history ({@linkcode PromptBudget.remaining}). */
  readonly remainingTokens: number;
}

/** The system prompt of a request: persona, then the request's `system`. */
export function systemPrompt(persona: string | undefined, system?: string | null): string {
  return [persona?.trim(), system?.trim()].filter((part) => part).join("\n\n");
}

/** Builds the messages: system, the history that fits (newest kept), then the user turn. */
export function buildMessages(inputs: PromptInputs): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const system = systemPrompt(inputs.persona, inputs.system);
  if (system) messages.push({ role: "system", content: system });
  const memory = inputs.memory?.trim() ?? "";
  let left = inputs.remainingTokens - estimateTokens(memory);
  const kept: ChatMessage[] = [];
  const history = inputs.history ?? [];
  for (let i = history.length - 1; i >= 0; i--) {
    const turn = history[i];
    if (!turn.content.trim()) continue;
    const cost = estimateTokens(turn.content) + 4;
    if (cost > left) break;
    left -= cost;
    kept.unshift({ role: turn.role, content: turn.content });
  }
  messages.push(...kept);
  const user = memory
    ? inputs.ragTemplate.replaceAll("{context}", memory).replaceAll("{user}", inputs.text)
    : inputs.text;
  messages.push({ role: "user", content: user });
  return messages;
}
