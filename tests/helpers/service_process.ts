/**
 * Runs a service's `main.ts` as its own process, the way the dev launcher and the robot run
 * it: with the permissions of `ops/services.ts` (so a missing permission fails the test), a
 * clean environment, stdout discarded and stderr kept for the failure message.
 *
 * @module
 */
import { type ServiceName } from "../../core/mod.ts";
import { serviceTable } from "../../ops/services.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Starts `services/<service>/main.ts` with `env` (plus `LOG_LEVEL=warning` unless set). */
export function spawnService(service: ServiceName, env: Record<string, string>): Deno.ChildProcess {
  const spec = serviceTable[service];
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...spec.permissions, `${ROOT}${spec.entry}`],
    env: { LOG_LEVEL: "warning", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

/**
 * Sends SIGTERM (if it still runs) and waits for the exit code, the signal that ended it (if
 * any) and the whole stderr.
 */
export async function stopService(
  child: Deno.ChildProcess,
): Promise<{ code: number; signal: Deno.Signal | null; stderr: string }> {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  return { code: status.code, signal: status.signal, stderr };
}

/**
 * Runs `services/<service>/main.ts` like {@linkcode spawnService} and waits until it exits by
 * itself (a configuration error, say): the exit code and the whole stderr.
 */
export async function runServiceToExit(
  service: ServiceName,
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  const child = spawnService(service, env);
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  return { code: status.code, stderr };
}
