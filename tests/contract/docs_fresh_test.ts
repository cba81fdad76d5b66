import assert from "node:assert/strict";
import { parse } from "yaml";
import { topicList } from "../../core/contracts/mod.ts";
import { CONFIG_MD, renderConfigurationMd } from "../../ops/gen_config_docs.ts";
import { DOCS_FILES, renderDocs } from "../../ops/gen_docs.ts";

const STALE = "is stale: run deno task docs";

Deno.test("docs/topics.md is generated from the topic table", () => {
  const committed = Deno.readTextFileSync(DOCS_FILES.topicsMd);
  assert.ok(committed === renderDocs().topicsMd, `docs/topics.md ${STALE}`);
});

Deno.test("docs/asyncapi.yaml is generated from the topic table", () => {
  const committed = Deno.readTextFileSync(DOCS_FILES.asyncapiYaml);
  assert.ok(committed === renderDocs().asyncapiYaml, `docs/asyncapi.yaml ${STALE}`);
});

Deno.test("renderDocs() is deterministic (no random defaults, no dates)", () => {
  const first = renderDocs();
  const second = renderDocs();
  assert.equal(first.topicsMd, second.topicsMd);
  assert.equal(first.asyncapiYaml, second.asyncapiYaml);
  assert.doesNotMatch(first.asyncapiYaml, /[0-9a-f]{32}/, "a generated id leaked into the docs");
});

Deno.test("topics.md lists every topic", () => {
  const md = renderDocs().topicsMd;
  for (const spec of topicList) assert.ok(md.includes(`### \`${spec.topic}\``), spec.topic);
});

Deno.test("asyncapi.yaml is an AsyncAPI 3.0.0 document whose references resolve", () => {
  const doc = parse(renderDocs().asyncapiYaml) as Record<string, unknown>;
  assert.equal(doc.asyncapi, "3.0.0");
  const resolve = (ref: string): unknown =>
    ref.slice(2).split("/").reduce<unknown>(
      (node, key) => (node as Record<string, unknown> | undefined)?.[key],
      doc,
    );
  const refs: string[] = [];
  const collect = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(collect);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "$ref" && typeof value === "string") refs.push(value);
        else collect(value);
      }
    }
  };
  collect(doc);
  assert.ok(refs.length > topicList.length);
  for (const ref of refs) assert.ok(resolve(ref) !== undefined, `unresolved ${ref}`);

  const channels = doc.channels as Record<string, Record<string, unknown>>;
  for (const spec of topicList) {
    const channel = channels[spec.name];
    assert.equal(channel.address, spec.topic);
    const params = Object.keys((channel.parameters ?? {}) as object);
    assert.deepEqual(params, [...spec.topic.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));
  }
  const operations = Object.values(doc.operations as Record<string, Record<string, unknown>>);
  assert.ok(operations.every((op) => op.action === "send" || op.action === "receive"));
});

Deno.test("asyncapi envelope messages wrap the payload in the envelope", () => {
  const doc = parse(renderDocs().asyncapiYaml) as {
    components: { messages: Record<string, { payload: Record<string, unknown> }> };
  };
  const final = doc.components.messages.sttFinal.payload as {
    required: string[];
    properties: { type: { const: string }; data: { required: string[] } };
  };
  assert.deepEqual(final.required, ["id", "type", "ts", "source", "data"]);
  assert.equal(final.properties.type.const, "stt.final");
  assert.deepEqual(final.properties.data.required, ["text"]);
  const keepalive = doc.components.messages.systemKeepalive.payload;
  assert.ok(!("properties" in keepalive && "data" in (keepalive.properties as object)));
});

Deno.test("docs/configuration.md lists every service's environment (deno task docs)", () => {
  const committed = Deno.readTextFileSync(CONFIG_MD);
  assert.ok(committed === renderConfigurationMd(committed), `docs/configuration.md ${STALE}`);
});
