/**
 * "Our defaults are py-tars'" only where it is true: every variable py-tars also had
 * (tests/fixtures/py_tars_env_defaults.json) whose py-tars default gives a different
 * configuration than ours, or is refused by our reader, has a row in docs/migration.md's
 * "Defaults that differ from py-tars" table, and so does every variable ops/robot.env sets to
 * something other than py-tars' default.
 */
import assert from "node:assert/strict";
import { MqttClientConfig, type ServiceName, serviceNames } from "../../core/mod.ts";
import { CORE_ENV_NAMES, type Env, SERVICE_ENV } from "../helpers/service_env.ts";

const PY_TARS = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/py_tars_env_defaults.json", import.meta.url)),
) as Partial<Record<"core" | ServiceName, Record<string, string>>>;

const MIGRATION = Deno.readTextFileSync(new URL("../../docs/migration.md", import.meta.url));

/** The variables named in the first column of the "Defaults that differ" table. */
function listedVariables(): Set<string> {
  const start = MIGRATION.indexOf("## Defaults that differ from py-tars");
  assert.ok(start >= 0, "docs/migration.md has no 'Defaults that differ from py-tars' section");
  const end = MIGRATION.indexOf("\n## ", start + 1);
  const section = MIGRATION.slice(start, end < 0 ? undefined : end);
  const listed = new Set<string>();
  for (const line of section.split("\n")) {
    if (!line.startsWith("|")) continue;
    const firstCell = line.split("|")[1] ?? "";
    for (const m of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) listed.add(m[1]);
  }
  return listed;
}

/** Whether `read` gives another result (or an error) for `variable=value` than for nothing. */
function differs(read: (env: Env) => unknown, variable: string, value: string): boolean {
  const ours = read({});
  try {
    assert.deepEqual(read({ [variable]: value }), ours);
    return false;
  } catch {
    return true;
  }
}

/** py-tars' defaults of a service; none for a service new in TARS-Deno (ha-bridge). */
function pyTarsOf(name: "core" | ServiceName): Record<string, string> {
  return PY_TARS[name] ?? {};
}

const readMqtt = (env: Env) => MqttClientConfig.fromEnv(env, { defaults: { clientId: "x" } });

/** Every variable whose py-tars default is not our default, with the service reading it. */
function differingDefaults(): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  for (const [variable, value] of Object.entries(pyTarsOf("core"))) {
    if (differs(readMqtt, variable, value)) found.push(["core", variable]);
  }
  for (const name of serviceNames) {
    for (const [variable, value] of Object.entries(pyTarsOf(name))) {
      if (differs(SERVICE_ENV[name].read, variable, value)) found.push([name, variable]);
    }
  }
  return found;
}

Deno.test("py-tars defaults: the fixture names only variables we read", () => {
  for (const variable of Object.keys(pyTarsOf("core"))) {
    assert.ok(CORE_ENV_NAMES.has(variable), `core: ${variable}`);
  }
  for (const name of serviceNames) {
    for (const variable of Object.keys(pyTarsOf(name))) {
      assert.ok(SERVICE_ENV[name].names.includes(variable), `${name}: ${variable} is not read`);
    }
  }
});

Deno.test("py-tars defaults: every default that differs is in docs/migration.md", () => {
  const listed = listedVariables();
  const differing = differingDefaults();
  // The comparison can see differences (a sanity check of the check itself).
  assert.ok(differing.some(([, v]) => v === "STT_BACKEND"), "whisper is not a backend here");
  const missing = differing.filter(([, variable]) => !listed.has(variable));
  assert.deepEqual(missing, [], "add these to docs/migration.md's table, with the reason");
});

Deno.test("py-tars defaults: every robot profile value that is not py-tars' is listed", () => {
  const listed = listedVariables();
  const profile = Deno.readTextFileSync(new URL("../../ops/robot.env", import.meta.url));
  for (const m of profile.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)) {
    const [, variable, value] = m;
    const pyTars = [pyTarsOf("core"), ...serviceNames.map((name) => pyTarsOf(name))]
      .find((vars) => variable in vars)?.[variable];
    if (pyTars === value) continue;
    assert.ok(listed.has(variable), `ops/robot.env: ${variable}=${value} is not in the table`);
  }
});
