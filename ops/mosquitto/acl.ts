/**
 * The Mosquitto ACL of TARS, generated from the contract topic table: each service's user may
 * publish (`write`) exactly the topics whose row lists it as a publisher and subscribe (`read`)
 * exactly those that list it as a subscriber. `deno task docs` writes it to
 * `ops/mosquitto/tars.acl`; `tests/integration/mosquitto_acl_test.ts` checks the committed file
 * is fresh and proves the rules on a real Mosquitto.
 *
 * Rules of the generation:
 * - One MQTT user per program, named like its folder (`router`, `tts-worker`, ...; `esp32` for
 *   the ESP32 movement firmware).
 * - `{client_id}` in a topic the program publishes becomes its default client id from the
 *   service catalog, `core/service/catalog.ts` (`system/health/tars-router`): a service may
 *   only speak for itself. A service started with another `MQTT_CLIENT_ID` must get its ACL
 *   lines changed to match.
 * - Any other `{param}` of a topic the program publishes becomes the value it writes there,
 *   from {@linkcode WRITER_PARAMS} (`audio/pcm/ui-web` for ui-web, `audio/pcm/stt` for
 *   stt-worker): a writer may only speak as its own `{source}`. A row with a parameter a
 *   writer has no value for stops the generation (add the value, or the ACL would allow `+`).
 * - Every parameter of a topic the program subscribes to becomes `+` (`audio/pcm/+`).
 * - A publisher of `*` is every service (not `esp32` nor `homeassistant`, which have no health).
 * - `homeassistant` is the login of a Home Assistant instance: it may only publish its status
 *   and the ha-bridge's command topics and read what the bridge announces (docs/home-assistant.md).
 * - A {@linkcode WRITER_PARAMS} value of `+` is a deliberate wildcard, allowed only where the
 *   rest of the topic confines it ({@linkcode WILDCARD_WRITES} lists them; the ACL test checks).
 * - The user `tars-monitor` may read everything (for `mosquitto_sub` while debugging) and
 *   publish nothing.
 *
 * @module
 */
import { topicList, type TopicSpec } from "../../core/contracts/mod.ts";
import { serviceCatalog, serviceNames } from "../../core/service/catalog.ts";

/** An MQTT user of the ACL: a service, the ESP32 firmware, or the read-only monitor. */
export type AclUser = (typeof serviceNames)[number] | "esp32" | "homeassistant";

/** The MQTT users that are not TARS services (no health, no client id of ours). */
const EXTERNAL_USERS: readonly AclUser[] = ["esp32", "homeassistant"];

/** The read-only user for debugging. */
export const MONITOR_USER = "tars-monitor";

/** Every user that gets a password: the services, `esp32`, `homeassistant` and the monitor. */
export const ACL_USERS: readonly string[] = [
  ...serviceNames,
  "esp32",
  "homeassistant",
  MONITOR_USER,
];

/** Where `deno task docs` writes the ACL, relative to this module. */
export const ACL_FILE = new URL("./tars.acl", import.meta.url);

/**
 * The value each writer puts in a topic parameter other than `{client_id}`, i.e. the only
 * value the ACL lets it publish with. These are the services' defaults
 * (`tests/integration/mosquitto_acl_test.ts` checks them): stt-worker publishes the
 * microphone on `audio/pcm/<AUDIO_SOURCE_NAME>` (default `stt`), ui-web the browser's on
 * `audio/pcm/ui-web`. A service configured otherwise needs its ACL line changed to match.
 */
export const WRITER_PARAMS: Readonly<Partial<Record<AclUser, Readonly<Record<string, string>>>>> = {
  "stt-worker": { source: "stt" },
  "ui-web": { source: "ui-web" },
  // Every entity's discovery config and state, confined to the `tars` node id and to
  // `tars/ha/state/`: the bridge announces a varying set of entities (one per service, per trait).
  "ha-bridge": { component: "+", object_id: "+", entity: "+" },
  // Home Assistant's commands, confined to `tars/ha/command/`: the bridge validates each one.
  "homeassistant": { entity: "+" },
};

