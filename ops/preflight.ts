/**
 * The preflight of `deno task dev`: which optional programs and servers the development
 * stack uses were found, which were not, what is off because of it and the command that fixes
 * it, printed as one short block before the services start. Nothing here stops the stack: a
 * missing piece only turns one feature off (the service says so in its health too).
 *
 * @module
 */
import { delimiter, isAbsolute, join } from "node:path";

/** One line of the preflight. */
export interface PreflightCheck {
  /** What was looked for: `espeak-ng`, `ffmpeg`, `LLM`, `STT`. */
  readonly name: string;
  /** Whether it is usable. */
  readonly ok: boolean;
  /** Where it was found (a path or URL) or why not. */
  readonly detail: string;
  /** What does not work because of it (when not ok). */
  readonly effect?: string;
  /** The command or setting that fixes it (when not ok). */
  readonly fix?: string;
}

/** Options of {@linkcode preflight} (tests replace the lookups). */
export interface PreflightOptions {
  /** Finds a program on `PATH`; default {@linkcode findExecutable}. */
  readonly which?: (name: string) => string | null;
  /** Whether something accepts TCP connections at `url`'s host and port; default a 1 s connect. */
  readonly reachable?: (url: URL) => Promise<boolean>;
}

const APT = "sudo apt-get install -y --no-install-recommends";
const OPENAI_CLOUD = "https://api.openai.com/v1";

/**
 * The absolute path of program `name` (a name looked up on `PATH`, or a path), or `null` when
 * it is not an executable file.
 */
export function findExecutable(name: string, path: string | undefined): string | null {
  const candidates = name.includes("/")
    ? [name]
    : (path ?? "").split(delimiter).filter((dir) => dir && isAbsolute(dir)).map((dir) =>
      join(dir, name)
    );
  for (const candidate of candidates) {
    try {
      const info = Deno.statSync(candidate);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return candidate;
    } catch {
      // not there
    }
  }
  return null;
}

