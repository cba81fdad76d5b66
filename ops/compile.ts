/**
 * `deno task compile`: one self-contained binary per service, for the robot and for x86 hosts.
 *
 * ```console
 * $ deno task compile                      # every service, both targets → dist/<target>/tars-<service>
 * $ deno task compile --target=aarch64-unknown-linux-gnu router tts-worker
 * $ deno task compile --dry-run            # print the deno compile commands only
 * $ deno task compile --out-dir=/tmp/build # instead of dist/
 * $ deno task compile --bundle             # dist/bundle/<service>/tars-<service>.js (no download)
 * ```
 *
 * Each binary gets the service's least permissions from `ops/services.ts` baked in, so it runs
 * with no flags: `EnvironmentFile=` (systemd) or env vars configure it, nothing else.
 *
 * `deno compile` downloads the runtime (`denort`) for the target from dl.deno.land the first
 * time. A machine that cannot reach it (like the CI machine of this project) can still prove the
 * same entrypoints with `--bundle`: `deno bundle` resolves the whole module graph, including
 * npm packages, into one file per service that runs with `deno run <permissions> <bundle>`.
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

async function runStep(step: BuildStep, root: string): Promise<boolean> {
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
  if (!out.success && /dl\.deno\.land|denort/.test(err)) {
    console.error(
      "deno compile could not download the Deno runtime for this target (dl.deno.land is not " +
        "reachable from here). Build on a machine with internet access, or use " +
        "`deno task compile --bundle` and run the bundles with `deno run` (docs/deploy.md).",
    );
  }
  return out.success;
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
  let failed = 0;
  const bundling = flags.includes("--bundle");
  for (const step of steps) {
    if (!await runStep(step, root)) failed++;
    else if (bundling) await copyIncludes(step, root);
  }
  console.log(`${steps.length - failed} built, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
