/**
 * ops/systemd: `systemd-analyze verify` accepts the template unit (instantiated for every
 * service, with each device drop-in applied) and the target, with no warning at all; the unit
 * loads the robot profile before the service's own settings, and deploy.md installs it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { serviceNames } from "../../core/mod.ts";

const SYSTEMD_DIR = new URL("../../ops/systemd/", import.meta.url);

function hasSystemdAnalyze(): boolean {
  try {
    return new Deno.Command("systemd-analyze", { args: ["--version"], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test("systemd: every drop-in belongs to a service", () => {
  for (const entry of Deno.readDirSync(SYSTEMD_DIR)) {
    const m = /^tars@(.+)\.service\.d$/.exec(entry.name);
    if (!m) continue;
    assert.ok((serviceNames as readonly string[]).includes(m[1]), `${entry.name}: no such service`);
  }
});

Deno.test("systemd: the robot profile is loaded first, so the service's own files win", async () => {
  const unit = await Deno.readTextFile(new URL("tars@.service", SYSTEMD_DIR));
  // systemd reads EnvironmentFile= lines in order and a later file overrides an earlier one.
  const files = [...unit.matchAll(/^EnvironmentFile=(.*)$/gm)].map((m) => m[1]);
  assert.deepEqual(files, [
    "-/etc/tars/robot.env", // optional: without it the services' defaults apply
    "-/etc/tars/%i.env",
    "/etc/tars/%i.mqtt.env",
  ]);
  // Drop-ins must not load another profile or replace the list.
  for (const name of serviceNames) {
    const dropIn = new URL(`tars@${name}.service.d/devices.conf`, SYSTEMD_DIR);
    const text = await Deno.readTextFile(dropIn).catch(() => "");
    assert.doesNotMatch(text, /^EnvironmentFile=/m, `${name}: drop-in sets EnvironmentFile`);
  }
  const deploy = await Deno.readTextFile(new URL("../../docs/deploy.md", import.meta.url));
  assert.match(
    deploy,
    /cp ops\/robot\.env \/etc\/tars\/robot\.env/,
    "deploy.md installs the profile",
  );
});

Deno.test({
  name: "systemd: units verify cleanly for every service (systemd-analyze verify)",
  ignore: !hasSystemdAnalyze(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tars-systemd-" });
    try {
      const template = await Deno.readTextFile(new URL("tars@.service", SYSTEMD_DIR));
      // verify checks that ExecStart exists: point it at a real executable.
      const exe = join(dir, "tars-bin");
      await Deno.writeTextFile(exe, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      const units: string[] = [];
      for (const name of serviceNames) {
        let text = template.replaceAll("/opt/tars/bin/tars-%i", exe);
        const dropIn = new URL(`tars@${name}.service.d/devices.conf`, SYSTEMD_DIR);
        try {
          // A drop-in's lines override the template's: append its sections to one file.
          text += "\n" + await Deno.readTextFile(dropIn);
        } catch (err) {
          if (!(err instanceof Deno.errors.NotFound)) throw err;
        }
        const unit = join(dir, `tars@${name}.service`);
        await Deno.writeTextFile(unit, text);
        units.push(unit);
      }
      const target = join(dir, "tars.target");
      await Deno.copyFile(new URL("tars.target", SYSTEMD_DIR), target);
      const out = await new Deno.Command("systemd-analyze", {
        args: ["verify", "--man=no", ...units, target],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      // Only complaints about our files count (the host's own units may have warnings).
      const ours = text.split("\n").filter((l) => l.includes(dir));
      assert.deepEqual(ours, [], text);
      assert.ok(out.success, text);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
