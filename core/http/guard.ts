/**
 * Guards shared by the services that serve HTTP (ui-web, camera-service): the Host allow-list
 * that defeats DNS rebinding, token comparison, and request bodies read with a size limit.
 *
 * DNS rebinding: a web page on `evil.example` makes its name resolve to 127.0.0.1 and then
 * talks to a service on this machine as if it were its own origin. The browser still sends
 * `Host: evil.example:<port>`, so a server that only answers the names it is known by
 * (loopback names, its bind address and an operator's list) cannot be reached that way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostAllowList, parseAllowedHosts } from "./guard.ts";
 * const { entries } = parseAllowedHosts("robot.local"); // the UI_ALLOWED_HOSTS value
 * const hosts = new HostAllowList({ bindHost: "127.0.0.1", extra: entries });
 * assert.equal(hosts.allows("localhost:5010"), true);
 * assert.equal(hosts.allows("robot.local:5010"), true);
 * assert.equal(hosts.allows("evil.example:5010"), false); // answer misdirected()
 * ```
 *
 * @module
 */
import type { ConfigIssue } from "../config/env.ts";

/** Whether `host` (a bind address or a Host name, brackets allowed) only reaches this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** A Host header (or allow-list entry) split into a lowercased name and an optional port. */
export interface HostName {
  /** Name or IP, lowercased, IPv6 without brackets, no trailing dot. */
  readonly name: string;
  /** The port, when one was given. */
  readonly port?: number;
}

/**
 * Splits `value` (`name`, `name:port`, `[v6]` or `[v6]:port`) into name and port; `undefined`
 * when it is not a host name at all (empty, spaces, a path, a bad port).
 */
export function parseHostName(value: string): HostName | undefined {
  const v = value.trim().toLowerCase();
  let name: string;
  let portText: string | undefined;
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(v);
  if (v6) {
    name = v6[1];
    portText = v6[2];
  } else {
    const plain = /^([a-z0-9_.-]+)(?::(\d{1,5}))?$/.exec(v);
    if (!plain) return undefined;
    name = plain[1].replace(/\.$/, "");
    portText = plain[2];
  }
  if (!name) return undefined;
  if (portText === undefined) return { name };
  const port = Number(portText);
  return port <= 65535 ? { name, port } : undefined;
}

/**
 * Parses an allow-list variable (`UI_ALLOWED_HOSTS`, `CAMERA_ALLOWED_HOSTS`): names or IPs,
 * optionally with a port, separated by commas or spaces. Returns the entries and the ones that
 * are not host names.
 */
export function parseAllowedHosts(
  raw: string | undefined,
): { entries: HostName[]; invalid: string[] } {
  const entries: HostName[] = [];
  const invalid: string[] = [];
  for (const item of (raw ?? "").split(/[\s,]+/)) {
    if (!item) continue;
    const parsed = parseHostName(item);
    if (parsed) entries.push(parsed);
    else invalid.push(item);
  }
  return { entries, invalid };
}

/** The settings that expose an HTTP server, as {@linkcode checkHttpExposure} reads them. */
export interface HttpExposureSettings {
  /** The bind address (`UI_HOST`, `CAMERA_HTTP_HOST`). */
  readonly host: string;
  /** The token, if set. */
  readonly token: string | undefined;
  /** Its variable (`UI_TOKEN`, `CAMERA_TOKEN`). */
  readonly tokenVariable: string;
  /** The allow-list variable's value, if set. */
  readonly allowedHosts: string | undefined;
  /** Its variable (`UI_ALLOWED_HOSTS`, `CAMERA_ALLOWED_HOSTS`). */
  readonly allowedHostsVariable: string;
  /** What the issue says is expected when `host` is not loopback and no token is set. */
  readonly missingToken: string;
}

/**
 * The configuration problems of a server's exposure: a host beyond loopback without a token, a
 * token shorter than 8 characters, allow-list entries that are not host names. Returns them
 * with the allow-list's entries.
 */
