import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runDevStack } from "../../ops/dev.ts";
import { serviceTable, serviceUrl } from "../../ops/services.ts";
import { freePort, startBroker } from "../helpers/broker.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * A fake service with no imports: connects to MQTT_URL, sends an MQTT 3.1.1 CONNECT by hand
 * and prints the CONNACK bytes (32,2,0,0 = accepted), then idles until SIGTERM.
 */
function fakeService(name: string, onTerm: "exit" | "ignore" = "exit"): string {
  return `
const url = new URL(Deno.env.get("MQTT_URL") ?? "");
const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
const enc = new TextEncoder();
const str = (s: string) => {
  const b = enc.encode(s);
  return [b.length >> 8, b.length & 255, ...b];
};
const body = [...str("MQTT"), 4, 2, 0, 60, ...str("fake-${name}")];
await conn.write(new Uint8Array([0x10, body.length, ...body]));
const ack = new Uint8Array(4);
let got = 0;
while (got < 4) {
  const n = await conn.read(ack.subarray(got));
  if (n === null) break;
  got += n;
}
console.log(\`connack \${[...ack].join(",")} via \${url}\`);
console.error("a line on stderr");
Deno.addSignalListener("SIGTERM", () => {
  ${onTerm === "exit" ? 'console.log("got SIGTERM"); conn.close(); Deno.exit(0);' : ""}
});
setInterval(() => {}, 1_000);
`;
}

async function servicesDir(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tars-dev-test-" });
  for (const [name, code] of Object.entries(files)) {
    await Deno.mkdir(join(dir, name));
    await Deno.writeTextFile(join(dir, name, "main.ts"), code);
  }
  return dir;
}

