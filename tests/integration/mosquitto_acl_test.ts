/**
 * The generated ACL (ops/mosquitto/tars.acl) is fresh, and on a real Mosquitto with the
 * password file of ops/mosquitto/make_passwords.ts every user can publish and subscribe every
 * topic the contract table gives it, and cannot publish or receive any other.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import mqtt from "mqtt";
import { serviceNames, topicList, topicMatches } from "../../core/mod.ts";
import {
  ACL_FILE,
  aclRules,
  type AclUser,
  MONITOR_USER,
  renderAcl,
  WILDCARD_WRITES,
  WRITER_PARAMS,
} from "../../ops/mosquitto/acl.ts";
import { makePasswords } from "../../ops/mosquitto/make_passwords.ts";
import { serviceTable } from "../../ops/services.ts";
import { STT_ENV } from "../../services/stt-worker/config.ts";
import { UI_SOURCE } from "../../services/ui-web/bridge.ts";
import { brokerKind, startBroker } from "../helpers/broker.ts";
import { waitFor } from "../helpers/wait.ts";

const mosquittoOnly = brokerKind() !== "mosquitto";
const ADMIN = "tars-test-admin";
const USERS: readonly AclUser[] = [...serviceNames, "esp32", "homeassistant"];

Deno.test("ops/mosquitto/tars.acl is generated from the topic table (deno task docs)", () => {
  assert.ok(
    Deno.readTextFileSync(ACL_FILE) === renderAcl(),
    "tars.acl is stale: run deno task docs",
  );
});

Deno.test("ACL: health is pinned to the service's own client id; the monitor only reads", () => {
  const router = aclRules("router");
  assert.ok(router.some((r) => r.topic === "system/health/tars-router" && r.access === "write"));
  assert.ok(router.some((r) => r.topic === "system/health/+" && r.access === "read"));
  assert.ok(!router.some((r) => r.topic === "system/health/tars-tts"));
  assert.match(renderAcl(), new RegExp(`user ${MONITOR_USER}\ntopic read #\n$`));
});

Deno.test("ACL: audio/pcm/{source} is pinned to each writer's own source (its default)", () => {
  const writes = (user: AclUser) =>
    aclRules(user).filter((r) => r.access !== "read").map((r) => r.topic);
  assert.ok(writes("ui-web").includes("audio/pcm/ui-web"));
  assert.ok(writes("stt-worker").includes("audio/pcm/stt"));
  for (const user of USERS) {
    const wildcards = writes(user).filter((t) => t.includes("+") || t.includes("#"));
    // Only the listed, confined wildcards (the ha-bridge's entities, Home Assistant's commands).
    assert.deepEqual(wildcards, WILDCARD_WRITES[user] ?? [], `${user} writes +`);
  }
  // The pinned values are what the services publish with by default.
  assert.equal(WRITER_PARAMS["ui-web"]?.source, UI_SOURCE);
  assert.equal(WRITER_PARAMS["stt-worker"]?.source, STT_ENV.AUDIO_SOURCE_NAME.parse(undefined));
});

/**
 * A concrete topic of a row: `{client_id}` = `clientId`, other parameters from `params`
 * (default `x`).
 */
function concrete(
  template: string,
  clientId: string,
  params: Readonly<Record<string, string>> = {},
): string {
  return template.replace(
    /\{([a-z_]+)\}/g,
    (_m, p: string) => (p === "client_id" ? clientId : params[p] === "+" ? "x" : params[p] ?? "x"),
  );
}

function allowed(user: AclUser, topic: string, kind: "read" | "write"): boolean {
  return aclRules(user).some((r) =>
    (r.access === kind || r.access === "readwrite") && topicMatches(r.topic, topic)
  );
}

Deno.test("ACL: only the dashboard may publish movement/clear; voice intents and the LLM cannot lift a stop", () => {
  assert.ok(allowed("ui-web", "movement/clear", "write"));
  for (const user of USERS.filter((u) => u !== "ui-web")) {
    assert.ok(!allowed(user, "movement/clear", "write"), `${user} may publish movement/clear`);
  }
  // ...while every one of them that moves the robot may still stop it.
  for (const user of ["router", "llm-worker", "ui-web"] as const) {
    assert.ok(allowed(user, "movement/stop", "write"), user);
  }
});

Deno.test("ACL: Home Assistant reaches TARS only through the ha-bridge, which cannot lift a stop", () => {
  const writes = (user: AclUser) =>
    aclRules(user).filter((r) => r.access !== "read").map((r) => r.topic);
  // Home Assistant's login writes its status and the bridge's command topics, nothing of TARS.
  assert.deepEqual(writes("homeassistant").sort(), ["homeassistant/status", "tars/ha/command/+"]);
  // The bridge may stop the robot but not clear the latch, and writes no other movement topic.
  assert.ok(allowed("ha-bridge", "movement/stop", "write"));
  assert.ok(!allowed("ha-bridge", "movement/clear", "write"));
  assert.deepEqual(writes("ha-bridge").filter((t) => t.startsWith("movement/")).sort(), [
    "movement/stop",
    "movement/test",
  ]);
  // Its wildcards stay inside the `tars` node of discovery and inside tars/ha/.
  for (const t of WILDCARD_WRITES["ha-bridge"] ?? []) {
    assert.match(t, /^(homeassistant\/\+\/tars\/\+\/config|tars\/ha\/state\/\+)$/);
  }
});

