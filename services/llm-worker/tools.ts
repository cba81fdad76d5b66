/**
 * Tool calling: the built-in tools (movement, personality traits, "remember this") and the
 * external tools of llm/tools/registry. Built-in tools run by publishing the right MQTT
 * command (movement/test, movement/stop, character/update); registry tools are sent on
 * llm/tool.call.request and their llm/tool.call.result (by call_id) is awaited. Every result,
 * success or error, is JSON text for a `tool` message fed back to the model.
 *
 * @module
 */
import {
  CharacterUpdate,
  EmergencyStopCommand,
  type Logger,
  MemoryStore,
  type MqttClient,
  TEST_MOVEMENT_COMMANDS,
  TestMovementRequest,
  type ToolCallResult,
  type ToolsRegistry,
  topics,
} from "../../core/mod.ts";
import type { ChatToolCall, ToolDefinition } from "./chat_backend.ts";
import type { PersonaStore } from "./persona.ts";

/** Movement commands the `move` tool offers (`stop` has its own tool). */
export const MOVE_TOOL_COMMANDS = TEST_MOVEMENT_COMMANDS.filter((command) => command !== "stop");

/** The built-in tools' names. */
export const BUILTIN_TOOL_NAMES = [
  "move",
  "stop_movement",
  "set_personality_trait",
  "reset_personality_traits",
  "remember",
] as const;

/** What executing a tool needs. */
export interface ToolRunContext {
  /** The llm request's id (for logs and request ids). */
  readonly requestId: string;
  /** Aborted on llm/cancel. */
  readonly signal?: AbortSignal;
}

interface ExternalTool {
  readonly definition: ToolDefinition;
  /** The name on llm/tool.call.request (e.g. "mcp:server:tool"). */
  readonly registryName: string;
}

/** OpenAI function names allow letters, digits, `_` and `-` (64 at most). */
export function safeToolName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "__").slice(0, 64) || "tool";
}

/** The tools and their execution. */
export class ToolBox {
  readonly #client: MqttClient;
  readonly #persona: PersonaStore;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  #external = new Map<string, ExternalTool>();
  readonly #pending = new Map<string, (result: ToolCallResult) => void>();

  /** Creates the toolbox; `timeoutMs` bounds the wait for an external tool's result. */
  constructor(client: MqttClient, persona: PersonaStore, logger: Logger, timeoutMs: number) {
    this.#client = client;
    this.#persona = persona;
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
  }

  /** Replaces the external tools with those of a registry (built-in names win). */
  setRegistry(registry: ToolsRegistry): void {
    const external = new Map<string, ExternalTool>();
    for (const spec of registry.tools) {
      const fn = spec.function as { name?: unknown; description?: unknown; parameters?: unknown };
      if (spec.type !== "function" || typeof fn.name !== "string" || !fn.name) continue;
      const name = safeToolName(fn.name);
      if ((BUILTIN_TOOL_NAMES as readonly string[]).includes(name) || external.has(name)) continue;
      external.set(name, {
        registryName: fn.name,
        definition: {
          name,
          description: typeof fn.description === "string" ? fn.description : undefined,
          parameters: fn.parameters && typeof fn.parameters === "object"
            ? fn.parameters as Record<string, unknown>
            : { type: "object", properties: {} },
        },
      });
    }
    this.#external = external;
  }