/**
 * The only write filters with a wildcard in the ACL, and who has them: each confined by the
 * literal levels around it (the `tars` node id, `tars/ha/...`).
 */
export const WILDCARD_WRITES: Readonly<Partial<Record<AclUser, readonly string[]>>> = {
  "ha-bridge": ["homeassistant/+/tars/+/config", "tars/ha/state/+"],
  "homeassistant": ["tars/ha/command/+"],
};

/** One permission line: `read`, `write` or `readwrite` on a concrete topic filter. */
export interface AclRule {
  /** Mosquitto access: `read` = subscribe/receive, `write` = publish. */
  readonly access: "read" | "write" | "readwrite";
  /** Topic filter (`+` for parameters). */
  readonly topic: string;
}

function involves(list: readonly string[], user: AclUser): boolean {
  return list.includes(user) || (list.includes("*") && !EXTERNAL_USERS.includes(user));
}

function filterFor(spec: TopicSpec, user: AclUser, forWrite: boolean): string {
  return spec.topic.replace(/\{([a-z_]+)\}/g, (_m, name: string) => {
    if (!forWrite) return "+";
    if (name === "client_id" && user !== "esp32" && user !== "homeassistant") {
      return serviceCatalog[user].clientId;
    }
    const value = WRITER_PARAMS[user]?.[name];
    if (value === undefined) {
      throw new Error(
        `Cannot generate the ACL: ${user} publishes ${spec.topic} but WRITER_PARAMS in ` +
          `ops/mosquitto/acl.ts has no {${name}} for it. Add the value it publishes with.`,
      );
    }
    return value;
  });
}

/** The rules of one user, in topic-table order (read and write merged per filter). */
export function aclRules(user: AclUser): AclRule[] {
  const access = new Map<string, Set<"read" | "write">>();
  const add = (topic: string, kind: "read" | "write") => {
    const set = access.get(topic) ?? new Set();
    set.add(kind);
    access.set(topic, set);
  };
  for (const spec of topicList) {
    if (involves(spec.publishers, user)) add(filterFor(spec, user, true), "write");
    if (involves(spec.subscribers, user)) add(filterFor(spec, user, false), "read");
  }
  return [...access].map(([topic, kinds]) => ({
    access: kinds.size === 2 ? "readwrite" : kinds.has("read") ? "read" : "write",
    topic,
  }));
}

/** The whole ACL file. Deterministic; ends with a newline. */
export function renderAcl(): string {
  const lines = [
    "# Mosquitto ACL of TARS. GENERATED from core/contracts/topics.ts by `deno task docs`:",
    "# do not edit; change the topic table and regenerate.",
    "#",
    "# Each user may publish (write) and subscribe (read) only what the table says. Install as",
    "# /etc/mosquitto/tars.acl with `acl_file` in mosquitto.conf; passwords come from",
    "# ops/mosquitto/make_passwords.ts. Health topics are pinned to each service's default",
    "# client id (core/service/catalog.ts), audio/pcm/{source} to the writer's own source",
    "# (WRITER_PARAMS in ops/mosquitto/acl.ts).",
    "",
  ];
  for (const user of [...serviceNames, "esp32", "homeassistant"] as const) {
    const what = user === "esp32"
      ? "the ESP32 movement firmware"
      : user === "homeassistant"
      ? "Home Assistant's MQTT integration (docs/home-assistant.md)"
      : serviceCatalog[user].description;
    lines.push(`# ${user}: ${what}`, `user ${user}`);
    for (const rule of aclRules(user)) lines.push(`topic ${rule.access} ${rule.topic}`);
    lines.push("");
  }
  lines.push(
    "# read-only view of everything, for debugging",
    `user ${MONITOR_USER}`,
    "topic read #",
  );
  return lines.join("\n") + "\n";
}

if (import.meta.main) {
  await Deno.writeTextFile(ACL_FILE, renderAcl());
  console.log(`wrote ${ACL_FILE.pathname}`);
}
