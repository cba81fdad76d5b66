/**
 * The service catalog of core (`core/service/catalog.ts`) is the one place that names the
 * services and their client ids: the launcher table, the topic table, the Mosquitto ACL, the
 * dashboard's health board, the router's health topics and every `services/<name>/main.ts`
 * agree with it, and no service source hard-codes a client id.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  mqttDefaultsOf,
  serviceCatalog,
  serviceNames,
  topicFor,
  topicList,
  topics,
} from "../../core/mod.ts";
import { aclRules } from "../../ops/mosquitto/acl.ts";
import { serviceTable } from "../../ops/services.ts";
import { readRouterConfig } from "../../services/router/config.ts";
import { KNOWN_CLIENT_IDS } from "../../services/ui-web/health_board.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const EXTERNAL_PARTIES = new Set(["esp32", "homeassistant", "*"]);

Deno.test("catalog: one row per name, unique client ids, py-tars' envelope sources", () => {
  assert.deepEqual(Object.keys(serviceCatalog), [...serviceNames]);
  for (const name of serviceNames) assert.equal(serviceCatalog[name].name, name);
  const ids = serviceNames.map((name) => serviceCatalog[name].clientId);
  assert.equal(new Set(ids).size, ids.length, "client ids are unique");
  // py-tars: router, llm-worker and memory-worker set their source; the rest used the client id.
  for (const name of serviceNames) {
    const { sourceName, clientId } = serviceCatalog[name];
    const named = ["router", "llm-worker", "memory-worker"].includes(name);
    assert.equal(sourceName, named ? name : clientId, `${name}'s envelope source`);
  }
});

Deno.test("catalog: the MQTT defaults runService applies", () => {
  assert.deepEqual(mqttDefaultsOf("router"), {
    clientId: "tars-router",
    enableHealth: true,
    enableHeartbeat: false,
    sourceName: "router",
    dedupeTtl: 30,
    dedupeMaxEntries: 2048,
  });
  // A source that follows the client id is left unset, so MQTT_CLIENT_ID moves it too.
  assert.deepEqual(mqttDefaultsOf("stt-worker"), {
    clientId: "tars-stt",
    enableHealth: true,
    enableHeartbeat: true,
  });
});

Deno.test("catalog: the launcher table is keyed by it and reads its client ids", () => {
  assert.deepEqual(Object.keys(serviceTable).sort(), [...serviceNames].sort());
  for (const name of serviceNames) {
    assert.equal(serviceTable[name].clientId, serviceCatalog[name].clientId, name);
    assert.equal(serviceTable[name].entry, `services/${name}/main.ts`);
  }
});

Deno.test("catalog: the topic table names only catalog services (and the outside parties)", () => {
  const named = new Set<string>();
  for (const spec of topicList) {
    for (const party of [...spec.publishers, ...spec.subscribers]) {
      named.add(party);
      assert.ok(
        party in serviceCatalog || EXTERNAL_PARTIES.has(party),
        `${spec.name} names ${party}, which is no catalog service`,
      );
    }
  }
  for (const name of serviceNames) {
    assert.ok(named.has(name), `${name} publishes or subscribes something in the topic table`);
  }
});

Deno.test("catalog: the ACL pins each service's health topic to its client id", () => {
  for (const name of serviceNames) {
    const health = topicFor(topics.systemHealth, { client_id: serviceCatalog[name].clientId });
    assert.ok(
      aclRules(name).some((rule) => rule.topic === health && rule.access !== "read"),
      `${name} may publish ${health}`,
    );
  }
});

Deno.test("catalog: the health board and the router's health topics come from it", () => {
  assert.deepEqual(
    [...KNOWN_CLIENT_IDS].sort(),
    serviceNames.map((name) => serviceCatalog[name].clientId).sort(),
  );
  const router = readRouterConfig({});
  assert.equal(router.healthTopicTts, `system/health/${serviceCatalog["tts-worker"].clientId}`);
  assert.equal(router.healthTopicStt, `system/health/${serviceCatalog["stt-worker"].clientId}`);
});

Deno.test("catalog: each main.ts runs its catalog name; no service source hard-codes a client id", async () => {
  for (const name of serviceNames) {
    const main = await Deno.readTextFile(join(ROOT, "services", name, "main.ts"));
    assert.match(main, new RegExp(`runService\\(\\s*"${name}"`), `${name}/main.ts runs "${name}"`);
  }
  // Client ids that are not also a service's name (those appear as names legitimately).
  const ids = serviceNames.map((name) => serviceCatalog[name].clientId)
    .filter((id) => !(id in serviceCatalog));
  const literal = new RegExp(`["'\`](${ids.join("|")})["'\`]`);
  for await (const file of sources(join(ROOT, "services"))) {
    const text = await Deno.readTextFile(file);
    const code = text.split("\n").filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join("\n");
    assert.doesNotMatch(code, literal, `${file} hard-codes a client id: use serviceCatalog`);
  }
});

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "node_modules" && entry.name !== "static") {
      yield* sources(path);
    } else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
  }
}
