/**
 * `docs/api.md` is runnable and complete: its `ts` examples pass as doc tests against a real
 * broker (with the op and resource sanitizers on), and every export of `core/mod.ts` is listed
 * in it and used in an example.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as core from "../../core/mod.ts";
import { startBroker } from "../helpers/broker.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const API_MD = "docs/api.md";
const CORE_MOD = new URL("../../core/mod.ts", import.meta.url);
const DOC_TEST_TIMEOUT_MS = 180_000;

/** Fence languages `deno test --doc` runs (unless the fence also says `ignore`). */
const RUNNABLE = new Set([
  "ts",
  "typescript",
  "mts",
  "cts",
  "tsx",
  "js",
  "javascript",
  "mjs",
  "cjs",
  "jsx",
]);

/** The markdown split into prose lines and the bodies of the code blocks Deno runs. */
interface ParsedMarkdown {
  prose: string[];
  tsBlocks: string[];
}

function parseMarkdown(text: string): ParsedMarkdown {
  const prose: string[] = [];
  const tsBlocks: string[] = [];
  let fence: { ticks: number; runnable: boolean; lines: string[] } | null = null;
  for (const line of text.split("\n")) {
    const match = /^\s*(`{3,})(.*)$/.exec(line);
    if (fence) {
      if (match && match[1].length >= fence.ticks && match[2].trim() === "") {
        if (fence.runnable) tsBlocks.push(fence.lines.join("\n"));
        fence = null;
      } else {
        fence.lines.push(line);
      }
    } else if (match) {
      const attributes = match[2].trim().split(/\s+/);
      const runnable = RUNNABLE.has(attributes[0]) && !attributes.includes("ignore");
      fence = { ticks: match[1].length, runnable, lines: [] };
    } else {
      prose.push(line);
    }
  }
  assert.equal(fence, null, `${API_MD} has an unclosed code block`);
  return { prose, tsBlocks };
}

/** Identifiers that start a `code span` on a heading or list-item line. */
function listedNames(prose: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const line of prose) {
    if (!/^\s*(#{1,6} |[-*] )/.test(line)) continue;
    for (const m of line.matchAll(/`([A-Za-z_$][\w$]*)/g)) names.add(m[1]);
  }
  return names;
}

/** Every exported name of core/mod.ts, types included, from `deno doc --json`. */
async function exportedNames(): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", fileURLToPath(CORE_MOD)],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(code, 0, `deno doc --json failed:\n${decoder.decode(stderr)}`);
  const doc = JSON.parse(decoder.decode(stdout)) as {
    nodes?: Record<string, { symbols?: Array<{ name: string }> }>;
  };
  const symbols = doc.nodes?.[CORE_MOD.href]?.symbols;
  assert.ok(symbols, `deno doc --json has no symbols for ${CORE_MOD.href} (format changed?)`);
  return [...new Set(symbols.map((s) => s.name))].sort();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("api docs: every ts example in docs/api.md runs against a broker", async () => {
  const { tsBlocks } = parseMarkdown(await Deno.readTextFile(`${ROOT}${API_MD}`));
  assert.ok(tsBlocks.length > 0, `${API_MD} has no ts examples`);
  await using broker = await startBroker();
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), DOC_TEST_TIMEOUT_MS);
  let result: Deno.CommandOutput;
  try {
    // Deno 2.9 runs the op and resource sanitizers only on request: ask for them, so an
    // example that leaves a client, socket or timer behind fails here.
    result = await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "--doc",
        "--allow-all",
        "--sanitize-ops",
        "--sanitize-resources",
        API_MD,
      ],
      cwd: ROOT,
      env: { MQTT_URL: broker.url, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: timeout.signal,
    }).output();
  } finally {
    clearTimeout(timer);
  }
  const decoder = new TextDecoder();
  const output = `--- stdout ---\n${decoder.decode(result.stdout)}\n--- stderr ---\n` +
    decoder.decode(result.stderr);
  const timedOut = timeout.signal.aborted ? ` (killed after ${DOC_TEST_TIMEOUT_MS} ms)` : "";
  assert.equal(
    result.code,
    0,
    `deno test --doc ${API_MD} failed with code ${result.code}${timedOut}:\n${output}`,
  );
  const summary = /ok \| (\d+) passed \| 0 failed/.exec(decoder.decode(result.stdout));
  assert.ok(summary, `no test summary in the output:\n${output}`);
  assert.equal(
    Number(summary[1]),
    tsBlocks.length,
    `${tsBlocks.length} ts blocks in ${API_MD} but ${summary[1]} doc tests ran:\n${output}`,
  );
});

Deno.test("api docs: docs/api.md lists every export of core/mod.ts and uses it in an example", async () => {
  const names = await exportedNames();
  const runtime = Object.keys(core);
  const missingFromDoc = runtime.filter((name) => !names.includes(name));
  assert.deepEqual(missingFromDoc, [], "deno doc --json missed runtime exports");
  assert.ok(names.length > runtime.length, "type-only exports were not found");

  const { prose, tsBlocks } = parseMarkdown(await Deno.readTextFile(`${ROOT}${API_MD}`));
  const listed = listedNames(prose);
  const code = tsBlocks.join("\n");
  const unlisted = names.filter((name) => !listed.has(name));
  const unused = names.filter((name) => !new RegExp(`\\b${escapeRegExp(name)}\\b`).test(code));
  assert.deepEqual(
    unlisted,
    [],
    `exports of core/mod.ts not named in a heading or list item of ${API_MD}`,
  );
  assert.deepEqual(unused, [], `exports of core/mod.ts not used in any example of ${API_MD}`);
});

Deno.test("api docs: examples import the core only through ../core/mod.ts", async () => {
  const { tsBlocks } = parseMarkdown(await Deno.readTextFile(`${ROOT}${API_MD}`));
  const allowed = new Set(["../core/mod.ts", "node:assert/strict"]);
  const imports = tsBlocks.flatMap((block) =>
    [...block.matchAll(/\bfrom\s+"([^"]+)"/g)].map((m) => m[1])
  );
  assert.ok(imports.includes("../core/mod.ts"));
  assert.deepEqual(imports.filter((specifier) => !allowed.has(specifier)), []);
});
