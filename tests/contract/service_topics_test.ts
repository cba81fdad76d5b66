/**
 * The topic table says who publishes and subscribes each topic, and the Mosquitto ACL is
 * generated from it: so every topic a service's code publishes or subscribes must list that
 * service in the table, or the service would be refused on a broker with the ACL. Checked by
 * reading each service's source for `topics.<name>` used in subscribe / publish / request calls.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { topics } from "../../core/mod.ts";
import { existingServices } from "../../ops/services.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...sources(path));
    else if (/\.ts$/.test(entry.name)) out.push(Deno.readTextFileSync(path));
  }
  return out;
}

type Row = (typeof topics)[keyof typeof topics];

function row(name: string): Row {
  const spec = (topics as Record<string, Row>)[name];
  assert.ok(spec, `topics.${name} is not in the table`);
  return spec;
}

for (const service of existingServices(ROOT)) {
  Deno.test(`topic table: ${service.name} is listed for every topic its code uses`, () => {
    const code = sources(join(ROOT, "services", service.name)).join("\n");
    const listed = (list: readonly string[]) => list.includes(service.name) || list.includes("*");
    const problems: string[] = [];
    for (const m of code.matchAll(/\bsubscribe\w*\(\s*topics\.(\w+)/g)) {
      if (!listed(row(m[1]).subscribers)) problems.push(`subscribes ${m[1]}`);
    }
    for (const m of code.matchAll(/\b(?:publish\w*|request)\(\s*topics\.(\w+)/g)) {
      if (!listed(row(m[1]).publishers)) problems.push(`publishes ${m[1]}`);
    }
    for (const m of code.matchAll(/\breplyTopic:\s*topics\.(\w+)/g)) {
      if (!listed(row(m[1]).subscribers)) problems.push(`awaits replies on ${m[1]}`);
    }
    for (const m of code.matchAll(/\btopics\.(\w+)/g)) {
      const r = row(m[1]);
      if (!listed(r.publishers) && !listed(r.subscribers)) problems.push(`uses ${m[1]}`);
    }
    assert.deepEqual(
      [...new Set(problems)],
      [],
      `add ${service.name} to these rows of core/contracts/topics.ts`,
    );
  });
}
