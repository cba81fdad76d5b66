/**
 * Makes the Mosquitto password file of TARS and one env file per user holding its `MQTT_URL`.
 *
 * ```console
 * $ sudo deno run --allow-run=mosquitto_passwd --allow-read --allow-write \
 *     ops/mosquitto/make_passwords.ts --passwd=/etc/mosquitto/tars.passwd --env-dir=/etc/tars \
 *     --broker=127.0.0.1:1883
 * ```
 *
 * Every user of the generated ACL (`ops/mosquitto/acl.ts`: the nine services, `esp32` and
 * `tars-monitor`) gets a random 144-bit password. The password file is written with
 * `mosquitto_passwd` (hashed); `<env-dir>/<user>.mqtt.env` gets `MQTT_URL=mqtt://<user>:<pw>@<broker>`
 * with mode 0600, ready for a systemd `EnvironmentFile=` or compose `env_file:`. Existing files
 * are never overwritten unless `--force` is given (that rotates every password: restart the
 * broker and all services afterwards).
 *
 * @module
 */
import { join } from "node:path";
import { ACL_USERS } from "./acl.ts";

/** Options of {@linkcode makePasswords}. */
export interface MakePasswordsOptions {
  /** The Mosquitto password file to write. */
  passwd: string;
  /** The folder for `<user>.mqtt.env` files. */
  envDir: string;
  /** `host:port` of the broker as the services reach it; default `127.0.0.1:1883`. */
  broker?: string;
  /** URL scheme; `mqtts` for the TLS listener. Default `mqtt`. */
  scheme?: "mqtt" | "mqtts";
  /** Overwrite existing files (rotates every password). */
  force?: boolean;
  /** The `mosquitto_passwd` binary; default found on PATH. */
  mosquittoPasswd?: string;
}

/** A random password: 18 bytes, base64url (URL-safe, no escaping needed in `MQTT_URL`). */
export function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

/**
 * Writes the password file and the env files; returns the env file of each user.
 *
 * @throws {Error} when a file exists and `force` is not set, or `mosquitto_passwd` fails.
 */
export async function makePasswords(opts: MakePasswordsOptions): Promise<Map<string, string>> {
  const broker = opts.broker ?? "127.0.0.1:1883";
  const scheme = opts.scheme ?? "mqtt";
  const envFiles = new Map(ACL_USERS.map((u) => [u, join(opts.envDir, `${u}.mqtt.env`)]));
  if (!opts.force) {
    const existing = [opts.passwd, ...envFiles.values()].filter(exists);
    if (existing.length > 0) {
      const more = existing.length > 1 ? ` and ${existing.length - 1} more` : "";
      throw new Error(`${existing[0]}${more} already exist; pass --force to rotate every password`);
    }
  }
  await Deno.mkdir(opts.envDir, { recursive: true, mode: 0o700 });
  // Start from an empty file: mosquitto_passwd -c would need the first user's password on argv
  // twice over; -b with an existing empty file adds users one by one.
  await Deno.writeTextFile(opts.passwd, "", { mode: 0o600 });
  await Deno.chmod(opts.passwd, 0o600);
  for (const [user, envFile] of envFiles) {
    const password = randomPassword();
    const out = await new Deno.Command(opts.mosquittoPasswd ?? "mosquitto_passwd", {
      args: ["-b", opts.passwd, user, password],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim();
      throw new Error(`mosquitto_passwd failed for ${user}: ${err} (apt-get install mosquitto)`);
    }
    const url = `${scheme}://${user}:${password}@${broker}`;
    await Deno.writeTextFile(
      envFile,
      `# MQTT login of ${user}; made by ops/mosquitto/make_passwords.ts\nMQTT_URL=${url}\n`,
      { mode: 0o600 },
    );
    await Deno.chmod(envFile, 0o600);
  }
  return envFiles;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument ${arg}`);
    flags.set(m[1], m[2] ?? "true");
  }
  return flags;
}

if (import.meta.main) {
  const usage = "usage: make_passwords.ts --passwd=<file> --env-dir=<dir> " +
    "[--broker=host:port] [--scheme=mqtt|mqtts] [--force]";
  try {
    const flags = parseFlags(Deno.args);
    const passwd = flags.get("passwd");
    const envDir = flags.get("env-dir");
    const scheme = flags.get("scheme") ?? "mqtt";
    if (!passwd || !envDir || (scheme !== "mqtt" && scheme !== "mqtts")) throw new Error(usage);
    const files = await makePasswords({
      passwd,
      envDir,
      broker: flags.get("broker"),
      scheme,
      force: flags.has("force"),
    });
    console.log(`wrote ${passwd} (${files.size} users) and ${[...files.values()].join(", ")}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    Deno.exit(1);
  }
}
