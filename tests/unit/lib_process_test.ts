/**
 * lib/process: a program that cannot run gives one error that says how to install it (or to
 * restart when the permission was fixed before it was installed); one that runs is spawned.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  spawnTool,
  toolMissingMessage,
  toolProblem,
  type ToolSpec,
  ToolUnavailableError,
} from "../../lib/process/mod.ts";

const FFMPEG: ToolSpec = {
  tool: "ffmpeg",
  bin: "/nonexistent/ffmpeg",
  aptPackage: "ffmpeg",
  envVar: "CAMERA_FFMPEG",
  service: "camera-service",
};

Deno.test("lib process: the missing-tool message names the package, the variable, the restart", () => {
  assert.equal(
    toolMissingMessage(FFMPEG),
    "/nonexistent/ffmpeg not found: install ffmpeg (sudo apt-get install -y ffmpeg) or set " +
      "CAMERA_FFMPEG, then restart camera-service",
  );
  assert.equal(
    toolMissingMessage({ ...FFMPEG, showBin: true, consequence: "no picture" }),
    "ffmpeg not found (/nonexistent/ffmpeg): install ffmpeg (sudo apt-get install -y ffmpeg) " +
      "or set CAMERA_FFMPEG, then restart camera-service; no picture",
  );
  assert.equal(
    toolMissingMessage({
      tool: "arecord",
      aptPackage: "alsa-utils",
      alternative: "choose AUDIO_SOURCE=mqtt or file",
    }),
    "arecord not found: install alsa-utils (sudo apt-get install -y alsa-utils) or choose " +
      "AUDIO_SOURCE=mqtt or file",
  );
});

Deno.test("lib process: spawnTool of a missing program throws ToolUnavailableError", () => {
  assert.throws(() => spawnTool(FFMPEG, { args: ["-version"] }), (e: unknown) => {
    assert.ok(e instanceof ToolUnavailableError);
    assert.equal(e.reason, "missing");
    assert.equal(e.bin, "/nonexistent/ffmpeg");
    assert.equal(e.message, toolMissingMessage(FFMPEG));
    assert.ok(e.cause instanceof Deno.errors.NotFound);
    return true;
  });
});

Deno.test("lib process: a file that is not executable is 'Cannot run' with the advice", async () => {
  const file = await Deno.makeTempFile();
  try {
    assert.throws(
      () => spawnTool({ ...FFMPEG, bin: file }),
      new RegExp(`^Error: Cannot run ${file}: .*; install ffmpeg \\(sudo apt-get install`),
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("lib process: spawnTool runs a program that is there", async () => {
  const child = spawnTool({ tool: "deno", bin: Deno.execPath(), aptPackage: "deno" }, {
    args: ["--version"],
    stdout: "piped",
  });
  const { success, stdout } = await child.output();
  assert.ok(success);
  assert.match(new TextDecoder().decode(stdout), /^deno \d/);
});

Deno.test("lib process: toolProblem is null when it runs, else says why with the fix", async () => {
  assert.equal(await toolProblem({ tool: "deno", bin: Deno.execPath(), aptPackage: "deno" }), null);
  assert.equal(await toolProblem(FFMPEG), toolMissingMessage(FFMPEG));
  assert.equal(
    await toolProblem({ tool: "deno", bin: Deno.execPath(), aptPackage: "deno" }, ["--no-such"]),
    `${Deno.execPath()} --no-such failed: check the deno installation`,
  );
});

Deno.test("lib process: a program outside --allow-run says to restart the service", async () => {
  const mod = fileURLToPath(new URL("../../lib/process/mod.ts", import.meta.url));
  const script = `import { spawnTool } from ${JSON.stringify(mod)};
try {
  spawnTool({ tool: "ffmpeg", bin: "sh", aptPackage: "ffmpeg", envVar: "CAMERA_FFMPEG", service: "camera-service" });
} catch (error) {
  console.log(JSON.stringify({ name: error.name, reason: error.reason, message: error.message }));
}`;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, script);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--allow-read", "--allow-run=true", file],
    stdout: "piped",
    stderr: "piped",
  }).output().finally(() => Deno.remove(file));
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const result = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(result.name, "ToolUnavailableError");
  assert.equal(result.reason, "not-permitted");
  assert.equal(
    result.message,
    "camera-service may not run sh: its --allow-run permission was fixed when it started " +
      "(before ffmpeg was installed, or for another CAMERA_FFMPEG); restart camera-service " +
      "(deno task dev: Ctrl-C, then start it again)",
  );
});
