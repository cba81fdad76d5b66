/**
 * `deno task compile`: one self-contained binary per service, for the robot and for x86 hosts.
 *
 * ```console
 * $ deno task compile                      # every service, both targets → dist/<target>/tars-<service>
 * $ deno task compile --target=aarch64-unknown-linux-gnu router tts-worker
 * $ deno task compile --dry-run            # print the deno compile commands only
 * $ deno task compile --out-dir=/tmp/build # instead of dist/
 * $ deno task compile --bundle             # dist/bundle/: bundles + launchers (no download)
 * ```
 *
 * Each binary gets the service's least permissions from `ops/services.ts` baked in, so it runs
 * with no flags: `EnvironmentFile=` (systemd) or env vars configure it, nothing else.
 *
 * `deno compile` downloads the runtime (`denort`) for the target from dl.deno.land the first
 * time; the robot (and any machine with internet access) reaches it. A machine that cannot
 * (like this project's CI machine) gets the bundle tree instead, and the command says so and
 * exits 1 (no binary was made). `--bundle` asks for that tree directly:
 *
 * ```text
 * dist/bundle/
 *   deno.json, deno.lock        the locked npm dependencies: `deno install --frozen` here
 *   <service>/tars-<service>.js one JS file per service (`deno bundle`), its includes beside it
 *   bin/tars-<service>          launcher: `deno run --config ../deno.json <permissions> <bundle>`
 * ```
 *
 * Copied to the robot as `/opt/tars`, `bin/tars-<service>` is what `tars@.service` runs
 * (`ExecStart=/opt/tars/bin/tars-%i`). npm packages with native addons (onnxruntime-node,
 * sqlite-vec, sherpa-onnx-node) stay outside the bundles and load from the `node_modules` that
 * `deno install --frozen` makes on the robot itself, so they are the robot's architecture.
 * `deno task test:arm64` runs exactly this tree with the aarch64 Deno under qemu.
 *
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";
import { existingServices, type ServiceSpec } from "./services.ts";

/** The targets `deno task compile` builds by default: the Orange Pi (arm64) and x86_64 hosts. */
export const COMPILE_TARGETS = ["aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"] as const;

/** One build step: the `deno` arguments and the file it produces. */
export interface BuildStep {
  /** The service it builds. */
  readonly service: ServiceSpec;
  /** Arguments after `deno`. */
  readonly args: readonly string[];
  /** The output file, relative to the project root. */
  readonly output: string;
}

/** The `deno compile` steps for `services` × `targets`. */
export function compileSteps(
  services: readonly ServiceSpec[],
  targets: readonly string[] = COMPILE_TARGETS,
  outDir = "dist",
): BuildStep[] {
  return targets.flatMap((target) =>
    services.map((service) => {
      const output = join(outDir, target, `tars-${service.name}`);
      return {
        service,
        output,
        args: [
          "compile",
          "--target",
          target,
          ...service.permissions,
          ...(service.include ?? []).flatMap((path) => ["--include", path]),
          "--output",
          output,
          service.entry,
        ],
      };
    })
  );
}

/**
 * The `deno bundle` steps: `dist/bundle/<service>/tars-<service>.js` per service. The files a
 * service includes (e.g. ui-web's `static/`) are copied beside its bundle by
 * {@linkcode copyIncludes}, at the same place relative to the entrypoint.
 */
export function bundleSteps(services: readonly ServiceSpec[], outDir = "dist"): BuildStep[] {
  return services.map((service) => {
    const output = join(outDir, "bundle", service.name, `tars-${service.name}.js`);
    return {
      service,
      output,
      args: [
        "bundle",
        "--platform",
        "deno",
        ...bundleExternals(service),
        "-o",
        output,
        service.entry,
      ],
    };
  });
}

/**
 * The launcher `bin/tars-<service>` of a bundle tree: a POSIX shell script that runs the
 * service's bundle with the service's permissions and the tree's `deno.json` (so external npm
 * packages load from the tree's `node_modules`). `TARS_DENO` picks the Deno binary (default
 * `deno` on `PATH`); under systemd Deno's cache goes to the unit's `CacheDirectory`.
 */
export function launcherScript(service: ServiceSpec): string {
  const bundle = `${service.name}/tars-${service.name}.js`;
  return [
    "#!/bin/sh",
    `# ${service.name}: ${service.description}. Made by \`deno task compile --bundle\` (ops/compile.ts).`,
    'root=$(CDPATH= cd -- "$(dirname -- "$(readlink -f -- "$0")")/.." && pwd)',
    'if [ -z "${DENO_DIR:-}" ] && [ -n "${CACHE_DIRECTORY:-}" ]; then',
    '  DENO_DIR="${CACHE_DIRECTORY%%:*}/deno"; export DENO_DIR',
    "fi",
    'exec "${TARS_DENO:-deno}" run --config "$root/deno.json" --cached-only --no-prompt \\',
    `  ${service.permissions.join(" ")} \\`,
    `  "$root/${bundle}" "$@"`,
    "",
  ].join("\n");
}

