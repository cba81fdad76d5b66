/**
 * The aarch64 stand-in robot for `deno task test:arm64`: everything needed to run the services
 * as aarch64 processes on this x86_64 machine, made the way the robot makes it.
 *
 * 1. qemu-user (`qemu-aarch64-static`) and the aarch64 C/C++ runtime (`libc6-arm64-cross`,
 *    `libstdc++6-arm64-cross`, in `/usr/aarch64-linux-gnu`), from Debian (`apt-get install`
 *    when missing and running as root).
 * 2. The aarch64 Deno of the same version as the running one, from the npm package
 *    `@deno/linux-arm64-glibc` (`npm pack`), cached outside the project (`TARS_ARM64_CACHE`,
 *    default `~/.cache/tars-arm64`; inside it, `deno check .` would type-check npm sources).
 * 3. The deploy artefacts: `deno task compile --bundle` (bundles, launchers, deno.json,
 *    deno.lock), then `deno install --frozen` in that tree run BY THE AARCH64 DENO under qemu,
 *    so npm resolves the linux-arm64 variants of the native packages, as on the robot. The
 *    project's own `node_modules` is not touched.
 * 4. A `deno` shim on `PATH` for the launchers: it runs the aarch64 Deno under qemu and
 *    preloads a probe that prints the process's `Deno.build.arch` and `Deno.build.target`.
 *    The tree is mounted read-only for the service, as `ProtectSystem=strict` makes
 *    `/opt/tars` under the systemd unit.
 *
 * One emulation artefact needs a stand-in: qemu-user 7.2 (Debian 12) passes the host's x86
 * `/proc/cpuinfo` to the guest, and onnxruntime's CPU detection (the cpuinfo library) then
 * dereferences NULL while loading the aarch64 binding (SIGSEGV before any model is read). The
 * shim therefore runs qemu in its own mount namespace (`unshare -m`, root only) with an ARM
 * `/proc/cpuinfo` (Cortex-A76 lines, as on the RK3588 of the Orange Pi 5 Max) bound over the
 * host's. On the robot the kernel's own `/proc/cpuinfo` is ARM; nothing of this is deployed.
 *
 * @module
 */
import { join } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Where qemu-user finds the aarch64 loader and libraries. */
export const AARCH64_SYSROOT = "/usr/aarch64-linux-gnu";

/** The line prefix the probe prints on stderr. */
export const PROBE_PREFIX = "tars-arch-probe ";

/** The prepared stand-in. */
export interface Arm64Env {
  /** The aarch64 `deno` binary (an aarch64 ELF file). */
  readonly deno: string;
  /** The bundle tree (`bin/`, `<service>/`, `deno.json`, `deno.lock`, `node_modules/`). */
  readonly tree: string;
  /** A folder holding the `deno` shim (put first on `PATH`). */
  readonly shimDir: string;
  /** `DENO_DIR` of the aarch64 `deno install` (kept apart from the host's cache). */
  readonly denoDir: string;
  /** A folder for the services' cache folders (each one starts empty, like `CacheDirectory`). */
  readonly cacheRoot: string;
  /** How long each preparation step took, in seconds (emulated ones are marked). */
  readonly timings: Readonly<Record<string, number>>;
}

async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(`Cannot run ${cmd} ${args.join(" ")} (exit ${out.code}):\n${text}`);
  }
  return text;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Installs qemu-user-static and the aarch64 C/C++ runtime from Debian when missing. */
export async function ensureQemu(): Promise<void> {
  const have = exists("/usr/bin/qemu-aarch64-static") &&
    exists(join(AARCH64_SYSROOT, "lib/ld-linux-aarch64.so.1")) &&
    exists(join(AARCH64_SYSROOT, "lib/libstdc++.so.6"));
  if (have) return;
  if (Deno.uid() !== 0) {
    throw new Error(
      "Cannot run aarch64 programs: qemu-aarch64-static or the aarch64 libraries are missing. " +
        "Install them: sudo apt-get install qemu-user-static libc6-arm64-cross " +
        "libstdc++6-arm64-cross",
    );
  }
  const env = { DEBIAN_FRONTEND: "noninteractive", PATH: Deno.env.get("PATH") ?? "" };
  await run("apt-get", ["update"], { env });
  await run("apt-get", [
    "install",
    "-y",
    "--no-install-recommends",
    "qemu-user-static",
    "libc6-arm64-cross",
    "libstdc++6-arm64-cross",
  ], { env });
}

