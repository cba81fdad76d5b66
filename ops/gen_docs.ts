/**
 * Generates `docs/topics.md`, `docs/asyncapi.yaml`, the service part of `docs/configuration.md`
 * (see `ops/gen_config_docs.ts`) and the Mosquitto ACL
 * (`ops/mosquitto/tars.acl`, see `ops/mosquitto/acl.ts`) from the topic table in
 * `core/contracts/topics.ts`. Run it with `deno task docs`; `tests/contract/docs_fresh_test.ts`
 * fails when the committed files are stale.
 *
 * The output is deterministic: generated defaults (ids, clocks) are printed as
 * "generated", never as sample values, and the markdown is already `deno fmt`-stable.
 *
 * @module
 */
import { stringify } from "yaml";
import { z } from "zod";
import { topicList, topicParams, type TopicSpec } from "../core/contracts/mod.ts";
// Internal to core: z.toJSONSchema needs the built schemas behind the lazy stand-ins.
import { builtSchema } from "../core/contracts/lazy_schema.ts";
import { generatedDefaults } from "../core/contracts/payloads/common.ts";
import { ACL_FILE, renderAcl } from "./mosquitto/acl.ts";
import { CONFIG_MD, renderConfigurationMd } from "./gen_config_docs.ts";

/** A JSON Schema object as produced by `z.toJSONSchema`. */
export type JsonSchema = { [key: string]: unknown };

/** The generated documents. */
export interface RenderedDocs {
  /** Content of `docs/topics.md`. */
  topicsMd: string;
  /** Content of `docs/asyncapi.yaml`. */
  asyncapiYaml: string;
}

/** Where {@linkcode renderDocs}' output is written, relative to the repository root. */
export const DOCS_FILES = {
  topicsMd: new URL("../docs/topics.md", import.meta.url),
  asyncapiYaml: new URL("../docs/asyncapi.yaml", import.meta.url),
} as const;

const GENERATED_KEY = "x-generated";

/**
 * The JSON Schema (draft-07, input side: defaults are optional) of a payload schema.
 * Generated defaults become `x-generated` instead of a random `default`, and the
 * safe-integer bounds zod adds to every integer are dropped.
 */
export function payloadJsonSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(builtSchema(schema), {
    io: "input",
    unrepresentable: "any",
    target: "draft-7",
    override(ctx) {
      const generated = generatedDefaults.get(ctx.zodSchema);
      if (!generated) return;
      const node = ctx.jsonSchema as JsonSchema;
      delete node.default;
      node[GENERATED_KEY] = generated.generated;
    },
  }) as JsonSchema;
  delete json.$schema;
  return dropSafeIntegerBounds(json) as JsonSchema;
}

function dropSafeIntegerBounds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropSafeIntegerBounds);
  if (value === null || typeof value !== "object") return value;
  const out: JsonSchema = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === "minimum" && child === Number.MIN_SAFE_INTEGER) continue;
    if (key === "maximum" && child === Number.MAX_SAFE_INTEGER) continue;
    out[key] = dropSafeIntegerBounds(child);
  }
  return out;
}

/** The JSON Schema of an envelope whose `data` is `data` and whose `type` is `eventType`. */
export function envelopeJsonSchema(eventType: string, data: JsonSchema): JsonSchema {
  return {
    type: "object",
    description: "py-tars envelope; the id doubles as the correlation id.",
    properties: {
      id: { type: "string", description: "Message and correlation id, 32 lowercase hex." },
      type: { type: "string", const: eventType },
      ts: { type: "number", description: "Epoch seconds (float)." },
      source: { type: "string", description: "Producing service, e.g. tars-stt, router." },
      data,
    },
    required: ["id", "type", "ts", "source", "data"],
    additionalProperties: false,
  };
}

// ---------------------------------------------------------------------------- markdown