/** Writes the launchers and copies `deno.json` and `deno.lock` into the bundle tree. */
export async function finishBundleTree(
  services: readonly ServiceSpec[],
  root: string,
  outDir: string,
): Promise<void> {
  const tree = resolve(root, outDir, "bundle");
  await Deno.mkdir(join(tree, "bin"), { recursive: true });
  for (const file of ["deno.json", "deno.lock"]) {
    await Deno.copyFile(join(root, file), join(tree, file));
  }
  for (const service of services) {
    const path = join(tree, "bin", `tars-${service.name}`);
    await Deno.writeTextFile(path, launcherScript(service), { mode: 0o755 });
    await Deno.chmod(path, 0o755);
  }
}

/** npm packages with native addons stay outside the bundle and load from node_modules. */
function bundleExternals(service: ServiceSpec): string[] {
  return (service.external ?? []).flatMap((pkg) => ["--external", pkg]);
}

/** Copies a bundled service's `include` paths next to its bundle (relative to its folder). */
export async function copyIncludes(step: BuildStep, root: string): Promise<void> {
  const serviceDir = dirname(step.service.entry);
  for (const path of step.service.include ?? []) {
    const target = resolve(root, dirname(step.output), relative(serviceDir, path));
    await Deno.mkdir(dirname(target), { recursive: true });
    await copyTree(join(root, path), target);
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  const info = await Deno.stat(from);
  if (!info.isDirectory) return await Deno.copyFile(from, to);
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    await copyTree(join(from, entry.name), join(to, entry.name));
  }
}

/** The result of one step: did it build, and did it fail for want of the Deno runtime. */
interface StepResult {
  readonly ok: boolean;
  readonly runtimeUnreachable: boolean;
}

async function runStep(step: BuildStep, root: string): Promise<StepResult> {
  console.log(`$ deno ${step.args.join(" ")}`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...step.args],
    cwd: root,
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  if (err) console.error(err.trimEnd());
  return { ok: out.success, runtimeUnreachable: !out.success && /dl\.deno\.land|denort/.test(err) };
}

async function buildBundles(
  services: readonly ServiceSpec[],
  root: string,
  outDir: string,
): Promise<number> {
  let failed = 0;
  for (const step of bundleSteps(services, outDir)) {
    if (!(await runStep(step, root)).ok) failed++;
    else await copyIncludes(step, root);
  }
  await finishBundleTree(services, root, outDir);
  return failed;
}

async function main(argv: readonly string[]): Promise<number> {
  const root = new URL("../", import.meta.url).pathname;
  const flags = argv.filter((a) => a.startsWith("--"));
  const names = argv.filter((a) => !a.startsWith("--"));
  const all = existingServices(root);
  const unknown = names.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length > 0) {
    console.error(`unknown service ${unknown.join(", ")}; have: ${all.map((s) => s.name)}`);
    return 2;
  }
  const services = names.length > 0 ? all.filter((s) => names.includes(s.name)) : all;
  const targets = flags.filter((f) => f.startsWith("--target=")).map((f) => f.slice(9));
  const outDir = flags.find((f) => f.startsWith("--out-dir="))?.slice(10) || "dist";
  const steps = flags.includes("--bundle")
    ? bundleSteps(services, outDir)
    : compileSteps(services, targets.length > 0 ? targets : COMPILE_TARGETS, outDir);
  if (flags.includes("--dry-run")) {
    for (const step of steps) console.log(`deno ${step.args.join(" ")}`);
    return 0;
  }
  if (flags.includes("--bundle")) {
    const failed = await buildBundles(services, root, outDir);
    console.log(`${steps.length - failed} built, ${failed} failed`);
    console.log(`bundle tree: ${join(outDir, "bundle")} (launchers in bin/; docs/deploy.md)`);
    return failed === 0 ? 0 : 1;
  }
  let failed = 0;
  for (const step of steps) {
    const result = await runStep(step, root);
    if (result.ok) continue;
    failed++;
    if (result.runtimeUnreachable) {
      const bundleFailed = await buildBundles(services, root, outDir);
      const tree = join(outDir, "bundle");
      console.error(
        "NO SINGLE BINARIES WERE BUILT: deno compile could not download the Deno runtime " +
          "(denort) for the target from dl.deno.land, which this machine cannot reach (the " +
          "robot and any machine with internet access can).\n" +
          `Produced instead: the bundle tree ${tree} (${services.length - bundleFailed} of ` +
          `${services.length} bundles, launchers ${tree}/bin/tars-<service>, deno.json and ` +
          "deno.lock). It runs on any architecture with a Deno installed and `deno install " +
          "--frozen` done in it: docs/deploy.md, step 2.",
      );
      return 1;
    }
  }
  console.log(`${steps.length - failed} built, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
