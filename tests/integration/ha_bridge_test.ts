/**
 * ha-bridge over a real Mosquitto, with a bare MQTT client standing in for Home Assistant
 * (no real Home Assistant runs here): every discovery config has the fields Home Assistant's
 * MQTT discovery documentation requires for its component, a killed service's sensor goes
 * unavailable, each command topic round-trips to the TARS topic it drives (live mode through
 * the real router), a stop latched from Home Assistant keeps its movement buttons refused,
 * `homeassistant/status online` re-sends every config, and HA_DISCOVERY=false removes them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CharacterUpdate,
  EmergencyStopCommand,
  Envelope,
  findTopicSpec,
  getLogger,
  LiveModeCommand,
  type MovementStatusUpdate,
  type MqttClient,
  TestMovementRequest,
  topicMatches,
  topics,
  TtsSay,
} from "../../core/mod.ts";
import { aclRules, renderAcl } from "../../ops/mosquitto/acl.ts";
import { makePasswords } from "../../ops/mosquitto/make_passwords.ts";
import { readHaBridgeConfig } from "../../services/ha-bridge/config.ts";
import { MOVEMENT_BUTTONS } from "../../services/ha-bridge/entities.ts";
import { type HaBridge, startHaBridge } from "../../services/ha-bridge/service.ts";
import { readMovementConfig } from "../../services/movement-service/config.ts";
import { SimServoDriver } from "../../services/movement-service/drivers/sim.ts";
import { startMovementService } from "../../services/movement-service/service.ts";
import { brokerKind, startBroker } from "../helpers/broker.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { collect, rawClient, testClient, waitFor } from "../helpers/wait.ts";

/**
 * What Home Assistant's MQTT discovery documentation requires of each component
 * (https://www.home-assistant.io/integrations/<component>.mqtt/, "Configuration Variables",
 * the ones marked Required), with the documentation's names. `oneOf`: exactly one of these.
 */
const HA_REQUIRED: Readonly<
  Record<string, { readonly required: readonly string[]; readonly oneOf?: readonly string[] }>
> = {
  binary_sensor: { required: ["state_topic"] },
  sensor: { required: ["state_topic"] },
  text: { required: ["command_topic"] },
  button: { required: [] }, // command_topic is optional in the docs; we check it below
  switch: { required: [] }, // likewise
  image: { required: [], oneOf: ["image_topic", "url_topic"] },
  number: { required: ["command_topic"] },
};

/**
 * Required by the documentation of every discovered entity: `origin.name` ("name string
 * REQUIRED" of `origin`), a device with `identifiers` or `connections` (a device needs one),
 * and `unique_id` (entities with a device must have one to enter the device registry).
 */
const HA_REQUIRED_SHARED = ["unique_id", "device.identifiers", "origin.name"] as const;

/** What TARS needs beyond the documentation: a command topic for every control. */
const TARS_EXPECTS: Readonly<Record<string, readonly string[]>> = {
  button: ["command_topic"],
  switch: ["command_topic", "state_topic"],
};

const DISCOVERY = "homeassistant/+/tars/+/config";

function field(config: Record<string, unknown>, path: string): unknown {
  return path.split(".").reduce<unknown>(
    (value, key) => (value as Record<string, unknown> | undefined)?.[key],
    config,
  );
}

function present(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return typeof value === "string" ? value !== "" : value !== undefined && value !== null;
}

async function connected(client: MqttClient): Promise<MqttClient> {
  await client.connect({ timeoutMs: 10_000 });
  return client;
}

/** The bridge with its own client (client id `tars-ha-bridge`, as in production). */
async function bridge(url: string, env: Record<string, string> = {}) {
  const client = await connected(
    testClient(url, { clientId: "tars-ha-bridge", enableHealth: true }),
  );
  const service: HaBridge = await startHaBridge(
    { client, logger: getLogger("ha-bridge-test") },
    { config: readHaBridgeConfig({ HA_CAMERA_INTERVAL_MS: "1", ...env }) },
  );
  return Object.assign(service, {
    client,
    [Symbol.asyncDispose]: async () => {
      await service.close();
      await client.shutdown();
    },
  });
}

/** Retained TARS state as the services would have left it before the bridge starts. */
async function seedTars(url: string) {
  const tars = await connected(testClient(url, { clientId: "tars-seed", enableHealth: true }));
  await tars.publishEvent(topics.systemCharacterCurrent, {
    name: "TARS",
    traits: { humor: 75, honesty: 90 },
  });
  return tars;
}

