/**
 * The single-binary path, as far as this machine can go: `deno compile` needs the Deno runtime
 * from dl.deno.land (unreachable here), so `deno task compile --dry-run` is checked for the
 * right commands, and `deno task compile --bundle` builds every service into one JS file that is
 * then run with the service's own permissions against a real broker: it must come up (health
 * `ready` on its client id) and stop cleanly on SIGTERM (exit 0, health `shutdown`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { COMPILE_TARGETS } from "../../ops/compile.ts";
import { type ServiceName } from "../../core/mod.ts";
import { existingServices } from "../../ops/services.ts";
import { startBroker } from "../helpers/broker.ts";
import { rawClient, waitFor } from "../helpers/wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const services = existingServices(ROOT);

async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, text);
  return text;
}

Deno.test("compile: --dry-run builds every service for both targets with its permissions", async () => {
  const lines = (await run(["run", "-A", "ops/compile.ts", "--dry-run"])).split("\n")
    .filter((l) => l.startsWith("deno compile"));
  assert.equal(lines.length, services.length * COMPILE_TARGETS.length);
  for (const target of COMPILE_TARGETS) {
    for (const s of services) {
      const includes = (s.include ?? []).flatMap((p) => ["--include", p]);
      const expected = [
        "deno compile --target",
        target,
        ...s.permissions,
        ...includes,
        "--output",
        join("dist", target, `tars-${s.name}`),
        s.entry,
      ].join(" ");
      assert.ok(lines.includes(expected), `missing: ${expected}\n${lines.join("\n")}`);
    }
  }
});

/** Settings that keep a service off fixed ports and real hardware in the test. */
function testEnv(name: ServiceName, dir: string): Record<string, string> {
  const env: Partial<Record<ServiceName, Record<string, string>>> = {
    "camera-service": { CAMERA_HTTP_PORT: "0", CAMERA_HTTP_HOST: "127.0.0.1" },
    "ui-web": { UI_PORT: "0" },
    "memory-worker": { MEMORY_DIR: join(dir, "memory") },
    "tts-worker": { TTS_SINK: "mqtt", TTS_PROVIDER: "espeak" },
    // A transcription and an LLM server are named (not reached at start): without one, health
    // says "not configured" instead of ready.
    "stt-worker": { AUDIO_SOURCE: "mqtt", STT_BASE_URL: "http://127.0.0.1:9/v1" },
    "llm-worker": { LLM_BASE_URL: "http://127.0.0.1:9/v1" },
    "movement-service": { MOVEMENT_DRIVER: "sim" },
  };
  return env[name] ?? {};
}

Deno.test({
  name: "compile --bundle: every service's bundle starts against a broker and stops on SIGTERM",
  sanitizeResources: false, // the bundled children's pipes are read to the end below
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tars-bundle-" });
    try {
      const built = await run(["run", "-A", "ops/compile.ts", "--bundle", `--out-dir=${dir}`]);
      assert.match(built, new RegExp(`${services.length} built, 0 failed`));
      await using broker = await startBroker();
      await using watcher = await rawClient(broker.url, "bundle-watcher");
      const health = new Map<string, string>();
      watcher.on("message", (topic, payload) => {
        const event = JSON.parse(payload.toString()).data?.event;
        health.set(topic.split("/")[2], event);
      });
      await watcher.subscribeAsync("system/health/+", { qos: 1 });
      for (const s of services) {
        const bundle = join(dir, "bundle", s.name, `tars-${s.name}.js`);
        // By hand, not spawnService: this runs the bundle, not services/<name>/main.ts (with the
        // same ops permissions, s.permissions).
        const child = new Deno.Command(Deno.execPath(), {
          // --config: a bundle with external npm packages (native addons) resolves them through
          // the project's import map and node_modules.
          args: ["run", "--config", join(ROOT, "deno.json"), ...s.permissions, bundle],
          cwd: ROOT,
          env: { MQTT_URL: broker.url, LOG_LEVEL: "warning", ...testEnv(s.name, dir) },
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const output = child.output();
        try {
          await waitFor(() => health.get(s.clientId) === "ready", `${s.name} bundle ready`, 30_000);
        } catch (err) {
          child.kill("SIGKILL");
          const out = await output;
          throw new Error(`${err}\n${new TextDecoder().decode(out.stderr)}`);
        }
        child.kill("SIGTERM");
        const status = await output;
        assert.equal(status.code, 0, `${s.name}: ${new TextDecoder().decode(status.stderr)}`);
        await waitFor(() => health.get(s.clientId) === "shutdown", `${s.name} shutdown`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
