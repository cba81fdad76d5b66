/**
 * `deno task bench [name...]`: runs the benchmarks and prints one Markdown report.
 *
 * `core` is the shared MQTT client against raw MQTT.js (`bench/core.ts`), `log` the cost of log
 * redaction against the input length (`bench/log.ts`), `loop` the suite's own overhead in a
 * whole voice turn (`bench/loop.ts`), `memory` the idle memory of every service
 * (`bench/memory.ts`); every other name is a service whose `bench/<service>.ts` exists (e.g.
 * `router`, `tts-worker`). With no name, all of them run, core, log, loop and memory first.
 * Each benchmark module exports `run(args): Promise<string>` (its Markdown section; `args` are
 * the `--key=value` options, e.g. `--json=<path>` for `core`, `loop` and `memory`) and can also
 * be run alone: `deno run -A bench/<name>.ts`.
 *
 * Timings on a shared machine are noisy, so every benchmark reports ratios against a baseline
 * measured in the same run beside the absolute numbers.
 *
 * @module
 */
import { serviceNames } from "../core/service/catalog.ts";

const BENCH_DIR = new URL("./", import.meta.url);

/** A benchmark module: `bench/<name>.ts`. */
interface BenchModule {
  run(args: readonly string[]): Promise<string>;
}

/**
 * The benchmark names that exist: `core`, `log`, `loop`, `memory`, then the services with a
 * `bench/<service>.ts`.
 */
export function availableBenchmarks(): string[] {
  const names = ["core", "log", "loop", "memory"];
  for (const name of serviceNames) {
    try {
      if (Deno.statSync(new URL(`${name}.ts`, BENCH_DIR)).isFile) names.push(name);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return names;
}

async function main(argv: readonly string[]): Promise<number> {
  const available = availableBenchmarks();
  const wanted = argv.filter((a) => !a.startsWith("-"));
  const options = argv.filter((a) => a.startsWith("-"));
  const unknown = wanted.filter((n) => !available.includes(n));
  if (unknown.length > 0) {
    console.error(
      `Unknown benchmark ${unknown.join(", ")}; choose from: ${available.join(", ")}.`,
    );
    return 2;
  }
  const sections: string[] = [];
  for (const name of wanted.length > 0 ? wanted : available) {
    console.log(`\n## bench: ${name}\n`);
    const mod = await import(new URL(`${name}.ts`, BENCH_DIR).href) as BenchModule;
    sections.push(`## ${name}\n\n${await mod.run(options)}`);
  }
  console.log(`\n# TARS benchmarks\n\n${sections.join("\n\n")}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