/** The latest config per topic the Home Assistant stand-in has seen (non-empty ones). */
function configs(
  got: Array<{ topic: string; text: string }>,
): Map<string, Record<string, unknown>> {
  const map = new Map<string, Record<string, unknown>>();
  for (const m of got) {
    if (m.text === "") map.delete(m.topic);
    else map.set(m.topic, JSON.parse(m.text));
  }
  return map;
}

Deno.test("ha-bridge: every discovery config has the fields Home Assistant's docs require, on the TARS device", async () => {
  await using broker = await startBroker();
  const tars = await seedTars(broker.url);
  await using ha = await rawClient(broker.url, "homeassistant-test");
  const got = await collect(ha, DISCOVERY);
  await using b = await bridge(broker.url);
  const expected = b.announced.length;
  // 2 sensors, say, stop, the movement buttons, live mode, camera; then 2 traits and the
  // connectivity of the bridge and of the seeding client.
  assert.ok(expected >= 6 + MOVEMENT_BUTTONS.length);
  await waitFor(() => configs(got).size === 6 + MOVEMENT_BUTTONS.length + 4, "every config");
  assert.equal(configs(got).size, b.announced.length);

  const byComponent = new Map<string, number>();
  const haReads = (topic: string) =>
    aclRules("homeassistant").some((r) => r.access !== "write" && topicMatches(r.topic, topic));
  const haWrites = (topic: string) =>
    aclRules("homeassistant").some((r) => r.access !== "read" && topicMatches(r.topic, topic));
  for (const [topic, config] of configs(got)) {
    const component = topic.split("/")[1];
    byComponent.set(component, (byComponent.get(component) ?? 0) + 1);
    const rules = HA_REQUIRED[component];
    assert.ok(rules, `${topic}: ${component} is not a component we check`);
    for (
      const name of [...HA_REQUIRED_SHARED, ...rules.required, ...TARS_EXPECTS[component] ?? []]
    ) {
      assert.ok(present(field(config, name)), `${topic}: ${name} is missing`);
    }
    if (rules.oneOf) {
      const set = rules.oneOf.filter((name) => present(config[name]));
      assert.equal(set.length, 1, `${topic}: exactly one of ${rules.oneOf.join(", ")}`);
    }
    assert.deepEqual(config.device, {
      identifiers: ["tars"],
      name: "TARS",
      manufacturer: "TARS-Deno",
      model: "TARS robot",
    });
    assert.equal(topic.split("/")[3], String(config.unique_id).replace(/^tars_/, ""));
    // Every topic it names is a topic of the table that Home Assistant's login may use.
    for (const key of ["state_topic", "image_topic"]) {
      if (config[key] === undefined) continue;
      assert.ok(findTopicSpec(String(config[key])), `${topic}: ${key} not in the table`);
      assert.ok(haReads(String(config[key])), `${topic}: Home Assistant may not read ${key}`);
    }
    if (config.command_topic !== undefined) {
      assert.ok(haWrites(String(config.command_topic)), `${topic}: command_topic not writable`);
    }
    for (const a of config.availability as Array<{ topic: string }>) {
      assert.ok(haReads(a.topic), `${topic}: Home Assistant may not read ${a.topic}`);
    }
  }
  assert.deepEqual(Object.fromEntries(byComponent), {
    binary_sensor: 2,
    button: MOVEMENT_BUTTONS.length + 1,
    image: 1,
    number: 2,
    sensor: 2,
    switch: 1,
    text: 1,
  });
  // The unique ids are unique, and the bridge's own availability is its health (last will).
  const ids = [...configs(got).values()].map((c) => c.unique_id);
  assert.equal(new Set(ids).size, ids.length);
  const stop = configs(got).get("homeassistant/button/tars/emergency_stop/config")!;
  assert.deepEqual(
    (stop.availability as Array<{ topic: string }>).map((a) => a.topic),
    ["system/health/tars-ha-bridge"],
  );
  await tars.shutdown();
});

