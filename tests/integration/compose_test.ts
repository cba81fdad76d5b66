/**
 * ops/compose.yml: every service is there, runs its entrypoint with exactly the permissions of
 * ops/services.ts (the same as `deno task dev` and the compiled binaries), logs in with the env
 * file the setup command (`make_passwords.ts --compose`) writes for it, and every variable it
 * sets is one a service reads (documented in docs/configuration.md). Every service loads the
 * robot profile (ops/robot.env) first, so ../.env wins over it. The Mosquitto config it
 * mounts starts on the installed Mosquitto with the files compose mounts beside it (what that
 * config refuses is proven in mosquitto_security_test.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import mqtt from "mqtt";
import { serviceNames } from "../../core/mod.ts";
import { existingServices, serviceTable } from "../../ops/services.ts";
import { composeSetup, makePasswords } from "../../ops/mosquitto/make_passwords.ts";
import { brokerKind } from "../helpers/broker.ts";
import { startShippedMosquitto } from "../helpers/shipped_mosquitto.ts";

const OPS = new URL("../../ops/", import.meta.url);
const ROOT = new URL("../../", import.meta.url);

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  env_file?: Array<string | { path: string; required?: boolean }>;
  volumes?: string[];
  devices?: string[];
}

const SETUP = composeSetup(ROOT.pathname);
/** A path of the setup's output as compose.yml names it (relative to ops/). */
const fromOps = (path: string) => "./" + path.slice(OPS.pathname.length);

function compose(): { services: Record<string, ComposeService> } {
  return parse(Deno.readTextFileSync(new URL("compose.yml", OPS)), { merge: true });
}

Deno.test("compose: every service runs its entrypoint with its ops/services.ts permissions", () => {
  const { services } = compose();
  assert.deepEqual(
    Object.keys(services).sort(),
    [...serviceNames, "mosquitto"].sort(),
    "compose.yml must have mosquitto and exactly the services of ops/services.ts",
  );
  for (const name of serviceNames) {
    const spec = serviceTable[name];
    assert.deepEqual(services[name].command, ["run", ...spec.permissions, spec.entry], name);
  }
});

Deno.test("compose: each service logs in with the env file the setup command writes for it", async () => {
  const { services } = compose();
  const dir = await Deno.makeTempDir({ prefix: "tars-compose-setup-" });
  try {
    // The setup's own output, written to a temp dir: each service's file holds its login.
    const files = await makePasswords({ ...SETUP, passwd: join(dir, "p"), envDir: dir });
    for (const name of serviceNames) {
      const service = services[name];
      // Not from `environment:` (which would override the env file) but from the env file,
      // listed last so that ../.env cannot override it either.
      assert.equal(service.environment?.MQTT_URL, undefined, `${name} sets MQTT_URL itself`);
      const envFile = join(SETUP.envDir, `${name}.mqtt.env`);
      assert.equal(service.env_file?.at(-1), fromOps(envFile), name);
      const text = Deno.readTextFileSync(files.get(name)!);
      assert.match(text, new RegExp(`^MQTT_URL=mqtt://${name}:[^@]+@mosquitto:1883$`, "m"));
    }
    const volumes = services.mosquitto.volumes ?? [];
    assert.ok(volumes.includes(`${fromOps(SETUP.passwd)}:/mosquitto/config/tars.passwd:ro`));
    assert.ok(volumes.includes("./mosquitto/tars.acl:/mosquitto/config/tars.acl:ro"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compose: every service loads the robot profile, then ../.env, which wins", () => {
  const profile = Deno.readTextFileSync(new URL("robot.env", OPS));
  const profileVariables = [...profile.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
  assert.ok(profileVariables.length > 0);
  const { services } = compose();
  for (const name of serviceNames) {
    const files = services[name].env_file ?? [];
    // compose applies env files in order, a later one overriding an earlier one.
    assert.equal(files[0], "./robot.env", `${name}: the profile comes first`);
    assert.deepEqual(files[1], { path: "../.env", required: false }, `${name}: then ../.env`);
    // `environment:` overrides every env file: a profile variable there could not be changed
    // in .env (and the profile would live in two places).
    for (const variable of profileVariables) {
      assert.equal(
        services[name].environment?.[variable],
        undefined,
        `${name} sets ${variable} in environment:; it belongs in ops/robot.env`,
      );
    }
  }
});

Deno.test("compose: every variable set is documented in docs/configuration.md", () => {
  const doc = Deno.readTextFileSync(new URL("../docs/configuration.md", OPS));
  const built = new Set(existingServices(ROOT.pathname).map((s) => s.name as string));
  for (const [name, service] of Object.entries(compose().services)) {
    if (name !== "mosquitto" && !built.has(name)) continue; // its README (and docs) come with it
    for (const variable of Object.keys(service.environment ?? {})) {
      assert.ok(doc.includes(`\`${variable}\``), `${name}: ${variable} is not a known variable`);
    }
  }
});

Deno.test("compose: the Mosquitto config and every mounted file exist", () => {
  for (const [name, service] of Object.entries(compose().services)) {
    for (const volume of service.volumes ?? []) {
      const source = volume.split(":")[0];
      if (!source.startsWith(".")) continue; // a named volume
      if (source === fromOps(SETUP.passwd)) continue; // made by the setup command
      assert.ok(Deno.statSync(new URL(source, OPS)).isFile, `${name}: ${source} is missing`);
    }
  }
});

Deno.test({
  name: "compose: mosquitto.compose.conf starts on the installed Mosquitto; services log in",
  ignore: brokerKind() !== "mosquitto",
  async fn() {
    await using broker = await startShippedMosquitto("mosquitto.compose.conf");
    const router = await mqtt.connectAsync(broker.url, {
      reconnectPeriod: 0,
      clientId: serviceTable.router.clientId,
      ...broker.login("router"),
    });
    await router.endAsync();
  },
});