/** The aarch64 Deno of this Deno's version, from npm (`@deno/linux-arm64-glibc`), cached. */
export async function ensureArm64Deno(cacheDir: string): Promise<string> {
  const version = Deno.version.deno;
  const dir = join(cacheDir, `deno-${version}`);
  const deno = join(dir, "package", "deno");
  if (exists(deno)) return deno;
  await Deno.mkdir(dir, { recursive: true });
  const packed = (await run("npm", [
    "pack",
    "--silent",
    `@deno/linux-arm64-glibc@${version}`,
    "--pack-destination",
    dir,
  ])).trim().split("\n").at(-1)!;
  await run("tar", ["xzf", join(dir, packed), "-C", dir]);
  await Deno.remove(join(dir, packed));
  return deno;
}

/**
 * The `deno` shim: the aarch64 Deno under qemu, with the arch probe preloaded into `run`, in a
 * mount namespace whose `/proc/cpuinfo` is `cpuinfo` (see the module doc) and where `tree` is
 * read-only.
 */
function shimScript(deno: string, probe: string, cpuinfo: string, tree: string): string {
  const mounts = [
    `mount --bind ${cpuinfo} /proc/cpuinfo`,
    `mount --bind ${tree} ${tree}`,
    `mount -o remount,bind,ro ${tree}`,
  ].join(" && ");
  const qemu = `exec qemu-aarch64-static -L ${AARCH64_SYSROOT} ${deno} "$@"`;
  return [
    "#!/bin/sh",
    "# test:arm64: run the aarch64 Deno under qemu-user (tests/helpers/arm64.ts)",
    `if [ "$1" = run ]; then shift; set -- run --preload ${probe} "$@"; fi`,
    "exec unshare --mount --propagation private sh -c \\",
    `  '${mounts} && ${qemu}' deno "$@"`,
    "",
  ].join("\n");
}

/** How many CPUs the kernel lists as possible (`/sys/devices/system/cpu/possible`, e.g. 0-1). */
function possibleCpus(): number {
  const text = Deno.readTextFileSync("/sys/devices/system/cpu/possible").trim();
  return text.split(",").reduce((sum, part) => {
    const [a, b] = part.split("-").map(Number);
    return sum + (b === undefined ? 1 : b - a + 1);
  }, 0);
}

/** An ARM `/proc/cpuinfo` with `count` Cortex-A76 cores (RK3588's big cores). */
export function armCpuinfo(count: number): string {
  const core = (n: number) =>
    [
      `processor\t: ${n}`,
      "BogoMIPS\t: 48.00",
      "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid " +
      "asimdrdm lrcpc dcpop asimddp",
      "CPU implementer\t: 0x41",
      "CPU architecture: 8",
      "CPU variant\t: 0x4",
      "CPU part\t: 0xd0b",
      "CPU revision\t: 0",
      "",
    ].join("\n");
  return Array.from({ length: count }, (_, n) => core(n)).join("\n") + "\n";
}

const PROBE = `// test:arm64 probe: which runtime this process is.
console.error(${JSON.stringify(PROBE_PREFIX)} + JSON.stringify({
  arch: Deno.build.arch,
  target: Deno.build.target,
  deno: Deno.version.deno,
  pid: Deno.pid,
}));
`;

async function timed<T>(
  timings: Record<string, number>,
  name: string,
  step: () => Promise<T>,
): Promise<T> {
  const start = performance.now();
  try {
    return await step();
  } finally {
    timings[name] = Math.round((performance.now() - start) / 100) / 10;
  }
}

/** Where the aarch64 Deno and its npm cache are kept between runs. */
export function arm64CacheDir(): string {
  const set = Deno.env.get("TARS_ARM64_CACHE");
  if (set) return set;
  const base = Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/root", ".cache");
  return join(base, "tars-arm64");
}

