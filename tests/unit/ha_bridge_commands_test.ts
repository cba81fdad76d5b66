/**
 * ha-bridge: Home Assistant's plain-text commands become TARS contracts or are refused, and
 * the readers of the bridge's configuration.
 */
import assert from "node:assert/strict";
import { ConfigError, HaDiscoveryConfig } from "../../core/mod.ts";
import { parseLive, parseMove, parseSay, parseTrait } from "../../services/ha-bridge/commands.ts";
import { readHaBridgeConfig } from "../../services/ha-bridge/config.ts";
import {
  type EntityTopics,
  serviceEntity,
  slug,
  staticEntities,
  traitEntityItem,
} from "../../services/ha-bridge/entities.ts";

const text = (value: string) => new TextEncoder().encode(value);

Deno.test("ha-bridge commands: say is 1..255 characters of UTF-8, control characters dropped", () => {
  assert.deepEqual(parseSay(text("  Hello\nthere ")), { ok: true, value: { text: "Hello there" } });
  assert.equal(parseSay(text(" \t ")).ok, false);
  assert.equal(parseSay(text("a".repeat(256))).ok, false);
  assert.equal(parseSay(text("a".repeat(255))).ok, true);
  assert.equal(parseSay(new Uint8Array([0xff, 0xfe])).ok, false);
});

Deno.test("ha-bridge commands: move accepts only the buttons' commands (no stop, disable, raw joints)", () => {
  assert.deepEqual(parseMove(text("wave")), { ok: true, value: { command: "wave" } });
  for (const refused of ["stop", "disable", "move_legs", "move_arm", "fly", "", "WAVE"]) {
    assert.equal(parseMove(text(refused)).ok, false, refused);
  }
});

Deno.test("ha-bridge commands: live is ON or OFF; a trait is a number 0..100, rounded", () => {
  assert.deepEqual(parseLive(text("ON")), { ok: true, value: { enabled: true } });
  assert.deepEqual(parseLive(text("off")), { ok: true, value: { enabled: false } });
  assert.equal(parseLive(text("1")).ok, false);
  assert.deepEqual(parseTrait("humor", text("42.6")), {
    ok: true,
    value: { trait: "humor", value: 43 },
  });
  for (const refused of ["", "-1", "100.5", "NaN", "1e3", "fifty"]) {
    assert.equal(parseTrait("humor", text(refused)).ok, false, refused);
  }
});

Deno.test("ha-bridge config: HA_DISCOVERY on by default, camera interval bounded", () => {
  assert.deepEqual(readHaBridgeConfig({}), { discovery: true, cameraIntervalMs: 5_000 });
  assert.deepEqual(readHaBridgeConfig({ HA_DISCOVERY: "false", HA_CAMERA_INTERVAL_MS: "0" }), {
    discovery: false,
    cameraIntervalMs: 0,
  });
  assert.throws(() => readHaBridgeConfig({ HA_DISCOVERY: "maybe" }), ConfigError);
  assert.throws(() => readHaBridgeConfig({ HA_CAMERA_INTERVAL_MS: "-1" }), ConfigError);
});

const AT: EntityTopics = {
  bridgeHealth: "system/health/tars-ha-bridge",
  state: (entity) => `tars/ha/state/${entity}`,
  command: (entity) => `tars/ha/command/${entity}`,
  camera: "tars/ha/camera",
};

Deno.test("ha-bridge entities: every config passes the contract schema; ids are slugs", () => {
  const items = [
    ...staticEntities(AT, true),
    serviceEntity(AT, "tars-router"),
    traitEntityItem(AT, "Sense of Humor"),
  ];
  for (const item of items) {
    HaDiscoveryConfig.parse(item.config);
    assert.match(item.objectId, /^[a-z0-9_]+$/);
    assert.equal(item.config.unique_id, `tars_${item.objectId}`);
  }
  assert.equal(traitEntityItem(AT, "Sense of Humor").objectId, "trait_sense_of_humor");
  assert.equal(slug("../+#"), "");
  assert.ok(!staticEntities(AT, false).some((i) => i.component === "image"));
});
