/**
 * Headless Chromium for the browser tests: Debian's /usr/bin/chromium (or `CHROMIUM_PATH`)
 * driven by playwright-core, and the reason to skip when it cannot run here.
 *
 * @module
 */

/** The Chromium executable the browser tests drive. */
export const CHROMIUM: string = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

function chromiumMissing(): boolean {
  try {
    return !Deno.statSync(CHROMIUM).isFile;
  } catch {
    return true;
  }
}

function allPermissions(): boolean {
  const names = ["read", "write", "net", "env", "run", "ffi", "sys", "import"] as const;
  return names.every((name) => Deno.permissions.querySync({ name }).state === "granted");
}

/** Why the browser tests cannot run here (`""` when they can). */
export function chromiumSkipReason(): string {
  if (chromiumMissing()) {
    return `chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`;
  }
  if (!allPermissions()) return "playwright needs all permissions: run this test with deno test -A";
  return "";
}

/** Launches headless Chromium with its own TMPDIR and a fake microphone; dispose to close. */
export async function launchChromium() {
  const tmp = await Deno.makeTempDir({ prefix: "ui-web-browser-" });
  const oldTmp = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", tmp);
  // Imported here: loading playwright-core already needs all permissions.
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
  return Object.assign(browser, {
    async [Symbol.asyncDispose]() {
      await browser.close();
      if (oldTmp === undefined) Deno.env.delete("TMPDIR");
      else Deno.env.set("TMPDIR", oldTmp);
      await Deno.remove(tmp, { recursive: true });
    },
  });
}
