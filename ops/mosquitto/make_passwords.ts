/**
 * The one setup command of the broker's logins: makes the Mosquitto password file of TARS and
 * one env file per user holding its `MQTT_URL`.
 *
 * ```console
 * # the robot (systemd, docs/deploy.md)
 * $ sudo deno run --allow-read --allow-write ops/mosquitto/make_passwords.ts \
 *     --passwd=/etc/mosquitto/tars.passwd --env-dir=/etc/tars --broker=127.0.0.1:1883
 * # compose (ops/compose.yml): ops/secrets/tars.passwd and ops/secrets/<user>.mqtt.env
 * $ deno run --allow-read --allow-write ops/mosquitto/make_passwords.ts --compose
 * ```
 *
 * Every user of the generated ACL (`ops/mosquitto/acl.ts`: the services, `esp32`, `homeassistant` and
 * `tars-monitor`) gets a random 144-bit password. The password file holds only salted hashes
 * in Mosquitto's own `$7$` format (PBKDF2-SHA512, 101 iterations, as `mosquitto_passwd` writes
 * them), made here so that no `mosquitto_passwd` is needed on the machine that runs the
 * command (compose hosts). `<env-dir>/<user>.mqtt.env` gets `MQTT_URL=mqtt://<user>:<pw>@<broker>`
 * (and `MQTT_CA_FILE` with `--ca-file`) with mode 0600, ready for a systemd `EnvironmentFile=` or
 * compose `env_file:`. Existing files are never overwritten unless `--force` is given (that
 * rotates every password: restart the broker and all services afterwards).
 *
 * @module
 */
import { join } from "node:path";
import { ACL_USERS } from "./acl.ts";

/** Where `--compose` writes, relative to the repository root (git-ignored). */
export const COMPOSE_SECRETS_DIR = "ops/secrets";

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
  /** With `mqtts`: the CA file the services trust, written as `MQTT_CA_FILE`. */
  caFile?: string;
  /**
   * Mode of the password file; default 0600 (then `chown mosquitto:` it). Compose uses 0644:
   * the container's `mosquitto` user must read the mounted file, which holds only hashes.
   */
  passwdMode?: number;
  /** Overwrite existing files (rotates every password). */
  force?: boolean;
}

/**
 * The options of `--compose`: the password file and env files in {@linkcode COMPOSE_SECRETS_DIR}
 * under `root` (the repository), the broker as compose's services reach it, and a password file
 * the container's `mosquitto` user can read. `ops/compose.yml` mounts and loads exactly these.
 */
export function composeSetup(root: string): MakePasswordsOptions {
  const secrets = join(root, COMPOSE_SECRETS_DIR);
  return {
    passwd: join(secrets, "tars.passwd"),
    envDir: secrets,
    broker: "mosquitto:1883",
    passwdMode: 0o644,
  };
}

/** A random password: 18 bytes, base64url (URL-safe, no escaping needed in `MQTT_URL`). */
export function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

const PBKDF2_ITERATIONS = 101; // mosquitto_passwd's default
const SALT_BYTES = 12; // mosquitto_passwd's salt length

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/**
 * Mosquitto's `$7$` password hash of `password`: `$7$<iterations>$<salt>$<PBKDF2-SHA512>`
 * (base64), the format `mosquitto_passwd` of Mosquitto 2.0 writes. `salt` is random unless
 * given (tests).
 */
export async function hashPassword(
  password: string,
  salt: Uint8Array = crypto.getRandomValues(new Uint8Array(SALT_BYTES)),
  iterations = PBKDF2_ITERATIONS,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-512", salt: new Uint8Array(salt), iterations },
    key,
    512,
  );
  return `$7$${iterations}$${base64(salt)}$${base64(new Uint8Array(bits))}`;
}

/**
 * Writes the password file and the env files; returns the env file of each user.
 *
 * @throws {Error} when a file exists and `force` is not set.
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
  const passwdLines: string[] = [];
  const envTexts = new Map<string, string>();
  for (const [user, envFile] of envFiles) {
    const password = randomPassword();
    passwdLines.push(`${user}:${await hashPassword(password)}`);
    const ca = scheme === "mqtts" && opts.caFile ? `MQTT_CA_FILE=${opts.caFile}\n` : "";
    envTexts.set(
      envFile,
      `# MQTT login of ${user}; made by ops/mosquitto/make_passwords.ts\n` +
        `MQTT_URL=${scheme}://${user}:${password}@${broker}\n${ca}`,
    );
  }
  const passwdMode = opts.passwdMode ?? 0o600;
  await Deno.writeTextFile(opts.passwd, passwdLines.join("\n") + "\n", { mode: passwdMode });
  await Deno.chmod(opts.passwd, passwdMode);
  for (const [envFile, text] of envTexts) {
    await Deno.writeTextFile(envFile, text, { mode: 0o600 });
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
    "[--broker=host:port] [--scheme=mqtt|mqtts] [--ca-file=<path>] [--force]\n" +
    `   or: make_passwords.ts --compose [--force]   (${COMPOSE_SECRETS_DIR}/, broker mosquitto:1883)`;
  try {
    const flags = parseFlags(Deno.args);
    const root = new URL("../../", import.meta.url).pathname;
    const preset: Partial<MakePasswordsOptions> = flags.has("compose") ? composeSetup(root) : {};
    const passwd = flags.get("passwd") ?? preset.passwd;
    const envDir = flags.get("env-dir") ?? preset.envDir;
    const scheme = flags.get("scheme") ?? "mqtt";
    if (!passwd || !envDir || (scheme !== "mqtt" && scheme !== "mqtts")) throw new Error(usage);
    const files = await makePasswords({
      passwd,
      envDir,
      broker: flags.get("broker") ?? preset.broker,
      scheme,
      caFile: flags.get("ca-file"),
      passwdMode: preset.passwdMode,
      force: flags.has("force"),
    });
    console.log(`wrote ${passwd} (${files.size} users) and ${files.size} env files in ${envDir}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    Deno.exit(1);
  }
}
