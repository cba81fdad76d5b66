/**
 * `deno task compile` says plainly what it made: single binaries where the Deno runtime download
 * (dl.deno.land) is reachable, else no binary, a message saying so and the bundle tree instead
 * (bundles, `bin/tars-<service>` launchers, deno.json, deno.lock). The launchers run each
 * bundle with exactly the service's permissions from `ops/services.ts`; `deno task test:arm64`
 * runs them on aarch64.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { launcherScript } from "../../ops/compile.ts";
import { existingServices } from "../../ops/services.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("compile: a binary where the runtime downloads, else the bundle tree and a plain message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tars-compile-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "ops/compile.ts",
        "router",
        "--target=x86_64-unknown-linux-gnu",
        `--out-dir=${dir}`,
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (out.success) {
      // a machine with internet access: a real single binary
      const binary = join(dir, "x86_64-unknown-linux-gnu", "tars-router");
      assert.ok((await Deno.stat(binary)).isFile, text);
      assert.match(text, /1 built, 0 failed/);
      return;
    }
    assert.match(text, /NO SINGLE BINARIES WERE BUILT/);
    assert.match(text, /dl\.deno\.land/);
    assert.match(text, /Produced instead: the bundle tree/);
    const tree = join(dir, "bundle");
    for (const file of ["deno.json", "deno.lock", "router/tars-router.js", "bin/tars-router"]) {
      assert.ok((await Deno.stat(join(tree, file))).isFile, `${file} missing:\n${text}`);
    }
    assert.equal((await Deno.stat(join(tree, "bin/tars-router"))).mode! & 0o111, 0o111);
    await assert.rejects(Deno.stat(join(dir, "x86_64-unknown-linux-gnu", "tars-router")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile --bundle: each launcher runs its bundle with the service's permissions", () => {
  for (const service of existingServices(ROOT)) {
    const script = launcherScript(service);
    assert.ok(script.startsWith("#!/bin/sh\n"));
    const exec = script.slice(script.indexOf("exec ")).replaceAll("\\\n", " ")
      .replace(/\s+/g, " ").trim();
    assert.equal(
      exec,
      `exec "\${TARS_DENO:-deno}" run --config "$root/deno.json" --cached-only --no-prompt ` +
        `${service.permissions.join(" ")} "$root/${service.name}/tars-${service.name}.js" "$@"`,
    );
  }
});
