/**
 * Tests that run an external program (espeak-ng, sox, arecord, ffmpeg, ...) skip cleanly when
 * it is not installed, instead of failing with "No such file or directory":
 *
 * ```ts ignore
 * Deno.test("stt vad: finds speech", requireBinary("espeak-ng", "sox"), async () => {
 *   // ...
 * });
 * ```
 *
 * A skipped test shows as `ignored`, and one line on stderr names the missing program and the
 * Debian package that has it. `.ci/run` installs them all, so CI runs every test.
 *
 * @module
 */

/** The Debian package of each program the tests run (for the skip message). */
const PACKAGES: Record<string, string> = {
  "espeak-ng": "espeak-ng",
  sox: "sox",
  ffmpeg: "ffmpeg",
  arecord: "alsa-utils",
  aplay: "alsa-utils",
  mosquitto: "mosquitto",
  openssl: "openssl",
  chromium: "chromium",
};

const found = new Map<string, boolean>();
const reported = new Set<string>();

/** Whether `name` is an executable file in a `PATH` directory (cached). */
export function hasBinary(name: string): boolean {
  let ok = found.get(name);
  if (ok === undefined) {
    ok = (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
      try {
        const info = Deno.statSync(`${dir || "."}/${name}`);
        return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
      } catch {
        return false;
      }
    });
    found.set(name, ok);
  }
  return ok;
}

/**
 * `Deno.test` options (`Deno.test(name, requireBinary("sox"), fn)`) that ignore the test when
 * one of `names` is not installed, saying which one on stderr (once per program).
 */
export function requireBinary(...names: string[]): { ignore: boolean } {
  const missing = names.filter((name) => !hasBinary(name));
  for (const name of missing) {
    if (reported.has(name)) continue;
    reported.add(name);
    console.error(
      `ignored: the tests that run ${name} (it is not on PATH; install the Debian package ` +
        `${PACKAGES[name] ?? name})`,
    );
  }
  return { ignore: missing.length > 0 };
}