function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** A markdown table padded the way `deno fmt` pads it. */
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [header, ...rows].map((row) => row.map(escapeCell));
  const widths = header.map((_, i) => Math.max(3, ...cells.map((row) => row[i].length)));
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  const separator = `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`;
  return [line(cells[0]), separator, ...cells.slice(1).map(line)].join("\n");
}

/**
 * Wraps prose at `width` columns like `deno fmt` does: greedy, breaking only at spaces
 * outside inline code spans.
 */
function wrapParagraph(text: string, width = 100): string {
  const tokens: string[] = [];
  let inCode = false;
  for (const word of text.split(" ")) {
    if (inCode) tokens[tokens.length - 1] += ` ${word}`;
    else tokens.push(word);
    if ((word.split("`").length - 1) % 2 === 1) inCode = !inCode;
  }
  const lines: string[] = [];
  let line = "";
  for (const token of tokens) {
    if (line && line.length + 1 + token.length > width) {
      lines.push(line);
      line = token;
    } else {
      line = line ? `${line} ${token}` : token;
    }
  }
  if (line) lines.push(line);
  return lines.join("\n");
}

function listOrDash(values: readonly string[]): string {
  return values.length ? values.join(", ") : "-";
}

function asSchema(value: unknown): JsonSchema {
  return value !== null && typeof value === "object" ? value as JsonSchema : {};
}

function range(schema: JsonSchema): string {
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  if (min !== undefined && max !== undefined) return ` ${min}..${max}`;
  if (min !== undefined) return ` >= ${min}`;
  if (max !== undefined) return ` <= ${max}`;
  const minLength = schema.minLength === 1 ? "non-empty, " : "";
  if (schema.maxLength !== undefined) return ` (${minLength}<= ${schema.maxLength} chars)`;
  if (schema.minLength === 1) return " (non-empty)";
  return "";
}

/** A short human-readable type of a JSON Schema node. */
function typeName(schema: JsonSchema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  const union = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(union)) {
    return [...new Set(union.map((s) => typeName(asSchema(s))))].join(" | ");
  }
  if (Array.isArray(schema.type)) {
    return schema.type.map((type) => typeName({ ...schema, type })).join(" | ");
  }
  switch (schema.type) {
    case "array":
      return `array<${typeName(asSchema(schema.items))}>` +
        (schema.maxItems !== undefined ? ` (<= ${schema.maxItems} items)` : "");
    case "object": {
      if (schema.properties) return "object";
      const values = asSchema(schema.additionalProperties);
      return Object.keys(values).length ? `record<string, ${typeName(values)}>` : "object";
    }
    case "integer":
    case "number":
    case "string":
      return `${schema.type}${range(schema)}`;
    case undefined:
      return "any";
    default:
      return String(schema.type);
  }
}

function defaultText(schema: JsonSchema): string {
  if (schema[GENERATED_KEY] !== undefined) return `generated: ${schema[GENERATED_KEY]}`;
  return schema.default === undefined ? "" : JSON.stringify(schema.default);
}

/** Object schemas nested in a property: the object itself, array items, nullable members. */
function nestedObjects(schema: JsonSchema): Array<{ suffix: string; schema: JsonSchema }> {
  if (schema.type === "object" && schema.properties) return [{ suffix: "", schema }];
  if (schema.type === "array") {
    return nestedObjects(asSchema(schema.items)).map((n) => ({ ...n, suffix: `[]${n.suffix}` }));
  }
  const union = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(union)) return union.flatMap((s) => nestedObjects(asSchema(s)));
  return [];
}

function fieldRows(schema: JsonSchema, prefix = ""): string[][] {
  const properties = asSchema(schema.properties);
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const rows: string[][] = [];
  for (const [name, value] of Object.entries(properties)) {
    const property = asSchema(value);
    const path = `${prefix}${name}`;
    rows.push([
      `\`${path}\``,
      typeName(property),
      defaultText(property),
      required.has(name) ? "yes" : "no",
      typeof property.description === "string" ? property.description : "",
    ]);
    for (const nested of nestedObjects(property)) {
      rows.push(...fieldRows(nested.schema, `${path}${nested.suffix}.`));
    }
  }
  return rows;
}

