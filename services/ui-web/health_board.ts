/**
 * The health board: one tile per MQTT client, built from retained `system/health/<id>`
 * pings and `system/keepalive/<id>` heartbeats. A client that sent heartbeats and then
 * stopped for longer than `staleAfterMs` is shown `stale` (the broker has not noticed yet,
 * so its retained health still says ready).
 *
 * @module
 */
import { type HealthPing, serviceCatalog, serviceNames } from "../../core/mod.ts";

/** The client ids of the TARS services (the core service catalog), shown before they report. */
export const KNOWN_CLIENT_IDS: readonly string[] = Object.freeze(
  serviceNames.map((name) => serviceCatalog[name].clientId),
);

/**
 * What a tile shows: `waiting` (nothing heard yet), `starting` (connected, still setting up),
 * `ready` (ok), `error` (ok false),
 * `lost` (its last will: the connection dropped), `shutdown` (stopped cleanly) or
 * `stale` (heartbeats stopped while its health still says ok).
 */
export type ServiceState =
  | "waiting"
  | "starting"
  | "ready"
  | "error"
  | "lost"
  | "shutdown"
  | "stale";

/** One tile of the board. */
export interface ServiceHealth {
  /** MQTT client id (`tars-stt`, ...). */
  readonly clientId: string;
  /** What the tile shows. */
  readonly state: ServiceState;
  /** The last health event (`ready`, `lost`, a custom event...), if any. */
  readonly event: string | null;
  /** The error text of the last health ping, if any. */
  readonly err: string | null;
  /** When the last health ping was produced, epoch ms (`null` before the first). */
  readonly updatedAt: number | null;
  /** When the last heartbeat arrived, epoch ms (`null` when it sends none). */
  readonly lastBeatAt: number | null;
}

/** Options of {@linkcode HealthBoard}. */
export interface HealthBoardOptions {
  /** Silence after which a heartbeating client is stale, ms. */
  readonly staleAfterMs: number;
  /** Client ids shown as `waiting` before they report. */
  readonly known?: readonly string[];
  /** Called with a tile whenever what it shows changes. */
  readonly onChange?: (health: ServiceHealth) => void;
  /** Clock, epoch ms (tests). */
  readonly now?: () => number;
  /** Clients tracked at most (unknown ids beyond this are ignored). */
  readonly maxClients?: number;
}

interface Entry {
  clientId: string;
  ping: HealthPing | null;
  lastBeatAt: number | null;
  shown: ServiceHealth;
}

/** Keeps the tiles and recomputes them on pings, beats and {@linkcode HealthBoard.check}. */
export class HealthBoard {
  readonly #options: HealthBoardOptions;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Builds a board with a `waiting` tile for every known client id. */
  constructor(options: HealthBoardOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    for (const id of options.known ?? KNOWN_CLIENT_IDS) this.#entry(id);
  }

  /** Applies a health ping of `clientId` (retained or live). */
  applyHealth(clientId: string, ping: HealthPing): void {
    const entry = this.#entry(clientId);
    if (!entry) return;
    entry.ping = ping;
    // A service that stopped or lost its connection sends no beats any more; a later beat
    // (after a restart) sets lastBeatAt again.
    if (!ping.ok) entry.lastBeatAt = null;
    this.#update(entry);
  }

  /** Records a heartbeat of `clientId`. */
  applyHeartbeat(clientId: string): void {
    const entry = this.#entry(clientId);
    if (!entry) return;
    entry.lastBeatAt = this.#now();
    this.#update(entry);
  }

  /** Re-evaluates staleness of every tile (the timer of {@linkcode start} calls it). */
  check(): void {
    for (const entry of this.#entries.values()) this.#update(entry);
  }

  /** Checks staleness every quarter of `staleAfterMs` (at least every 250 ms) until stopped. */
  start(): void {
    if (this.#timer !== undefined) return;
    const every = Math.max(250, Math.min(5_000, this.#options.staleAfterMs / 4));
    this.#timer = setInterval(() => this.check(), every);
  }

  /** Stops the staleness timer. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Every tile, known clients first, then the others by id. */
  snapshot(): ServiceHealth[] {
    const known = this.#options.known ?? KNOWN_CLIENT_IDS;
    return [...this.#entries.values()]
      .map((e) => e.shown)
      .sort((a, b) =>
        rank(known, a.clientId) - rank(known, b.clientId) || a.clientId.localeCompare(b.clientId)
      );
  }

  /** The tile of one client, if tracked. */
  get(clientId: string): ServiceHealth | undefined {
    return this.#entries.get(clientId)?.shown;
  }

  #entry(clientId: string): Entry | undefined {
    let entry = this.#entries.get(clientId);
    if (entry) return entry;
    if (this.#entries.size >= (this.#options.maxClients ?? 256)) return undefined;
    entry = { clientId, ping: null, lastBeatAt: null, shown: waiting(clientId) };
    this.#entries.set(clientId, entry);
    return entry;
  }

  #update(entry: Entry): void {
    const next = this.#compute(entry);
    const prev = entry.shown;
    entry.shown = next;
    const changed = prev.state !== next.state || prev.event !== next.event ||
      prev.err !== next.err || prev.updatedAt !== next.updatedAt ||
      (prev.lastBeatAt === null) !== (next.lastBeatAt === null);
    if (changed) this.#options.onChange?.(next);
  }

  #compute(entry: Entry): ServiceHealth {
    const { ping, lastBeatAt } = entry;
    let state: ServiceState = "waiting";
    if (ping) state = baseState(ping);
    const beating = lastBeatAt !== null;
    if (beating && (state === "ready" || state === "error" || state === "waiting")) {
      const silent = this.#now() - lastBeatAt;
      if (silent > this.#options.staleAfterMs) state = "stale";
      else if (state === "waiting") state = "ready"; // beats but no retained health seen
    }
    return {
      clientId: entry.clientId,
      state,
      event: ping?.event ?? null,
      err: ping?.err ?? null,
      updatedAt: ping ? Math.round(ping.timestamp * 1000) : null,
      lastBeatAt,
    };
  }
}

function baseState(ping: HealthPing): ServiceState {
  if (ping.event === "shutdown") return "shutdown";
  if (ping.ok) return "ready";
  if (ping.event === "starting") return "starting"; // runService, until the service's main is done
  if (ping.event === "lost") return "lost";
  return "error";
}

function waiting(clientId: string): ServiceHealth {
  return { clientId, state: "waiting", event: null, err: null, updatedAt: null, lastBeatAt: null };
}

function rank(known: readonly string[], id: string): number {
  const i = known.indexOf(id);
  return i >= 0 ? i : known.length;
}
