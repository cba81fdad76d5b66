/**
 * Running an external program (ffmpeg, espeak-ng, arecord, aplay, ...) and, when it cannot
 * run, one error that says how to install it.
 *
 * @module
 */

/** What a service needs to know to run a program and to tell the user how to get it. */
export interface ToolSpec {
  /** The program as users know it, e.g. `ffmpeg`. */
  readonly tool: string;
  /** The executable to run: a name looked up on `PATH` or a path. Default {@linkcode tool}. */
  readonly bin?: string;
  /** The Debian package that installs it, e.g. `alsa-utils` for `arecord`. */
  readonly aptPackage: string;
  /** The variable that points the service at another executable, e.g. `CAMERA_FFMPEG`. */
  readonly envVar?: string;
  /** Another way out, said after "or", e.g. `choose AUDIO_SOURCE=mqtt or file`. */
  readonly alternative?: string;
  /**
   * The service that runs it. Its `--allow-run` permission is fixed when it starts, so a
   * program installed later needs a restart: the advice ends with "then restart <service>".
   */
  readonly service?: string;
  /** What does not work until it is fixed, e.g. `until then replies are shown, not spoken`. */
  readonly consequence?: string;
  /** Name the executable after the tool: `ffmpeg not found (/opt/ff/ffmpeg): ...`. */
  readonly showBin?: boolean;
}

/**
 * The program cannot run here: it is not installed (`reason: "missing"`), or the process's
 * `--allow-run` permission does not cover it (`reason: "not-permitted"`). The message says
 * how to fix it.
 */
export class ToolUnavailableError extends Error {
  /** The executable that was tried. */
  readonly bin: string;
  /** Why it cannot run. */
  readonly reason: "missing" | "not-permitted";

  /** Builds the error with its message (see {@linkcode toolMissingMessage}). */
  constructor(
    message: string,
    bin: string,
    reason: "missing" | "not-permitted",
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ToolUnavailableError";
    this.bin = bin;
    this.reason = reason;
  }
}

/**
 * How to get the program: `install <pkg> (sudo apt-get install -y <pkg>) or set <VAR>, then
 * restart <service>; <consequence>` (the parts the spec has).
 */
export function installAdvice(spec: ToolSpec): string {
  const apt = `install ${spec.aptPackage} (sudo apt-get install -y ${spec.aptPackage})`;
  const orSet = spec.envVar ? ` or set ${spec.envVar}` : "";
  const orElse = spec.alternative ? ` or ${spec.alternative}` : "";
  const restart = spec.service ? `, then restart ${spec.service}` : "";
  const consequence = spec.consequence ? `; ${spec.consequence}` : "";
  return apt + orSet + orElse + restart + consequence;
}

/** `<bin> not found: <install advice>` (or `<tool> not found (<bin>): ...` with `showBin`). */
export function toolMissingMessage(spec: ToolSpec): string {
  const bin = spec.bin ?? spec.tool;
  const what = spec.showBin ? `${spec.tool} not found (${bin})` : `${bin} not found`;
  return `${what}: ${installAdvice(spec)}`;
}

/** `<service> may not run <bin>: ...; restart <service>` for a program installed after start. */
function notPermittedMessage(spec: ToolSpec): string {
  const bin = spec.bin ?? spec.tool;
  const who = spec.service ?? "this process";
  const other = spec.envVar ? `, or for another ${spec.envVar}` : "";
  const restart = spec.service
    ? `restart ${spec.service} (deno task dev: Ctrl-C, then start it again)`
    : "restart it";
  return `${who} may not run ${bin}: its --allow-run permission was fixed when it started ` +
    `(before ${spec.tool} was installed${other}); ${restart}`;
}

/** The error for a failed spawn: {@linkcode ToolUnavailableError} or `Cannot run <bin>: ...`. */
function spawnError(spec: ToolSpec, error: unknown): Error {
  const bin = spec.bin ?? spec.tool;
  if (error instanceof Deno.errors.NotFound) {
    return new ToolUnavailableError(toolMissingMessage(spec), bin, "missing", { cause: error });
  }
  if (error instanceof Deno.errors.NotCapable) {
    // Deno resolves --allow-run=<name> to a path when the process starts: a program installed
    // later (or another <envVar>) is not covered until a restart.
    return new ToolUnavailableError(notPermittedMessage(spec), bin, "not-permitted", {
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`Cannot run ${bin}: ${message}; ${installAdvice(spec)}`, { cause: error });
}

/**
 * Spawns `spec.bin` with `options` (`new Deno.Command(bin, options).spawn()`).
 *
 * @throws {ToolUnavailableError} when the program is not installed or not permitted, with a
 *   message that says how to install it; another Error `Cannot run <bin>: ...` otherwise.
 *
 * @example
 * ```ts
 * import { spawnTool } from "./mod.ts";
 *
 * const child = spawnTool(
 *   { tool: "espeak-ng", aptPackage: "espeak-ng", envVar: "TTS_ESPEAK_BIN" },
 *   { args: ["--version"], stdout: "null", stderr: "null" },
 * );
 * await child.status;
 * ```
 */
export function spawnTool(spec: ToolSpec, options: Deno.CommandOptions = {}): Deno.ChildProcess {
  try {
    return new Deno.Command(spec.bin ?? spec.tool, options).spawn();
  } catch (error) {
    throw spawnError(spec, error);
  }
}

/**
 * Why the program cannot run here, with the fix, or `null` when it can: runs
 * `<bin> <args>` (default `--version`) once and checks that it exits with 0.
 */
export async function toolProblem(
  spec: ToolSpec,
  args: readonly string[] = ["--version"],
): Promise<string | null> {
  const bin = spec.bin ?? spec.tool;
  try {
    const { success } = await new Deno.Command(bin, {
      args: [...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? null : `${bin} ${args.join(" ")} failed: check the ${spec.tool} installation`;
  } catch (error) {
    return spawnError(spec, error).message;
  }
}