Deno.test("ha-bridge: a killed service's connectivity sensor becomes unavailable (its last will)", async () => {
  await using broker = await startBroker();
  await using ha = await rawClient(broker.url, "homeassistant-test");
  const states = await collect(ha, "tars/ha/state/+");
  const configsSeen = await collect(ha, DISCOVERY);
  await using _b = await bridge(broker.url);
  const router = spawnService("router", { MQTT_URL: broker.url });
  let stopped = false;
  try {
    const latest = (entity: string) =>
      states.findLast((m) => m.topic === `tars/ha/state/${entity}`)?.text;
    await waitFor(
      () => latest("available_tars_router") === "online" && latest("health_tars_router") === "ON",
      "the router's sensor online and ON",
      20_000,
    );
    assert.ok(
      configs(configsSeen).has("homeassistant/binary_sensor/tars/health_tars_router/config"),
    );
    const sensor = configs(configsSeen).get(
      "homeassistant/binary_sensor/tars/health_tars_router/config",
    )!;
    assert.equal(sensor.availability_mode, "all");
    assert.deepEqual((sensor.availability as Array<{ topic: string }>).map((a) => a.topic), [
      "system/health/tars-ha-bridge",
      "tars/ha/state/available_tars_router",
    ]);

    // The live-mode switch round-trips through the real router: command → state.
    await waitFor(() => latest("live") === "OFF", "the router's retained live mode (off)");
    await ha.publishAsync("tars/ha/command/live", "ON", { qos: 1 });
    await waitFor(() => latest("live") === "ON", "live mode on, as the router reports it");

    router.kill("SIGKILL");
    stopped = true;
    await router.status;
    await waitFor(
      () => latest("available_tars_router") === "offline" && latest("health_tars_router") === "OFF",
      "the router's sensor unavailable and OFF after SIGKILL",
      10_000,
    );
  } finally {
    if (!stopped) await stopService(router);
    else await router.stderr.cancel();
  }
});

Deno.test("ha-bridge: each command topic round-trips to the TARS topic it drives; bad ones are dropped", async () => {
  await using broker = await startBroker();
  const tars = await seedTars(broker.url);
  await using ha = await rawClient(broker.url, "homeassistant-test");
  await using watcher = await rawClient(broker.url, "test-watcher");
  const seen = await collect(watcher, "#");
  const haStates = await collect(ha, "tars/ha/#");
  await using b = await bridge(broker.url);
  await waitFor(() => b.announced.some((i) => i.objectId === "trait_humor"), "trait numbers");

  const data = (topic: string) =>
    seen.filter((m) => m.topic === topic).map((m) => Envelope.fromValue(JSON.parse(m.text))?.data);

  // Invalid commands first; the valid one after each is the marker that they were handled.
  await ha.publishAsync("tars/ha/command/move", "fly_away", { qos: 1 });
  await ha.publishAsync("tars/ha/command/move", "wave", { qos: 1 });
  await waitFor(() => data("movement/test").length === 1, "movement/test");
  assert.deepEqual(TestMovementRequest.parse(data("movement/test")[0]).command, "wave");

  await ha.publishAsync("tars/ha/command/say", "   ", { qos: 1 });
  await ha.publishAsync("tars/ha/command/say", "Hello from the kitchen", { qos: 1 });
  await waitFor(() => data("tts/say").length === 1, "tts/say");
  assert.equal(TtsSay.parse(data("tts/say")[0]).text, "Hello from the kitchen");

  await ha.publishAsync("tars/ha/command/stop", "STOP", { qos: 1 });
  await waitFor(() => data("movement/stop").length === 1, "movement/stop");
  EmergencyStopCommand.parse(data("movement/stop")[0]);
  // A stop is never dropped for its payload: one over the row's 1 KiB limit still stops.
  await ha.publishAsync("tars/ha/command/stop", "x".repeat(4096), { qos: 1 });
  await waitFor(() => data("movement/stop").length === 2, "the oversized press stops too");

  await ha.publishAsync("tars/ha/command/live", "maybe", { qos: 1 });
  await ha.publishAsync("tars/ha/command/live", "OFF", { qos: 1 });
  await waitFor(() => data("router/live_mode/set").length === 1, "router/live_mode/set");
  assert.deepEqual(LiveModeCommand.parse(data("router/live_mode/set")[0]), { enabled: false });

  await ha.publishAsync("tars/ha/command/trait_humor", "101", { qos: 1 });
  await ha.publishAsync("tars/ha/command/trait_humor", "42.4", { qos: 1 });
  await waitFor(() => data("character/update").length === 1, "character/update");
  assert.deepEqual(
    { ...CharacterUpdate.parse(data("character/update")[0]), message_id: undefined },
    { section: "traits", trait: "humor", value: 42, message_id: undefined },
  );
  assert.equal(b.refused, 4);
  // Never a clear, whatever was pressed.
  assert.equal(seen.filter((m) => m.topic === "movement/clear").length, 0);

  // State the other way: transcript, reply, trait value and a camera image.
  await tars.publishEvent(topics.sttFinal, { text: "what time is it" });
  await tars.publishEvent(topics.llmResponse, { id: "rt-1", reply: "x".repeat(400) });
  const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
  await tars.publishEvent(topics.cameraFrame, {
    frame_data: btoa(String.fromCharCode(...jpeg)),
    width: 1,
    height: 1,
    frame_number: 1,
  });
  const latest = (topic: string) => haStates.findLast((m) => m.topic === topic)?.text;
  await waitFor(() => latest("tars/ha/state/transcript") === "what time is it", "transcript");
  await waitFor(() => latest("tars/ha/state/reply")?.length === 255, "reply clipped to 255");
  await waitFor(() => latest("tars/ha/state/trait_humor") === "75", "trait state");
  await waitFor(() => haStates.some((m) => m.topic === "tars/ha/camera"), "camera image");
  await tars.shutdown();
});