/** Whether a TCP connection to `url`'s host and port opens within `timeoutMs`. */
export async function tcpReachable(url: URL, timeoutMs = 1_000): Promise<boolean> {
  const secure = url.protocol === "https:" || url.protocol === "wss:";
  const port = Number(url.port) || (secure ? 443 : 80);
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  const connecting = Deno.connect({ hostname, port }).catch(() => null);
  try {
    const conn = await Promise.race([connecting, timeout]);
    if (conn) {
      conn.close();
      return true;
    }
    connecting.then((late) => late?.close()).catch(() => {});
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function off(value: string | undefined): boolean {
  return /^(0|false|no|off)$/i.test(value?.trim() ?? "");
}

function parseUrl(raw: string): URL | null {
  try {
    return new URL(raw);
  } catch {
    return null;
  }
}

/**
 * Checks what the dev stack's optional parts need with the environment `env` (the one the
 * services get): espeak-ng (tts-worker's voice), ffmpeg (camera-service's test pattern), an
 * LLM server (llm-worker) and a speech-to-text server (stt-worker).
 */
export async function preflight(
  env: Readonly<Record<string, string | undefined>>,
  options: PreflightOptions = {},
): Promise<PreflightCheck[]> {
  const which = options.which ?? ((name: string) => findExecutable(name, env.PATH));
  const reachable = options.reachable ?? ((url: URL) => tcpReachable(url));
  const checks: PreflightCheck[] = [];

  const espeak = env.TTS_ESPEAK_BIN?.trim() || "espeak-ng";
  const espeakPath = which(espeak);
  checks.push(
    espeakPath ? { name: "espeak-ng", ok: true, detail: `${espeakPath} (tts-worker's voice)` } : {
      name: "espeak-ng",
      ok: false,
      detail: `${espeak} not found`,
      effect: "TARS does not speak (replies are shown as text only)",
      fix: `${APT} espeak-ng`,
    },
  );

  if (!off(env.CAMERA_ENABLED)) {
    const ffmpeg = env.CAMERA_FFMPEG?.trim() || "ffmpeg";
    const ffmpegPath = which(ffmpeg);
    checks.push(
      ffmpegPath
        ? { name: "ffmpeg", ok: true, detail: `${ffmpegPath} (camera-service's test pattern)` }
        : {
          name: "ffmpeg",
          ok: false,
          detail: `${ffmpeg} not found`,
          effect: "no camera picture",
          fix: `${APT} ffmpeg, then restart deno task dev`,
        },
    );
  }

  checks.push(await llmCheck(env, reachable));
  checks.push(await sttCheck(env, reachable));
  return checks;
}

async function llmCheck(
  env: Readonly<Record<string, string | undefined>>,
  reachable: (url: URL) => Promise<boolean>,
): Promise<PreflightCheck> {
  const base = env.OPENAI_BASE_URL?.trim() || env.LLM_BASE_URL?.trim();
  const model = env.LLM_MODEL?.trim() || "gpt-4o-mini";
  if (!base && !env.OPENAI_API_KEY?.trim()) {
    return {
      name: "LLM",
      ok: false,
      detail: "not configured",
      effect: "TARS cannot answer (it says its language model is not configured)",
      fix: "LLM_BASE_URL=http://127.0.0.1:11434/v1 LLM_MODEL=llama3.2 deno task dev " +
        "(Ollama; llama.cpp: llama-server --port 8081 and :8081/v1), or OPENAI_API_KEY=sk-...",
    };
  }
  if (!base) return { name: "LLM", ok: true, detail: `${OPENAI_CLOUD} (model ${model})` };
  return await serverCheck("LLM", base, `model ${model}`, reachable, {
    effect: "TARS cannot answer until it runs",
    fix: `start the server at ${base} (e.g. ollama serve), or set LLM_BASE_URL`,
  });
}

async function sttCheck(
  env: Readonly<Record<string, string | undefined>>,
  reachable: (url: URL) => Promise<boolean>,
): Promise<PreflightCheck> {
  const backend = env.STT_BACKEND?.trim().toLowerCase() || "openai";
  const effect = "speech is not transcribed (typing in the dashboard works)";
  if (backend === "sherpa") {
    const dir = env.SHERPA_MODEL_DIR?.trim();
    let found = false;
    try {
      found = !!dir && Deno.statSync(dir).isDirectory;
    } catch { /* missing */ }
    return found ? { name: "STT", ok: true, detail: `sherpa-onnx model ${dir}` } : {
      name: "STT",
      ok: false,
      detail: `STT_BACKEND=sherpa without a model directory (${dir || "SHERPA_MODEL_DIR unset"})`,
      effect,
      fix: "SHERPA_MODEL_DIR=<a sherpa-onnx Whisper model directory>",
    };
  }
  if (backend === "ws") {
    const url = env.WS_URL?.trim() || "ws://127.0.0.1:9000/stt";
    return await serverCheck("STT", url, "stt-ws", reachable, {
      effect,
      fix: `start the py-tars stt-ws server at ${url}, or set WS_URL`,
    });
  }
  const own = env.STT_BASE_URL?.trim();
  const shared = env.OPENAI_BASE_URL?.trim();
  const base = own || shared;
  const notConfigured = {
    name: "STT",
    ok: false,
    effect,
    fix: "STT_BASE_URL=http://127.0.0.1:8000/v1 deno task dev (a Whisper-compatible server " +
      "with the OpenAI transcription API, e.g. speaches), or OPENAI_API_KEY=sk-...",
  };
  if (!base && !env.OPENAI_API_KEY?.trim()) return { ...notConfigured, detail: "not configured" };
  if (!base) return { name: "STT", ok: true, detail: `${OPENAI_CLOUD} (whisper-1)` };
  if (!own) {
    // llm-worker reads OPENAI_BASE_URL too: one server must do both (OpenAI, LocalAI).
    return await serverCheck("STT", base, "OPENAI_BASE_URL, shared with the LLM", reachable, {
      effect,
      fix: `start the server at ${base}, or set STT_BASE_URL to a separate Whisper server`,
    });
  }
  return await serverCheck("STT", base, "Whisper-compatible", reachable, {
    effect,
    fix: `start the Whisper-compatible server at ${base}, or set STT_BASE_URL`,
  });
}

async function serverCheck(
  name: string,
  raw: string,
  note: string,
  reachable: (url: URL) => Promise<boolean>,
  failure: { effect: string; fix: string },
): Promise<PreflightCheck> {
  const url = parseUrl(raw);
  if (!url) return { name, ok: false, detail: `${raw} is not a URL`, ...failure };
  if (await reachable(url)) return { name, ok: true, detail: `${raw} (${note})` };
  return { name, ok: false, detail: `${raw} does not answer`, ...failure };
}

/** The preflight as the launcher prints it: a header, one line per check, fixes indented. */
export function formatPreflight(checks: readonly PreflightCheck[]): string[] {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = ["preflight (optional programs and servers):"];
  for (const c of checks) {
    const name = c.name.padEnd(width);
    if (c.ok) {
      lines.push(`  ok       ${name}  ${c.detail}`);
    } else {
      lines.push(`  MISSING  ${name}  ${c.detail}: ${c.effect}`);
      lines.push(`           ${" ".repeat(width)}  fix: ${c.fix}`);
    }
  }
  const missing = checks.filter((c) => !c.ok).length;
  lines.push(
    missing === 0
      ? "  everything found"
      : `  ${missing} missing: the rest runs; see README "Get started" for what each one enables`,
  );
  return lines;
}