async function waitForLine(
  lines: string[],
  pattern: RegExp,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!lines.some((l) => pattern.test(l))) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; output so far:\n${lines.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function portIsFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("dev launcher: services get MQTT_URL, lines are prefixed, abort stops all", async () => {
  const dir = await servicesDir({
    router: fakeService("router"),
    "tts-worker": fakeService("tts"),
  });
  const port = freePort();
  const lines: string[] = [];
  const controller = new AbortController();
  const stack = runDevStack({
    root: ROOT,
    servicesDir: dir,
    env: { TARS_DEV_BROKER_PORT: String(port) },
    signal: controller.signal,
    out: (line) => lines.push(line),
  });
  try {
    const url = `mqtt://127.0.0.1:${port}`;
    // width = "tts-worker".length; the broker accepted both hand-made CONNECTs
    await waitForLine(lines, new RegExp(`^router     \\| connack 32,2,0,0 via ${url}$`), "router");
    await waitForLine(lines, new RegExp(`^tts-worker \\| connack 32,2,0,0 via ${url}$`), "tts");
    await waitForLine(lines, /^router {5}\| a line on stderr$/, "router's stderr");
    assert.ok(lines.includes(`dev        | embedded MQTT broker (aedes, MQTT 3.1.1) at ${url}`));
    assert.equal(portIsFree(port), false, "the broker listens while the stack runs");

    const t0 = Date.now();
    controller.abort();
    await stack;
    const took = Date.now() - t0;
    assert.ok(took < 5_000, `stopped in ${took} ms`);
    assert.ok(lines.includes("router     | got SIGTERM"), lines.join("\n"));
    assert.ok(lines.includes("router     | exited with code 0"), lines.join("\n"));
    assert.ok(lines.includes("tts-worker | exited with code 0"), lines.join("\n"));
    assert.ok(portIsFree(port), "the broker port is free again");
  } finally {
    controller.abort();
    await stack.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dev launcher: restarts a crash with backoff, not a config error; SIGKILLs a service that ignores SIGTERM", async () => {
  const dir = await servicesDir({
    router: fakeService("router", "ignore"),
    "ui-web": 'console.log("boom"); Deno.exit(3);',
    "tts-worker": 'console.error("TTS_PROVIDER=nope: expected espeak or piper"); Deno.exit(78);',
  });
  const lines: string[] = [];
  const controller = new AbortController();
  const stack = runDevStack({
    root: ROOT,
    servicesDir: dir,
    env: { TARS_DEV_BROKER_PORT: String(freePort()) },
    signal: controller.signal,
    out: (line) => lines.push(line),
    stopTimeoutMs: 300,
    restartDelayMs: { min: 100, max: 400 },
  });
  try {
    await waitForLine(lines, /^ui-web {5}\| restarting in 0\.4 s$/, "the backoff reaching its cap");
    const uiLines = lines.filter((l) => l.startsWith("ui-web "));
    const delays = uiLines.filter((l) => l.includes("restarting in")).map((l) => l.split("in ")[1]);
    assert.deepEqual(delays.slice(0, 3), ["0.1 s", "0.2 s", "0.4 s"]);
    assert.ok(uiLines.filter((l) => l.endsWith("| boom")).length >= 3, uiLines.join("\n"));
    assert.ok(uiLines.includes("ui-web     | exited with code 3"));
    await waitForLine(
      lines,
      /^tts-worker \| configuration error: fix the variables named above/,
      "78",
    );
    assert.equal(lines.filter((l) => l.startsWith("tts-worker | started")).length, 1);
    await waitForLine(lines, /^router {5}\| connack 32,2,0,0/, "router up");
    assert.ok(lines.includes("dev        | ui-web: http://127.0.0.1:5010"), lines.join("\n"));
    controller.abort();
    await stack;
    assert.ok(lines.includes("dev        | router still running 300 ms after SIGTERM: SIGKILL"));
    assert.ok(lines.includes("router     | exited (killed by SIGKILL)"), lines.join("\n"));
  } finally {
    controller.abort();
    await stack.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dev launcher: no services yet keeps the broker up until abort", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tars-dev-test-" });
  const port = freePort();
  const lines: string[] = [];
  const controller = new AbortController();
  const stack = runDevStack({
    root: ROOT,
    servicesDir: dir,
    env: { TARS_DEV_BROKER_PORT: String(port) },
    signal: controller.signal,
    out: (line) => lines.push(line),
  });
  try {
    await waitForLine(lines, /no services under .* yet; the broker is running at mqtt:/, "notice");
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    controller.abort();
    await stack;
    assert.ok(portIsFree(port));
  } finally {
    controller.abort();
    await stack.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dev launcher: MQTT_URL set → no embedded broker, services get that URL", async () => {
  await using broker = await startBroker();
  const dir = await servicesDir({ router: fakeService("router") });
  const unusedPort = freePort();
  const lines: string[] = [];
  const controller = new AbortController();
  const stack = runDevStack({
    root: ROOT,
    servicesDir: dir,
    env: { MQTT_URL: broker.url, TARS_DEV_BROKER_PORT: String(unusedPort) },
    signal: controller.signal,
    out: (line) => lines.push(line),
  });
  try {
    await waitForLine(lines, new RegExp(`^router \\| connack 32,2,0,0 via ${broker.url}$`), "ack");
    assert.ok(lines.includes(`dev    | using the broker at MQTT_URL=${broker.url}`));
    assert.ok(portIsFree(unusedPort), "no embedded broker was started");
    controller.abort();
    await stack;
  } finally {
    controller.abort();
    await stack.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dev launcher: a taken broker port is a clear error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  try {
    await assert.rejects(
      () => runDevStack({ env: { TARS_DEV_BROKER_PORT: String(port) }, out: () => {} }),
      new RegExp(`port ${port} on 127.0.0.1 is in use: set MQTT_URL to use that broker`),
    );
    await assert.rejects(
      () => runDevStack({ env: { TARS_DEV_BROKER_PORT: "nope" }, out: () => {} }),
      /TARS_DEV_BROKER_PORT must be a port number/,
    );
  } finally {
    listener.close();
  }
});

Deno.test("dev launcher: the printed URLs follow UI_PORT and CAMERA_HTTP_PORT", () => {
  assert.equal(serviceUrl(serviceTable["ui-web"], {}), "http://127.0.0.1:5010");
  assert.equal(serviceUrl(serviceTable["ui-web"], { UI_PORT: "15010" }), "http://127.0.0.1:15010");
  assert.equal(
    serviceUrl(serviceTable["camera-service"], { CAMERA_HTTP_PORT: "18080" }),
    "http://127.0.0.1:18080/stream",
  );
  // 0 (a free port, tests) or garbage: the default is the best guess.
  assert.equal(serviceUrl(serviceTable["ui-web"], { UI_PORT: "0" }), "http://127.0.0.1:5010");
  assert.equal(serviceUrl(serviceTable.router, { UI_PORT: "1" }), undefined);
});

Deno.test("dev launcher: preflight block first; ui-web gets the camera URL of CAMERA_HTTP_PORT; camera-service may run the ffmpeg found", async () => {
  const dir = await servicesDir({
    "ui-web":
      'console.log(`camera ${Deno.env.get("UI_CAMERA_URL")}`); setInterval(() => {}, 1000);',
    // Prints whether it may run the ffmpeg the launcher found (Deno resolved the flag at start).
    "camera-service":
      `const state = (await Deno.permissions.query({ name: "run", command: "/usr/bin/ffmpeg" })).state;
console.log(\`run /usr/bin/ffmpeg: \${state}\`); setInterval(() => {}, 1000);`,
  });
  const lines: string[] = [];
  const controller = new AbortController();
  const stack = runDevStack({
    root: ROOT,
    servicesDir: dir,
    env: { TARS_DEV_BROKER_PORT: String(freePort()), CAMERA_HTTP_PORT: "18080" },
    signal: controller.signal,
    out: (line) => lines.push(line),
    preflight: {
      which: (name) => name === "ffmpeg" ? "/usr/bin/ffmpeg" : null,
      reachable: () => Promise.resolve(false),
    },
  });
  try {
    await waitForLine(
      lines,
      /^ui-web {9}\| camera http:\/\/127\.0\.0\.1:18080\/stream$/,
      "UI_CAMERA_URL",
    );
    await waitForLine(
      lines,
      /^camera-service \| run \/usr\/bin\/ffmpeg: granted$/,
      "ffmpeg allowed",
    );
    const block = lines.filter((l) =>
      l.startsWith("dev ") && /preflight|ok |MISSING|fix:|missing/.test(l)
    );
    assert.equal(block[0], "dev            | preflight (optional programs and servers):");
    assert.ok(block.some((l) => /ok {7}ffmpeg {5}\/usr\/bin\/ffmpeg/.test(l)), block.join("\n"));
    assert.ok(block.some((l) => /MISSING {2}espeak-ng/.test(l)), block.join("\n"));
    // The block comes before any service starts.
    const firstStart = lines.findIndex((l) => /\| started \(pid/.test(l));
    assert.ok(lines.indexOf(block.at(-1)!) < firstStart, lines.join("\n"));
    controller.abort();
    await stack;
  } finally {
    controller.abort();
    await stack.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
