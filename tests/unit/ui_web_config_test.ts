import assert from "node:assert/strict";
import { ConfigError } from "../../core/mod.ts";
import { isLoopbackHost, readUiWebConfig } from "../../services/ui-web/config.ts";

Deno.test("ui-web config: defaults", () => {
  const config = readUiWebConfig({});
  assert.deepEqual(config, {
    host: "127.0.0.1",
    port: 5010,
    token: undefined,
    allowedHosts: [],
    cameraUrl: "http://127.0.0.1:8080/stream",
    cameraToken: undefined,
    staleAfterMs: 20_000,
    memoryTimeoutMs: 5_000,
    maxClients: 32,
    historySize: 200,
  });
  assert.equal(readUiWebConfig({ PORT: "8081" }).port, 8081); // py-tars name
  assert.equal(readUiWebConfig({ PORT: "8081", UI_PORT: "9000" }).port, 9000);
});

Deno.test("ui-web config: a non-loopback host needs UI_TOKEN", () => {
  assert.throws(() => readUiWebConfig({ UI_HOST: "0.0.0.0" }), (error) => {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.issues.map((i) => i.variable), ["UI_TOKEN"]);
    assert.match(error.message, /UI_HOST=0\.0\.0\.0 is not loopback/);
    return true;
  });
  const open = readUiWebConfig({ UI_HOST: "0.0.0.0", UI_TOKEN: "long-enough-token" });
  assert.equal(open.token, "long-enough-token");
});

Deno.test("ui-web config: every bad variable is reported at once", () => {
  assert.throws(
    () =>
      readUiWebConfig({
        UI_PORT: "http",
        UI_TOKEN: "short",
        UI_CAMERA_URL: "rtsp://cam/stream",
        UI_STALE_AFTER_SEC: "0",
        UI_ALLOWED_HOSTS: "robot.local, http://evil/",
      }),
    (error) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.issues.map((i) => i.variable).sort(), [
        "UI_ALLOWED_HOSTS",
        "UI_CAMERA_URL",
        "UI_PORT",
        "UI_STALE_AFTER_SEC",
        "UI_TOKEN",
      ]);
      assert.ok(!error.message.includes("short"), "the token is not echoed");
      return true;
    },
  );
});

Deno.test("ui-web config: loopback hosts", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (const host of ["0.0.0.0", "192.168.1.5", "::", "tars.local", "127.0.0.1.evil"]) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});

Deno.test("ui-web config: UI_ALLOWED_HOSTS and CAMERA_TOKEN", () => {
  const config = readUiWebConfig({
    UI_ALLOWED_HOSTS: "Robot.local, 192.168.1.5:5010 [fe80::1]",
    CAMERA_TOKEN: " camera-secret ",
  });
  assert.deepEqual(config.allowedHosts, [
    { name: "robot.local" },
    { name: "192.168.1.5", port: 5010 },
    { name: "fe80::1" },
  ]);
  assert.equal(config.cameraToken, "camera-secret");
});