export function checkHttpExposure(
  settings: HttpExposureSettings,
): { issues: ConfigIssue[]; allowedHosts: HostName[] } {
  const issues: ConfigIssue[] = [];
  const { token, tokenVariable } = settings;
  if (!isLoopbackHost(settings.host) && !token) {
    issues.push({ variable: tokenVariable, value: "", expected: settings.missingToken });
  }
  if (token !== undefined && token.trim().length < 8) {
    issues.push({ variable: tokenVariable, value: "***", expected: "at least 8 characters" });
  }
  const allowed = parseAllowedHosts(settings.allowedHosts);
  if (allowed.invalid.length > 0) {
    issues.push({
      variable: settings.allowedHostsVariable,
      value: settings.allowedHosts ?? "",
      expected: "host names or IPs, optionally with :port, separated by commas " +
        `(not ${allowed.invalid.map((i) => JSON.stringify(i)).join(", ")})`,
    });
  }
  return { issues, allowedHosts: allowed.entries };
}

/** Options of {@linkcode HostAllowList}. */
export interface HostAllowListOptions {
  /** The address the server binds; a specific IP (not 0.0.0.0 or ::) is allowed too. */
  readonly bindHost?: string;
  /** The operator's extra names, from {@linkcode parseAllowedHosts}. */
  readonly extra?: readonly HostName[];
}

/**
 * The Host values a server answers: loopback names (`localhost`, `127.x.x.x`, `[::1]`) on any
 * port, its own bind address when that is a specific IP, and the operator's entries (an entry
 * without a port matches every port).
 */
export class HostAllowList {
  readonly #bind: string | undefined;
  readonly #extra: readonly HostName[];

  /** Builds the list. */
  constructor(options: HostAllowListOptions = {}) {
    const bind = options.bindHost ? parseHostName(bracketed(options.bindHost)) : undefined;
    this.#bind = bind && bind.name !== "0.0.0.0" && bind.name !== "::" ? bind.name : undefined;
    this.#extra = options.extra ?? [];
  }

  /** Whether a request with this `Host` header may be answered. A missing Host may not. */
  allows(hostHeader: string | null | undefined): boolean {
    if (!hostHeader) return false;
    const host = parseHostName(hostHeader);
    if (!host) return false;
    if (isLoopbackHost(host.name) || host.name === this.#bind) return true;
    return this.#extra.some((e) =>
      e.name === host.name && (e.port === undefined || e.port === host.port)
    );
  }
}

function bracketed(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * The 421 answer for a request whose Host is not allowed; `variable` names the allow-list
 * setting, so the operator knows what to set.
 */
export function misdirected(hostHeader: string | null, variable: string): Response {
  const shown = (hostHeader ?? "(none)").slice(0, 100);
  return new Response(
    JSON.stringify({
      error: `Host ${JSON.stringify(shown)} is not one this server answers to. ` +
        `Open it by localhost or 127.0.0.1, or add the name to ${variable}.`,
    }),
    { status: 421, headers: { "content-type": "application/json; charset=utf-8" } },
  );
}

/** Compares a presented token with the configured one in time independent of the content. */
export function tokenMatches(presented: string | null | undefined, expected: string): boolean {
  if (presented === null || presented === undefined) return false;
  const a = new TextEncoder().encode(presented);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i];
  return diff === 0;
}

/** The token of an `Authorization: Bearer <token>` header, or `null`. */
export function bearerToken(headers: Headers): string | null {
  const auth = headers.get("authorization");
  return auth?.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : null;
}

/** Thrown by {@linkcode readBodyLimited} when a body is longer than allowed. */
export class BodyTooLargeError extends Error {
  /** The limit, bytes. */
  readonly limit: number;

  /** Builds the error; `what` names the body (default "request body"). */
  constructor(limit: number, what = "request body") {
    super(`The ${what} is larger than ${limit} bytes.`);
    this.name = "BodyTooLargeError";
    this.limit = limit;
  }
}

/**
 * Reads the body of `message` (a request a server received, or a response a client got), at
 * most `maxBytes`: a `Content-Length` over the limit is refused before anything is read, and
 * a body without one (chunked) is read chunk by chunk and cancelled as soon as it passes the
 * limit. Throws {@linkcode BodyTooLargeError}.
 */
export async function readBodyLimited(
  message: Request | Response,
  maxBytes: number,
): Promise<Uint8Array> {
  const what = message instanceof Response ? "response body" : "request body";
  const declared = message.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await message.body?.cancel().catch(() => {});
    throw new BodyTooLargeError(maxBytes, what);
  }
  if (!message.body) return new Uint8Array(0);
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(maxBytes, what);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}
