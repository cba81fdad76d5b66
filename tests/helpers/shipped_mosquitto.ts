/**
 * Runs Mosquitto with one of the shipped configs (`ops/mosquitto/mosquitto.conf` or
 * `mosquitto.compose.conf`), every line kept except the listener (a free loopback port) and the
 * paths of persistence, password file and ACL (files in a temp dir). The password file and env
 * files are made by `ops/mosquitto/make_passwords.ts`, the ACL is the generated one, plus two
 * test users that may read and write everything (`tars-test-admin`, `tars-test-writer`).
 *
 * ```ts
 * import mqtt from "mqtt";
 * import { startShippedMosquitto } from "./shipped_mosquitto.ts";
 * await using broker = await startShippedMosquitto("mosquitto.conf");
 * const movement = await mqtt.connectAsync(broker.url, broker.login("movement-service"));
 * await movement.endAsync();
 * ```
 *
 * Mosquitto started as root drops to its `mosquitto` user, as on the robot: the temp dir is then
 * made traversable and the files it reads belong to that user.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { renderAcl } from "../../ops/mosquitto/acl.ts";
import { hashPassword, makePasswords } from "../../ops/mosquitto/make_passwords.ts";
import { freePort } from "./broker.ts";

/** The shipped configs. */
export type ShippedConfig = "mosquitto.conf" | "mosquitto.compose.conf";

/** Test users with `readwrite #` (two: with use_username_as_clientid one user = one session). */
export const TEST_ADMINS = ["tars-test-admin", "tars-test-writer"] as const;
const TEST_PASSWORD = "test-admin-password";

const HOST = "127.0.0.1";

/** A running shipped-config Mosquitto. */
export interface ShippedMosquitto extends AsyncDisposable {
  /** `mqtt://127.0.0.1:<port>` (no credentials). */
  readonly url: string;
  /** The listener port. */
  readonly port: number;
  /** The temp dir with the password file, ACL, env files and persistence. */
  readonly dir: string;
  /** The config as started. */
  readonly config: string;
  /** `username`/`password` of a user of the ACL or a {@linkcode TEST_ADMINS} user. */
  login(user: string): { username: string; password: string };
  /** Mosquitto's output so far. */
  log(): string;
  /** SIGTERM and wait; resolves with the exit status. */
  stop(): Promise<Deno.CommandStatus>;
}

/** Options of {@linkcode startShippedMosquitto}. */
export interface ShippedMosquittoOptions {
  /** Rewrites the adapted config before it is started (e.g. switch the TLS block on). */
  edit?: (config: string, dir: string) => string | Promise<string>;
  /** The port to wait for (default: the rewritten main listener). */
  waitPort?: number;
  /** An existing dir to use (and keep) instead of a new temp dir (a restart). */
  dir?: string;
}

/** Replaces the one line matching `pattern`; fails if it is not there exactly once. */
export function replaceLine(text: string, pattern: RegExp, line: string): string {
  const lines = text.split("\n");
  const hits = lines.flatMap((l, i) => (pattern.test(l) ? [i] : []));
  assert.equal(hits.length, 1, `expected one line matching ${pattern} in the config`);
  lines[hits[0]] = line;
  return lines.join("\n");
}

/** Switches a "#directive" line on. */
export function enable(text: string, directive: string): string {
  const escaped = directive.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return replaceLine(text, new RegExp(`^#${escaped}(\\s|$)`), directive);
}