  /** Names of the external tools (sanitised), in registry order. */
  externalNames(): string[] {
    return [...this.#external.keys()];
  }

  /** Feeds an llm/tool.call.result to the call waiting for it. */
  resolveResult(result: ToolCallResult): void {
    this.#pending.get(result.call_id)?.(result);
  }

  /** The tool definitions offered to the model. */
  definitions(): ToolDefinition[] {
    const traits = this.#persona.traitNames();
    return [
      {
        name: "move",
        description: "Make the robot perform a movement. move_legs takes params " +
          "{height_percent, left_percent, right_percent} (1-100); move_arm takes params " +
          "{port_main, port_forearm, port_hand, star_main, star_forearm, star_hand} (1-100).",
        parameters: {
          type: "object",
          properties: {
            command: { type: "string", enum: [...MOVE_TOOL_COMMANDS] },
            speed: { type: "number", minimum: 0.1, maximum: 1, description: "default 1.0" },
            params: { type: "object", description: "only for move_legs and move_arm" },
          },
          required: ["command"],
        },
      },
      {
        name: "stop_movement",
        description: "Stop all robot movement at once (emergency stop).",
        parameters: {
          type: "object",
          properties: { reason: { type: "string" } },
        },
      },
      {
        name: "set_personality_trait",
        description: "Change one of your personality traits (0-100), e.g. humor.",
        parameters: {
          type: "object",
          properties: {
            trait: traits.length > 0 ? { type: "string", enum: traits } : { type: "string" },
            value: { type: "integer", minimum: 0, maximum: 100 },
          },
          required: ["trait", "value"],
        },
      },
      {
        name: "reset_personality_traits",
        description: "Reset every personality trait to the character file's value.",
        parameters: { type: "object", properties: {} },
      },
      {
        name: "remember",
        description: "Use when the user asks you to remember something: stores the fact in " +
          "long-term memory, where later questions find it.",
        parameters: {
          type: "object",
          properties: { fact: { type: "string", description: "what to remember" } },
          required: ["fact"],
        },
      },
      ...[...this.#external.values()].map((tool) => tool.definition),
    ];
  }

  /** Executes one call; resolves with the JSON text of the tool message (never rejects). */
  async execute(call: ChatToolCall, context: ToolRunContext): Promise<string> {
    let args: Record<string, unknown>;
    try {
      const parsed = call.arguments.trim() ? JSON.parse(call.arguments) : {};
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new Error("not a JSON object");
      }
      args = parsed;
    } catch (error) {
      return JSON.stringify({
        error: `arguments of ${call.name} are not a JSON object (${(error as Error).message})`,
      });
    }
    try {
      return JSON.stringify(await this.#run(call, args, context));
    } catch (error) {
      this.#logger.warn("Tool {tool} failed: {error}", { tool: call.name, error: String(error) });
      return JSON.stringify({ error: (error as Error).message ?? String(error) });
    }
  }

  async #run(
    call: ChatToolCall,
    args: Record<string, unknown>,
    context: ToolRunContext,
  ): Promise<Record<string, unknown>> {
    switch (call.name) {
      case "move": {
        const parsed = TestMovementRequest.safeParse({
          command: args.command,
          speed: args.speed ?? 1.0,
          params: args.params ?? {},
          request_id: call.id,
        });
        if (!parsed.success || parsed.data.command === "stop") {
          return {
            error: `invalid movement: command must be one of ${MOVE_TOOL_COMMANDS.join(", ")}` +
              " and speed 0.1-1.0",
          };
        }
        await this.#client.publishEvent(topics.movementTest, parsed.data);
        return { ok: true, command: parsed.data.command, speed: parsed.data.speed };
      }
      case "stop_movement": {
        const reason = typeof args.reason === "string" && args.reason ? args.reason : "llm tool";
        await this.#client.publishEvent(
          topics.movementStop,
          EmergencyStopCommand.parse({ reason }),
        );
        return { ok: true, stopped: true };
      }
      case "set_personality_trait": {
        const traits = this.#persona.traitNames();
        if (traits.length > 0 && !traits.includes(String(args.trait))) {
          return { error: `unknown trait ${args.trait}; known traits: ${traits.join(", ")}` };
        }
        const parsed = CharacterUpdate.safeParse({
          section: "traits",
          trait: args.trait,
          value: typeof args.value === "number" ? Math.round(args.value) : args.value,
        });
        if (!parsed.success) return { error: "trait must be a name and value an integer 0-100" };
        await this.#client.publishEvent(topics.characterUpdate, parsed.data);
        return { ok: true, trait: args.trait, value: (parsed.data as { value: number }).value };
      }
      case "reset_personality_traits": {
        await this.#client.publishEvent(topics.characterUpdate, { action: "reset_traits" });
        return { ok: true, reset: true };
      }
      case "remember": {
        const fact = typeof args.fact === "string" ? args.fact.trim() : "";
        if (!fact) return { error: "nothing to remember: pass {fact}" };
        const parsed = MemoryStore.safeParse({ text: fact, source: "llm-worker" });
        if (!parsed.success) return { error: "the fact must be 1-10000 characters" };
        await this.#client.publishEvent(topics.memoryStore, parsed.data);
        return { ok: true, remembered: parsed.data.text };
      }
      default:
        return await this.#runExternal(call, args, context);
    }
  }

  async #runExternal(
    call: ChatToolCall,
    args: Record<string, unknown>,
    context: ToolRunContext,
  ): Promise<Record<string, unknown>> {
    const tool = this.#external.get(call.name);
    if (!tool) return { error: `unknown tool ${call.name}` };
    const callId = `${context.requestId}:${call.id}`;
    const done = Promise.withResolvers<ToolCallResult>();
    this.#pending.set(callId, done.resolve);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => done.reject(new Error("cancelled"));
    context.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      timer = setTimeout(
        () => done.reject(new Error(`no result within ${this.#timeoutMs / 1000} s`)),
        this.#timeoutMs,
      );
      await this.#client.publishEvent(topics.llmToolCallRequest, {
        call_id: callId,
        name: tool.registryName,
        arguments: args,
      });
      const result = await done.promise;
      if (result.error) return { error: result.error };
      return { ok: true, result: result.result ?? null };
    } finally {
      clearTimeout(timer);
      context.signal?.removeEventListener("abort", onAbort);
      this.#pending.delete(callId);
    }
  }
}