async function connect(url: string, clientId: string): Promise<mqtt.MqttClient> {
  return await mqtt.connectAsync(url, { clientId, reconnectPeriod: 0, connectTimeout: 5_000 });
}

Deno.test({
  name: "ACL on Mosquitto: each service may publish and read exactly its table rows",
  ignore: mosquittoOnly,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tars-acl-" });
    try {
      const passwd = join(dir, "tars.passwd");
      const envFiles = await makePasswords({ passwd, envDir: join(dir, "env"), broker: "HOST" });
      const adminPassword = "admin-pass";
      const add = await new Deno.Command("mosquitto_passwd", {
        args: ["-b", passwd, ADMIN, adminPassword],
      }).output();
      assert.ok(add.success, new TextDecoder().decode(add.stderr));
      const acl = join(dir, "tars.acl");
      await Deno.writeTextFile(acl, `${renderAcl()}\nuser ${ADMIN}\ntopic readwrite #\n`);
      // Mosquitto started as root reads these as its own user.
      for (const f of [passwd, acl]) await Deno.chmod(f, 0o644);
      await Deno.chmod(dir, 0o755);

      await using broker = await startBroker({
        extraConfig: ["allow_anonymous false", `password_file ${passwd}`, `acl_file ${acl}`],
      });
      const host = new URL(broker.url).host;
      const urlOf = (user: string) => {
        const text = Deno.readTextFileSync(envFiles.get(user)!);
        return /^MQTT_URL=(.*)$/m.exec(text)![1].replace("HOST", host);
      };

      // Anonymous and wrong-password logins are refused.
      await assert.rejects(connect(broker.url, "anon"), /Not authorized|Bad username/i);
      await assert.rejects(
        connect(broker.url.replace("mqtt://", "mqtt://router:wrong@"), "tars-router"),
        /Not authorized|Bad username/i,
      );

      const admin = await connect(
        broker.url.replace("mqtt://", `mqtt://${ADMIN}:${adminPassword}@`),
        "tars-test-admin",
      );
      const seenByAdmin: string[] = [];
      admin.on("message", (topic, payload) => seenByAdmin.push(`${topic} ${payload}`));
      await admin.subscribeAsync("#", { qos: 1 });
      try {
        for (const user of USERS) {
          const clientId = user === "esp32" || user === "homeassistant"
            ? `${user}-test`
            : serviceTable[user].clientId;
          const client = await connect(urlOf(user), clientId);
          try {
            // --- write: every row, as this client would fill it and with another {source}
            const writes = [
              ...new Set(topicList.flatMap((spec) => [
                concrete(spec.topic, clientId, WRITER_PARAMS[user]),
                concrete(spec.topic, clientId),
              ])),
            ];
            const mayWrite = writes.filter((t) => allowed(user, t, "write"));
            const mayNot = writes.filter((t) => !allowed(user, t, "write"));
            assert.ok(mayWrite.length > 0, `${user} publishes nothing?`);
            // Sent in this order (MQTT keeps one client's QoS 1 order): the last allowed one
            // arriving means every forbidden one had its chance to arrive first.
            await Promise.all(
              [...mayNot, ...mayWrite].map((t) =>
                client.publishAsync(t, `${user}:${t}`, { qos: 1 })
              ),
            );
            const sentinel = `${mayWrite.at(-1)} ${user}:${mayWrite.at(-1)}`;
            await waitFor(() => seenByAdmin.includes(sentinel), `${user} sentinel`);
            for (const t of mayWrite) {
              assert.ok(
                seenByAdmin.includes(`${t} ${user}:${t}`),
                `${user} could not publish ${t}`,
              );
            }
            for (const t of mayNot) {
              assert.ok(!seenByAdmin.includes(`${t} ${user}:${t}`), `${user} published ${t}`);
            }

            // --- read: subscribe to every row's filter, the admin publishes to each
            const reads = [...new Set(topicList.map((s) => concrete(s.topic, "tars-other")))];
            const mayRead = reads.filter((t) => allowed(user, t, "read"));
            const mayNotRead = reads.filter((t) => !allowed(user, t, "read"));
            if (mayRead.length === 0) continue; // nothing to read, nothing to prove
            const got: string[] = [];
            client.on("message", (topic) => got.push(topic));
            await Promise.all(
              [...mayRead, ...mayNotRead].map((t) =>
                client.subscribeAsync(t, { qos: 1 }).catch(() => {}) // a refusal is fine too
              ),
            );
            await Promise.all(
              [...mayNotRead, ...mayRead].map((t) =>
                admin.publishAsync(t, "from admin", { qos: 1 })
              ),
            );
            await waitFor(() => got.includes(mayRead.at(-1)!), `${user} read sentinel`);
            for (const t of mayRead) assert.ok(got.includes(t), `${user} could not read ${t}`);
            for (const t of mayNotRead) assert.ok(!got.includes(t), `${user} received ${t}`);
          } finally {
            await client.endAsync();
          }
        }
      } finally {
        await admin.endAsync();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
