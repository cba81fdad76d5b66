/**
 * ops/mosquitto/mosquitto.conf is valid for the installed mosquitto (2.0.11): mosquitto is
 * started with the file, only the listener port and persistence_location rewritten, and exits
 * at once on any bad line. The commented auth and TLS blocks are checked switched on too.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import mqtt from "mqtt";
import { freePort } from "../helpers/broker.ts";

const CONF = new URL("../../ops/mosquitto/mosquitto.conf", import.meta.url);
const HOST = "127.0.0.1";

function mosquittoBin(): string {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), "/usr/sbin", "/usr/local/sbin"];
  for (const dir of dirs.filter(Boolean)) {
    try {
      if (Deno.statSync(join(dir, "mosquitto")).isFile) return join(dir, "mosquitto");
    } catch {
      // not here
    }
  }
  throw new Error("mosquitto not found: apt-get install -y mosquitto");
}

/** Replaces the one line matching `pattern`; fails if it is not there exactly once. */
function replaceLine(text: string, pattern: RegExp, line: string): string {
  const lines = text.split("\n");
  const hits = lines.flatMap((l, i) => (pattern.test(l) ? [i] : []));
  assert.equal(hits.length, 1, `expected one line matching ${pattern} in mosquitto.conf`);
  lines[hits[0]] = line;
  return lines.join("\n");
}

/** Switches a "#directive" line on. */
function enable(text: string, directive: string): string {
  const escaped = directive.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return replaceLine(text, new RegExp(`^#${escaped}(\\s|$)`), directive);
}

/** The real file with its listener on `port` and persistence in `<dir>/data/`. */
async function adaptedConfig(port: number, dir: string): Promise<string> {
  let text = await Deno.readTextFile(CONF);
  text = replaceLine(text, /^listener 1883 127\.0\.0\.1$/, `listener ${port} ${HOST}`);
  text = replaceLine(
    text,
    /^persistence_location \/var\/lib\/mosquitto\/$/,
    `persistence_location ${dir}/data/`,
  );
  return text;
}

/**
 * The file keeps mosquitto's default `user mosquitto`: started as root (as in CI) it drops to
 * that user, so, as on the robot, the persistence folder must belong to it and the temp dir
 * must be traversable. A non-root run never switches user and needs nothing.
 */
async function tempDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tars-mosquitto-conf-" });
  await Deno.mkdir(join(dir, "data"));
  const owner = Deno.uid() === 0 ? mosquittoUser() : undefined;
  if (owner) {
    await Deno.chmod(dir, 0o755);
    await Deno.chown(join(dir, "data"), owner.uid, owner.gid);
  }
  return dir;
}