/** Prepares the stand-in robot in `workDir` (a fresh temporary folder). */
export async function prepareArm64(workDir: string): Promise<Arm64Env> {
  const timings: Record<string, number> = {};
  if (Deno.uid() !== 0) {
    throw new Error(
      "Cannot prepare the aarch64 run: it needs root (apt-get, and `unshare -m` for the ARM " +
        "/proc/cpuinfo qemu-user lacks). Run deno task test:arm64 as root, e.g. in CI.",
    );
  }
  const cacheDir = arm64CacheDir();
  await timed(timings, "apt: qemu-user-static, aarch64 libc/libstdc++", ensureQemu);
  const deno = await timed(
    timings,
    "npm: @deno/linux-arm64-glibc",
    () => ensureArm64Deno(cacheDir),
  );
  await timed(timings, "deno task compile --bundle (host)", () =>
    run(Deno.execPath(), [
      "run",
      "-A",
      join(ROOT, "ops/compile.ts"),
      "--bundle",
      `--out-dir=${workDir}`,
    ]));
  const tree = join(workDir, "bundle");
  const denoDir = join(cacheDir, "deno_dir");
  const env = {
    DENO_DIR: denoDir,
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/root",
    NO_COLOR: "1",
  };
  await timed(
    timings,
    "deno install --frozen (aarch64 Deno, emulated)",
    () =>
      run("qemu-aarch64-static", ["-L", AARCH64_SYSROOT, deno, "install", "--frozen"], {
        cwd: tree,
        env,
      }),
  );
  const shimDir = join(workDir, "shim");
  await Deno.mkdir(shimDir, { recursive: true });
  const probe = join(shimDir, "arch_probe.js");
  await Deno.writeTextFile(probe, PROBE);
  const cpuinfo = join(shimDir, "cpuinfo");
  await Deno.writeTextFile(cpuinfo, armCpuinfo(possibleCpus()));
  await Deno.writeTextFile(join(shimDir, "deno"), shimScript(deno, probe, cpuinfo, tree), {
    mode: 0o755,
  });
  await Deno.chmod(join(shimDir, "deno"), 0o755);
  const cacheRoot = join(workDir, "cache");
  await Deno.mkdir(cacheRoot, { recursive: true });
  return { deno, tree, shimDir, denoDir, cacheRoot, timings };
}

/** ELF `e_machine` values this test names. */
const ELF_MACHINES: Readonly<Record<number, string>> = { 62: "x86_64", 183: "aarch64" };

/**
 * The machine an ELF file is built for (`e_machine` of its header: `aarch64`, `x86_64`, or
 * `elf-machine-<n>`), or `not ELF`.
 */
export async function elfMachine(path: string): Promise<string> {
  using file = await Deno.open(path);
  const header = new Uint8Array(20);
  const read = await file.read(header);
  if (
    read !== 20 || header[0] !== 0x7f || String.fromCharCode(...header.subarray(1, 4)) !== "ELF"
  ) {
    return "not ELF";
  }
  const machine = new DataView(header.buffer).getUint16(18, header[5] === 1);
  return ELF_MACHINES[machine] ?? `elf-machine-${machine}`;
}

/** The ELF machine of each native addon / shared library under the tree's `node_modules/.deno`. */
export async function nativeLibraries(tree: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const base = join(tree, "node_modules", ".deno");
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && /\.(node|so(\.\d+)*)$/.test(entry.name)) {
        found.set(path.slice(base.length + 1), await elfMachine(path));
      }
    }
  }
  await walk(base);
  return found;
}

/** The probe line of a service's stderr, parsed. */
export interface ProbeReport {
  /** `Deno.build.arch`. */
  readonly arch: string;
  /** `Deno.build.target`. */
  readonly target: string;
  /** `Deno.version.deno`. */
  readonly deno: string;
  /** `Deno.pid` as the process sees it. */
  readonly pid: number;
}

/** Finds the probe's report in `stderr`, or `undefined`. */
export function probeReport(stderr: string): ProbeReport | undefined {
  const line = stderr.split("\n").find((l) => l.startsWith(PROBE_PREFIX));
  return line ? JSON.parse(line.slice(PROBE_PREFIX.length)) as ProbeReport : undefined;
}
