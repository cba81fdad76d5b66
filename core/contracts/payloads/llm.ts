/**
 * LLM payloads: `llm/request`, `llm/stream`, `llm/response`, `llm/cancel` and the tool
 * calling topics `llm/tools/registry`, `llm/tool.call.request`, `llm/tool.call.result`.
 *
 * @module
 */
import { z } from "zod";
import { builtSchema, lazySchema } from "../lazy_schema.ts";
import {
  detailString,
  idString,
  jsonObject,
  labelString,
  longTextString,
  messageIdField,
  textString,
} from "./common.ts";

/**
 * Turns of `conversation_history` at most: the router keeps ROUTER_HISTORY_MAX_MESSAGES
 * (default 10, at most 1000).
 */
export const LLM_HISTORY_MAX = 1000;

/** Tools of a {@linkcode ToolsRegistry} at most. */
export const LLM_TOOLS_MAX = 512;

/** ConversationMessage: one turn of `LLMRequest.conversation_history`. */
export const ConversationMessage = lazySchema(() =>
  z.strictObject({
    role: z.enum(["user", "assistant"]),
    content: longTextString(),
    timestamp: z.number().nullish(),
  }).meta({ title: "ConversationMessage", description: "One turn of a conversation." })
);
/** A parsed {@linkcode ConversationMessage}. */
export type ConversationMessage = z.output<typeof ConversationMessage>;

/**
 * LLMRequest: asks llm-worker for a reply, on `llm/request`. The envelope id is the
 * correlation id that every stream chunk and the response reuse.
 */
export const LLMRequest = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    id: idString().meta({ description: "Request id (router: the utterance id or rt-<8 hex>)." }),
    text: textString().meta({ description: "The user's text." }),
    stream: z.boolean().default(true),
    use_rag: z.boolean().nullish().meta({ description: "Override RAG_ENABLED for this request." }),
    rag_k: z.int().nullish().meta({ description: "Memory results to fetch; <= 0 = RAG_TOP_K." }),
    system: longTextString().nullish().meta({
      description: "Extra system prompt after the persona.",
    }),
    params: jsonObject().nullish().meta({
      description: "Overrides; keys model, max_tokens, temperature, top_p are honoured.",
    }),
    conversation_history: z.array(builtSchema(ConversationMessage)).max(LLM_HISTORY_MAX).nullish(),
  }).meta({ title: "LLMRequest", description: "A request for an LLM reply." })
);
/** A parsed {@linkcode LLMRequest}. */
export type LLMRequest = z.output<typeof LLMRequest>;

/** LLMResponse: the final reply (or error) for a request, on `llm/response`. */
export const LLMResponse = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    id: idString().meta({ description: "The request's `id`." }),
    reply: longTextString().nullish(),
    error: detailString().nullish(),
    provider: labelString().nullish(),
    model: labelString().nullish(),
    tokens: jsonObject().nullish().meta({ description: "Token usage, provider-specific." }),
  }).meta({ title: "LLMResponse", description: "The final reply or error for a request." })
);
/** A parsed {@linkcode LLMResponse}. */
export type LLMResponse = z.output<typeof LLMResponse>;

/** LLMStreamDelta: one chunk of a streamed reply, on `llm/stream`; `done` marks the end. */
export const LLMStreamDelta = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    id: idString().meta({ description: "The request's `id`." }),
    seq: z.int().nullish().meta({ description: "Chunk number, 1-based; the done marker is n+1." }),
    delta: longTextString().nullish(),
    done: z.boolean().default(false),
    provider: labelString().nullish(),
    model: labelString().nullish(),
  }).meta({ title: "LLMStreamDelta", description: "One chunk of a streamed reply." })
);
/** A parsed {@linkcode LLMStreamDelta}. */
export type LLMStreamDelta = z.output<typeof LLMStreamDelta>;

/** LLMCancel: abandons a request, on `llm/cancel`. */
export const LLMCancel = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    id: idString().meta({ description: "The request's `id`." }),
  }).meta({ title: "LLMCancel", description: "Abandon a request." })
);
/** A parsed {@linkcode LLMCancel}. */
export type LLMCancel = z.output<typeof LLMCancel>;

/** ToolSpec: one tool of {@linkcode ToolsRegistry}, an OpenAI function spec. */
export const ToolSpec = lazySchema(() =>
  z.strictObject({
    type: labelString().default("function"),
    function: jsonObject().meta({
      description: "OpenAI function spec {name, description, parameters}.",
    }),
  }).meta({ title: "ToolSpec", description: "A tool the LLM may call." })
);
/** A parsed {@linkcode ToolSpec}. */
export type ToolSpec = z.output<typeof ToolSpec>;

/** ToolsRegistry: the tools the LLM may call, on `llm/tools/registry`. */
export const ToolsRegistry = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    tools: z.array(builtSchema(ToolSpec)).max(LLM_TOOLS_MAX),
  }).meta({ title: "ToolsRegistry", description: "The tools the LLM may call." })
);
/** A parsed {@linkcode ToolsRegistry}. */
export type ToolsRegistry = z.output<typeof ToolsRegistry>;

/** ToolCallRequest: asks a tool executor to run a tool, on `llm/tool.call.request`. */
export const ToolCallRequest = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    call_id: idString(),
    name: labelString().meta({ description: 'Tool name, "mcp:<server>:<tool>".' }),
    arguments: jsonObject(),
  }).meta({ title: "ToolCallRequest", description: "A request to run a tool." })
);
/** A parsed {@linkcode ToolCallRequest}. */
export type ToolCallRequest = z.output<typeof ToolCallRequest>;

/** ToolCallResult: the outcome of a tool call, on `llm/tool.call.result`. */
export const ToolCallResult = lazySchema(() =>
  z.strictObject({
    message_id: messageIdField(),
    call_id: idString(),
    result: jsonObject().nullish(),
    error: detailString().nullish(),
  }).meta({ title: "ToolCallResult", description: "The outcome of a tool call." })
);
/** A parsed {@linkcode ToolCallResult}. */
export type ToolCallResult = z.output<typeof ToolCallResult>;