/** The `mosquitto` system user, when this runs as root (mosquitto then switches to it). */
export function mosquittoOwner(): { uid: number; gid: number } | undefined {
  if (Deno.uid() !== 0) return undefined;
  const line = Deno.readTextFileSync("/etc/passwd").split("\n")
    .find((l) => l.startsWith("mosquitto:"));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** Gives `paths` to the mosquitto user when running as root (it reads them after dropping). */
export async function giveToMosquitto(...paths: string[]): Promise<void> {
  const owner = mosquittoOwner();
  if (!owner) return;
  for (const p of paths) await Deno.chown(p, owner.uid, owner.gid);
}

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

/** The logins of a temp dir: makes them on first use (make_passwords + generated ACL). */
async function prepareLogins(dir: string): Promise<Map<string, string>> {
  const passwd = join(dir, "tars.passwd");
  const acl = join(dir, "tars.acl");
  const envDir = join(dir, "env");
  const passwords = new Map<string, string>();
  let exists = true;
  try {
    await Deno.stat(passwd);
  } catch {
    exists = false;
  }
  if (!exists) {
    await makePasswords({ passwd, envDir, broker: "HOST" });
    const extra = await Promise.all(
      TEST_ADMINS.map(async (u) => `${u}:${await hashPassword(TEST_PASSWORD)}`),
    );
    await Deno.writeTextFile(passwd, extra.join("\n") + "\n", { append: true });
    const adminRules = TEST_ADMINS.map((u) => `user ${u}\ntopic readwrite #\n`).join("\n");
    await Deno.writeTextFile(acl, `${renderAcl()}\n${adminRules}`);
    await giveToMosquitto(passwd, acl);
  }
  for (const entry of Deno.readDirSync(envDir)) {
    const text = Deno.readTextFileSync(join(envDir, entry.name));
    const m = /^MQTT_URL=mqtt:\/\/([^:]+):([^@]+)@/m.exec(text);
    if (m) passwords.set(m[1], m[2]);
  }
  for (const u of TEST_ADMINS) passwords.set(u, TEST_PASSWORD);
  return passwords;
}

/** The shipped config with the listener on `port` and every path in `dir`. */
async function adapt(name: ShippedConfig, port: number, dir: string): Promise<string> {
  let text = await Deno.readTextFile(new URL(`../../ops/mosquitto/${name}`, import.meta.url));
  const listener = name === "mosquitto.conf" ? /^listener 1883 127\.0\.0\.1$/ : /^listener 1883$/;
  text = replaceLine(text, listener, `listener ${port} ${HOST}`);
  text = replaceLine(text, /^persistence_location /, `persistence_location ${dir}/data/`);
  text = replaceLine(text, /^password_file /, `password_file ${join(dir, "tars.passwd")}`);
  text = replaceLine(text, /^acl_file /, `acl_file ${join(dir, "tars.acl")}`);
  return text;
}

/**
 * Starts Mosquitto with the shipped config `name` and waits until it accepts connections.
 *
 * @throws when Mosquitto exits (its output is in the message) or does not listen within 10 s.
 */
export async function startShippedMosquitto(
  name: ShippedConfig,
  opts: ShippedMosquittoOptions = {},
): Promise<ShippedMosquitto> {
  const ownDir = !opts.dir;
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "tars-shipped-mosquitto-" });
  await Deno.mkdir(join(dir, "data"), { recursive: true });
  if (mosquittoOwner()) {
    await Deno.chmod(dir, 0o755);
    await giveToMosquitto(join(dir, "data"));
  }
  const passwords = await prepareLogins(dir);
  const port = freePort();
  let config = await adapt(name, port, dir);
  if (opts.edit) config = await opts.edit(config, dir);
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
  const cleanup = async () => {
    await stop();
    if (ownDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const waitPort = opts.waitPort ?? port;
  const deadline = Date.now() + 10_000;
  while (true) {
    if (exited) {
      const s = await stop();
      await cleanup();
      throw new Error(`mosquitto rejected the config (exit code ${s.code}):\n${output}`);
    }
    try {
      (await Deno.connect({ hostname: HOST, port: waitPort })).close();
      break;
    } catch {
      if (Date.now() > deadline) {
        await cleanup();
        throw new Error(`mosquitto did not listen on ${HOST}:${waitPort} within 10 s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return {
    url: `mqtt://${HOST}:${port}`,
    port,
    dir,
    config,
    login(user: string) {
      const password = passwords.get(user);
      if (!password) throw new Error(`no login for ${user}`);
      return { username: user, password };
    },
    log: () => output,
    stop,
    [Symbol.asyncDispose]: cleanup,
  };
}