Deno.test("ha-bridge: the camera image is the frame's JPEG bytes, unencoded", async () => {
  await using broker = await startBroker();
  const tars = await seedTars(broker.url);
  await using ha = await rawClient(broker.url, "homeassistant-test");
  const images: Uint8Array[] = [];
  ha.on("message", (topic, payload) => {
    if (topic === "tars/ha/camera") images.push(new Uint8Array(payload));
  });
  await ha.subscribeAsync("tars/ha/camera", { qos: 0 });
  await using _b = await bridge(broker.url);
  const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x80, 0xfe, 0xff, 0xd9]);
  await tars.publishEvent(topics.cameraFrame, {
    frame_data: btoa(String.fromCharCode(...jpeg)),
    width: 1,
    height: 1,
    frame_number: 1,
  }, { qos: 1 });
  await waitFor(() => images.length > 0, "camera image");
  assert.deepEqual(images[0], jpeg);
  await tars.shutdown();
});

Deno.test("ha-bridge: a stop pressed in Home Assistant latches; its movement buttons stay refused", async () => {
  await using broker = await startBroker();
  await using ha = await rawClient(broker.url, "homeassistant-test");
  const movementClient = await connected(testClient(broker.url, { clientId: "tars-movement" }));
  const watcher = await connected(testClient(broker.url));
  const statuses: MovementStatusUpdate[] = [];
  await watcher.subscribe(topics.movementStatus, (status) => {
    statuses.push(status);
  });
  const movement = await startMovementService(
    { client: movementClient, logger: getLogger("movement-test") },
    { config: readMovementConfig({ MOVEMENT_MS_PER_TICK: "0" }), driver: new SimServoDriver() },
  );
  await using _b = await bridge(broker.url);
  try {
    await ha.publishAsync("tars/ha/command/stop", "PRESS", { qos: 1 });
    await waitFor(() => statuses.some((s) => s.event === "emergency_stop"), "emergency_stop");
    for (const command of ["wave", "reset"]) {
      await ha.publishAsync("tars/ha/command/move", command, { qos: 1 });
      await waitFor(
        () => statuses.some((s) => s.event === "command_failed" && s.command === command),
        `${command} refused while latched`,
      );
    }
    assert.ok(!statuses.some((s) => s.event === "command_started"), "a command ran");
  } finally {
    await movement.close();
    await watcher.shutdown();
    await movementClient.shutdown();
  }
});

Deno.test("ha-bridge: homeassistant/status online re-sends every config", async () => {
  await using broker = await startBroker();
  await using ha = await rawClient(broker.url, "homeassistant-test");
  const got = await collect(ha, DISCOVERY);
  await using b = await bridge(broker.url);
  await waitFor(() => configs(got).size === b.announced.length, "the first configs");
  const count = b.announced.length;
  got.length = 0;
  // "offline" (Home Assistant's last will) re-sends nothing; "online" (its birth) does.
  await ha.publishAsync("homeassistant/status", "offline", { qos: 1 });
  await ha.publishAsync("homeassistant/status", "online", { qos: 1 });
  await waitFor(() => got.length >= count, "every config again");
  assert.equal(got.length, count);
  assert.equal(configs(got).size, count);
  assert.ok(got.every((m) => !m.retain), "live re-sends, not the retained copies");
});

