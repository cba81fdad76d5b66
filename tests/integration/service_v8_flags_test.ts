/**
 * Every service runs with `SERVICE_V8_FLAGS` (ops/services.ts): a small young generation, which
 * keeps an idle service ~12 MiB smaller and shortens the collection pauses behind the QoS 1
 * latency tail (docs/performance.md, "QoS 1 tail and memory per service"). Each service's own
 * flags, as the launcher, the compiled binaries and tests/helpers/service_process.ts pass them,
 * run a script that makes V8 grow its young generation, and the heap V8 holds unused must stay
 * small.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { serviceNames } from "../../core/mod.ts";
import { SERVICE_V8_FLAGS, serviceTable } from "../../ops/services.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/v8/young_generation.ts", import.meta.url));

/** Unused heap (MiB) of the fixture run with `flags`. */
async function unusedHeapMiB(flags: readonly string[]): Promise<number> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, FIXTURE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(success, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout)).unusedMiB;
}

Deno.test("v8 flags: V8's defaults let the young generation grow (the fixture measures it)", async () => {
  assert.ok((await unusedHeapMiB([])) > 6);
});

Deno.test("v8 flags: every service runs with a 1 MiB semi-space", async () => {
  for (const name of serviceNames) {
    const flags = serviceTable[name].permissions;
    assert.deepEqual(flags.slice(0, SERVICE_V8_FLAGS.length), [...SERVICE_V8_FLAGS], name);
    const unused = await unusedHeapMiB(flags);
    assert.ok(unused < 4, `${name}: ${unused.toFixed(1)} MiB of unused heap`);
  }
});