function payloadSection(schema: JsonSchema): string[] {
  const variants = Array.isArray(schema.anyOf) ? schema.anyOf.map(asSchema) : [schema];
  const out: string[] = [];
  for (const variant of variants) {
    const title = typeof variant.title === "string" ? variant.title : "payload";
    const description = typeof variant.description === "string" ? ` ${variant.description}` : "";
    out.push(
      variants.length > 1 ? `One of: **${title}**.${description}` : `**${title}**.${description}`,
    );
    const rows = fieldRows(variant);
    out.push(
      rows.length
        ? markdownTable(["Field", "Type", "Default", "Required", "Description"], rows)
        : "No fields.",
    );
  }
  return out;
}

function wireText(spec: TopicSpec): string {
  if (spec.wire !== "envelope") return spec.wire;
  return spec.acceptsRaw ? "envelope (raw accepted)" : "envelope";
}

/** A byte count as people read it: `64 KiB`, `1 MiB`, `1000 B`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

function renderTopicsMd(): string {
  const blocks: string[] = [
    "# MQTT topics",
    "Generated by `deno task docs` from `core/contracts/topics.ts`; do not edit by hand.",
    "Wire `envelope` is the py-tars envelope `{id, type, ts, source, data}` with the payload " +
    "in `data`; `json` is a bare JSON payload; `binary` is raw bytes. " +
    "`envelope (raw accepted)` topics are always published enveloped, but subscribers also " +
    "accept the bare payload, as py-tars producers send it. `{param}` is one topic level; " +
    "subscribe with `+` in its place. `Max size` is the largest payload in bytes, envelope " +
    "included: subscribers drop a bigger one unread (counted as `oversized`) and publishing " +
    "one fails. Free-text fields carry their own `maxLength` in characters (UTF-16 code units).",
    markdownTable(
      [
        "Topic",
        "Event type",
        "Wire",
        "QoS",
        "Retain",
        "Max size",
        "Publishers",
        "Subscribers",
        "Description",
      ],
      topicList.map((spec) => [
        `\`${spec.topic}\``,
        spec.eventType ? `\`${spec.eventType}\`` : "-",
        wireText(spec),
        String(spec.qos),
        spec.retain ? "yes" : "no",
        formatBytes(spec.maxBytes),
        listOrDash(spec.publishers),
        listOrDash(spec.subscribers),
        spec.description,
      ]),
    ),
    "## Payloads",
  ];
  for (const spec of topicList) {
    blocks.push(
      `### \`${spec.topic}\``,
      `${spec.description} At most ${formatBytes(spec.maxBytes)} (${spec.maxBytes} bytes).`,
    );
    if (!spec.schema) {
      blocks.push("Raw bytes: no schema.");
      continue;
    }
    const where = spec.wire === "envelope"
      ? `Envelope type \`${spec.eventType}\`; the table describes \`data\`.`
      : "Bare JSON, no envelope.";
    blocks.push(where, ...payloadSection(payloadJsonSchema(spec.schema)));
  }
  const paragraphs = blocks.map((block) => /^[|#]/.test(block) ? block : wrapParagraph(block));
  return paragraphs.join("\n\n") + "\n";
}

// ---------------------------------------------------------------------------- asyncapi

function messagePayload(spec: TopicSpec): JsonSchema {
  if (!spec.schema) return { type: "string", format: "binary" };
  const data = payloadJsonSchema(spec.schema);
  return spec.wire === "envelope" && spec.eventType
    ? envelopeJsonSchema(spec.eventType, data)
    : data;
}

function messageTitle(spec: TopicSpec): string {
  if (!spec.schema) return "Raw bytes";
  const json = payloadJsonSchema(spec.schema);
  if (typeof json.title === "string") return json.title;
  const titles = Array.isArray(json.anyOf)
    ? json.anyOf.map((s) => asSchema(s).title).filter((t) => typeof t === "string")
    : [];
  return titles.length ? titles.join(" | ") : spec.name;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function renderAsyncApi(): string {
  const channels: JsonSchema = {};
  const operations: JsonSchema = {};
  const messages: JsonSchema = {};
  for (const spec of topicList) {
    const params = topicParams(spec.topic);
    const rawNote = spec.acceptsRaw
      ? " Subscribers also accept the bare `data` payload without an envelope."
      : "";
    messages[spec.name] = {
      name: spec.eventType ?? spec.name,
      title: messageTitle(spec),
      contentType: spec.wire === "binary" ? "application/octet-stream" : "application/json",
      payload: messagePayload(spec),
      "x-max-bytes": spec.maxBytes,
    };
    channels[spec.name] = {
      address: spec.topic,
      description: `${spec.description}${rawNote} Payloads over ${spec.maxBytes} bytes are ` +
        "dropped.",
      ...(params.length
        ? {
          parameters: Object.fromEntries(
            params.map((p) => [p, { description: `One topic level: the ${p}.` }]),
          ),
        }
        : {}),
      messages: { [spec.name]: { $ref: `#/components/messages/${spec.name}` } },
    };
    const channel = { $ref: `#/channels/${spec.name}` };
    const operationMessages = [{ $ref: `#/channels/${spec.name}/messages/${spec.name}` }];
    if (spec.publishers.length) {
      operations[`send${capitalize(spec.name)}`] = {
        action: "send",
        channel,
        summary: `Published by ${spec.publishers.join(", ")}.`,
        messages: operationMessages,
        bindings: { mqtt: { qos: spec.qos, retain: spec.retain, bindingVersion: "0.2.0" } },
      };
    }
    if (spec.subscribers.length) {
      operations[`receive${capitalize(spec.name)}`] = {
        action: "receive",
        channel,
        summary: `Subscribed by ${spec.subscribers.join(", ")}.`,
        messages: operationMessages,
        bindings: { mqtt: { qos: spec.qos, bindingVersion: "0.2.0" } },
      };
    }
  }
  const document = {
    asyncapi: "3.0.0",
    info: {
      title: "TARS MQTT API",
      version: "1.0.0",
      description: "Every MQTT topic of TARS-Deno, wire-compatible with py-tars. " +
        "Generated by `deno task docs` from core/contracts/topics.ts; do not edit by hand.",
    },
    defaultContentType: "application/json",
    servers: {
      broker: {
        host: "localhost:1883",
        protocol: "mqtt",
        description: "The MQTT broker named by MQTT_URL.",
      },
    },
    channels,
    operations,
    components: { messages },
  };
  return "# Generated by `deno task docs` from core/contracts/topics.ts; do not edit.\n" +
    stringify(document, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Renders `docs/topics.md` and `docs/asyncapi.yaml` from the topic table. */
export function renderDocs(): RenderedDocs {
  return { topicsMd: renderTopicsMd(), asyncapiYaml: renderAsyncApi() };
}

if (import.meta.main) {
  const docs = renderDocs();
  await Deno.mkdir(new URL("../docs/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(DOCS_FILES.topicsMd, docs.topicsMd);
  await Deno.writeTextFile(DOCS_FILES.asyncapiYaml, docs.asyncapiYaml);
  await Deno.writeTextFile(ACL_FILE, renderAcl());
  await Deno.writeTextFile(CONFIG_MD, renderConfigurationMd(await Deno.readTextFile(CONFIG_MD)));
  console.log(
    "Wrote docs/topics.md, docs/asyncapi.yaml, ops/mosquitto/tars.acl and docs/configuration.md",
  );
}