Deno.test("ha-bridge: HA_DISCOVERY=false removes every retained config of the tars node", async () => {
  await using broker = await startBroker();
  const tars = await seedTars(broker.url);
  await using ha = await rawClient(broker.url, "homeassistant-test");
  const got = await collect(ha, DISCOVERY);
  const on = await bridge(broker.url);
  await waitFor(
    () => configs(got).size === on.announced.length && on.announced.length > 6 + 15 + 2,
    "the configs, traits and connectivity sensors included",
  );
  const announced = [...configs(got).keys()];
  assert.ok(announced.some((t) => t.includes("/number/")), "dynamic configs too");
  await on[Symbol.asyncDispose]();

  await using _off = await bridge(broker.url, { HA_DISCOVERY: "false" });
  await waitFor(() => configs(got).size === 0, "every config removed (empty retained payload)");

  // A new subscriber gets no retained config: the marker, retained after them, is all it sees.
  await using late = await rawClient(broker.url, "homeassistant-late");
  const after = await collect(late, DISCOVERY);
  await tars.publishJson("homeassistant/zz/marker", { marker: true }, { retain: true, qos: 1 });
  const marker = await collect(late, "homeassistant/zz/marker");
  await waitFor(() => marker.length === 1, "the marker");
  assert.deepEqual(after, []);
  await tars.shutdown();
});

Deno.test({
  name: "ha-bridge with the shipped ACL: Home Assistant's login sees TARS as Home Assistant " +
    "subscribes (homeassistant/#) and drives it only through the bridge",
  ignore: brokerKind() !== "mosquitto",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tars-ha-acl-" });
    try {
      const passwd = join(dir, "tars.passwd");
      const envFiles = await makePasswords({ passwd, envDir: join(dir, "env"), broker: "HOST" });
      const acl = join(dir, "tars.acl");
      await Deno.writeTextFile(acl, renderAcl());
      for (const f of [passwd, acl]) await Deno.chmod(f, 0o644);
      await Deno.chmod(dir, 0o755);
      await using broker = await startBroker({
        extraConfig: ["allow_anonymous false", `password_file ${passwd}`, `acl_file ${acl}`],
      });
      const host = new URL(broker.url).host;
      const urlOf = (user: string) =>
        /^MQTT_URL=(.*)$/m.exec(Deno.readTextFileSync(envFiles.get(user)!))![1]
          .replace("HOST", host);

      await using monitor = await rawClient(urlOf("tars-monitor"), "tars-monitor");
      const seen = await collect(monitor, "movement/#");
      await using ha = await rawClient(urlOf("homeassistant"), "homeassistant");
      const got = await collect(ha, "homeassistant/#");
      await using b = await bridge(urlOf("ha-bridge"));
      await waitFor(() => configs(got).size === b.announced.length, "the configs");

      // Directly, Home Assistant's login cannot move or stop the robot...
      await ha.publishAsync("movement/test", JSON.stringify({ command: "wave" }), { qos: 1 });
      await ha.publishAsync("movement/stop", "{}", { qos: 1 });
      // ...through the bridge it can (the stop is the marker that the direct ones were refused).
      await ha.publishAsync("tars/ha/command/stop", "PRESS", { qos: 1 });
      await waitFor(() => seen.some((m) => m.topic === "movement/stop"), "the bridge's stop");
      assert.deepEqual(seen.map((m) => m.topic), ["movement/stop"]);
      assert.equal(Envelope.fromValue(JSON.parse(seen[0].text))?.source, "tars-ha-bridge");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("ha-bridge main.ts as a process: announces TARS; killed, its last will makes every entity unavailable", async () => {
  await using broker = await startBroker();
  await using ha = await rawClient(broker.url, "homeassistant-test");
  const got = await collect(ha, DISCOVERY);
  const health = await collect(ha, "system/health/tars-ha-bridge");
  const child = spawnService("ha-bridge", { MQTT_URL: broker.url });
  let killed = false;
  try {
    await waitFor(
      () => configs(got).has("homeassistant/switch/tars/live_mode/config"),
      "the configs",
      20_000,
    );
    // What every entity's availability template reads: data.ok of the bridge's health.
    const ok = () => {
      const last = health.at(-1);
      return last ? Envelope.fromValue(JSON.parse(last.text))?.data.ok : undefined;
    };
    await waitFor(() => ok() === true, "the bridge's health ok");
    const live = configs(got).get("homeassistant/switch/tars/live_mode/config")!;
    assert.deepEqual(live.availability, [{
      topic: "system/health/tars-ha-bridge",
      value_template: "{{ 'online' if value_json.data.ok else 'offline' }}",
    }]);
    child.kill("SIGKILL");
    killed = true;
    await child.status;
    await waitFor(() => ok() === false, "the bridge's last will: ok false");
    const will = Envelope.fromValue(JSON.parse(health.at(-1)!.text))!;
    assert.equal(will.data.event, "lost");
  } finally {
    if (!killed) await stopService(child);
    else await child.stderr.cancel();
  }
});