function mosquittoUser(): { uid: number; gid: number } | undefined {
  const line = Deno.readTextFileSync("/etc/passwd").split("\n")
    .find((l) => l.startsWith("mosquitto:"));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

interface Running extends AsyncDisposable {
  log(): string;
  stop(): Promise<Deno.CommandStatus>;
}

/** Starts mosquitto with `config` and waits until `port` accepts connections. */
async function runMosquitto(dir: string, config: string, port: number): Promise<Running> {
  const confPath = join(dir, "mosquitto.conf");
  await Deno.writeTextFile(confPath, config);
  const child = new Deno.Command(mosquittoBin(), {
    args: ["-c", confPath],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  let stopped: Promise<Deno.CommandStatus> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (!exited) child.kill("SIGTERM");
      const s = await status;
      await pumps;
      return s;
    })();
    return stopped;
  };
  const deadline = Date.now() + 10_000;
  while (true) {
    if (exited) {
      const s = await stop();
      throw new Error(`mosquitto rejected the config (exit code ${s.code}):\n${output}`);
    }
    try {
      (await Deno.connect({ hostname: HOST, port })).close();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`mosquitto did not listen on ${HOST}:${port} within 10 s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return {
    log: () => output,
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}

async function publishAndRead(
  url: string,
  options: mqtt.IClientOptions,
  topic: string,
): Promise<string> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
  try {
    const got = new Promise<string>((resolve) => {
      client.once("message", (_t, payload) => resolve(new TextDecoder().decode(payload)));
    });
    await client.subscribeAsync(topic, { qos: 1 });
    await client.publishAsync(topic, "ok", { qos: 1 });
    return await got;
  } finally {
    await client.endAsync(true);
  }
}

Deno.test("mosquitto.conf: mosquitto starts with it, serves v5 and v3.1.1, persists", async () => {
  const dir = await tempDir();
  try {
    const port = freePort();
    const config = await adaptedConfig(port, dir);
    const url = `mqtt://${HOST}:${port}`;
    {
      await using broker = await runMosquitto(dir, config, port);
      assert.equal(await publishAndRead(url, { protocolVersion: 5 }, "conf/v5"), "ok");
      const v4 = await mqtt.connectAsync(url, { reconnectPeriod: 0, protocolVersion: 4 });
      await v4.publishAsync("conf/retained", "kept", { qos: 1, retain: true });
      await v4.endAsync();
      const status = await broker.stop();
      assert.equal(status.code, 0, broker.log());
      assert.match(broker.log(), /Saving in-memory database/);
    }
    const db = await Deno.stat(join(dir, "data", "mosquitto.db"));
    assert.ok(db.isFile, "the database was written to persistence_location");
    await using again = await runMosquitto(dir, config, port);
    const sub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    try {
      const got = new Promise<[string, boolean]>((resolve) => {
        sub.once("message", (_t, p, packet) => resolve([p.toString(), packet.retain]));
      });
      await sub.subscribeAsync("conf/retained", { qos: 1 });
      assert.deepEqual(await got, ["kept", true], again.log());
    } finally {
      await sub.endAsync(true);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mosquitto.conf: the auth block is valid when switched on", async () => {
  const dir = await tempDir();
  try {
    const passwd = join(dir, "tars.passwd");
    const acl = join(dir, "tars.acl");
    const made = await new Deno.Command("mosquitto_passwd", {
      args: ["-c", "-b", passwd, "tars-test", "s3cret"],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(made.success, new TextDecoder().decode(made.stderr));
    await Deno.writeTextFile(acl, "user tars-test\ntopic readwrite conf/#\n");
    const owner = Deno.uid() === 0 ? mosquittoUser() : undefined;
    if (owner) { for (const f of [passwd, acl]) await Deno.chown(f, owner.uid, owner.gid); }

    const port = freePort();
    let config = await adaptedConfig(port, dir);
    config = replaceLine(config, /^allow_anonymous true$/, "# (anonymous access removed)");
    config = enable(config, "allow_anonymous false");
    config = replaceLine(config, /^#password_file /, `password_file ${passwd}`);
    config = replaceLine(config, /^#acl_file /, `acl_file ${acl}`);
    await using broker = await runMosquitto(dir, config, port);
    const url = `mqtt://${HOST}:${port}`;
    await assert.rejects(() => mqtt.connectAsync(url, { reconnectPeriod: 0 }), /Not authorized/);
    const opts = { username: "tars-test", password: "s3cret" };
    assert.equal(await publishAndRead(url, opts, "conf/auth"), "ok", broker.log());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mosquitto.conf: the TLS listener block is valid when switched on", async () => {
  const dir = await tempDir();
  try {
    const key = join(dir, "broker.key");
    const cert = join(dir, "broker.crt");
    const made = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost",
        "-keyout",
        key,
        "-out",
        cert,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(made.success, new TextDecoder().decode(made.stderr));
    const owner = Deno.uid() === 0 ? mosquittoUser() : undefined;
    if (owner) { for (const f of [key, cert]) await Deno.chown(f, owner.uid, owner.gid); }

    const port = freePort();
    const tlsPort = freePort();
    let config = await adaptedConfig(port, dir);
    config = replaceLine(config, /^#listener 8883 0\.0\.0\.0$/, `listener ${tlsPort} ${HOST}`);
    config = replaceLine(config, /^#cafile /, `cafile ${cert}`);
    config = replaceLine(config, /^#certfile /, `certfile ${cert}`);
    config = replaceLine(config, /^#keyfile /, `keyfile ${key}`);
    config = enable(config, "tls_version tlsv1.2");
    await using broker = await runMosquitto(dir, config, tlsPort);
    const ca = await Deno.readTextFile(cert);
    const got = await publishAndRead(
      `mqtts://${HOST}:${tlsPort}`,
      { ca, rejectUnauthorized: true, servername: "localhost" },
      "conf/tls",
    );
    assert.equal(got, "ok", broker.log());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
