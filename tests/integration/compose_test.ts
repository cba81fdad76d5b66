/**
 * ops/compose.yml: every service is there, runs its entrypoint with exactly the permissions of
 * ops/services.ts (the same as `deno task dev` and the compiled binaries), and every variable
 * it sets is one a service reads (documented in docs/configuration.md). The Mosquitto config it
 * mounts starts on the installed Mosquitto.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { existingServices, serviceNames, serviceTable } from "../../ops/services.ts";
import { brokerKind, freePort } from "../helpers/broker.ts";

const OPS = new URL("../../ops/", import.meta.url);
const ROOT = new URL("../../", import.meta.url);

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  devices?: string[];
}

function compose(): { services: Record<string, ComposeService> } {
  return parse(Deno.readTextFileSync(new URL("compose.yml", OPS)), { merge: true });
}

Deno.test("compose: every service runs its entrypoint with its ops/services.ts permissions", () => {
  const { services } = compose();
  assert.deepEqual(
    Object.keys(services).sort(),
    [...serviceNames, "mosquitto"].sort(),
    "compose.yml must have mosquitto and exactly the nine services",
  );
  for (const name of serviceNames) {
    const spec = serviceTable[name];
    assert.deepEqual(services[name].command, ["run", ...spec.permissions, spec.entry], name);
    assert.equal(services[name].environment?.MQTT_URL, "mqtt://mosquitto:1883", name);
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
      assert.ok(Deno.statSync(new URL(source, OPS)).isFile, `${name}: ${source} is missing`);
    }
  }
});

Deno.test({
  name: "compose: mosquitto.compose.conf starts on the installed Mosquitto",
  ignore: brokerKind() !== "mosquitto",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tars-compose-conf-" });
    try {
      await Deno.chmod(dir, 0o777); // mosquitto started as root drops to its own user
      const port = freePort();
      const conf = Deno.readTextFileSync(new URL("mosquitto/mosquitto.compose.conf", OPS))
        .replace(/^listener 1883$/m, `listener ${port} 127.0.0.1`)
        .replace(/^persistence_location .*$/m, `persistence_location ${dir}/`);
      assert.ok(conf.includes(`listener ${port} 127.0.0.1`), "the listener line changed");
      const path = join(dir, "mosquitto.conf");
      await Deno.writeTextFile(path, conf);
      await Deno.chmod(path, 0o644);
      const child = new Deno.Command("mosquitto", {
        args: ["-c", path],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      try {
        let conn: Deno.Conn | null = null;
        const deadline = Date.now() + 10_000;
        while (!conn) {
          try {
            conn = await Deno.connect({ hostname: "127.0.0.1", port });
          } catch {
            if (Date.now() > deadline) throw new Error("mosquitto did not start");
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        conn.close();
      } finally {
        child.kill("SIGTERM");
        await child.output();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
