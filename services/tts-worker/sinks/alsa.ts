/**
 * The alsa sink: a player subprocess per utterance (`aplay`, or `paplay` for PulseAudio)
 * reading raw PCM16LE mono on stdin. Pause is SIGSTOP of the player, resume SIGCONT, stop
 * kills it (SIGTERM, SIGKILL after 200 ms), so control acts mid-sentence.
 *
 * @module
 */
import type { TtsAlsaPlayer } from "../config.ts";
import { pcm16Bytes } from "../../../lib/audio/mod.ts";
import { spawnTool } from "../../../lib/process/mod.ts";
import type { AudioSink, SinkStream, UtteranceInfo } from "./sink.ts";

/** Options of {@linkcode AlsaAudioSink}. */
export interface AlsaSinkOptions {
  /** `aplay` (default) or `paplay`. */
  readonly player?: TtsAlsaPlayer;
  /** Device (`aplay -D`, `paplay --device`); `default` = the system's. */
  readonly device?: string;
  /** Executable path when it is not the player's name. */
  readonly bin?: string;
  /** Called with the player's stderr when it exits with an error. */
  readonly onPlayerError?: (message: string) => void;
}

/** The command line of a player for raw PCM16LE mono at `sampleRate`. */
export function playerArgs(player: TtsAlsaPlayer, device: string, sampleRate: number): string[] {
  if (player === "paplay") {
    const args = ["--raw", "--format=s16le", `--rate=${sampleRate}`, "--channels=1"];
    if (device !== "default") args.push(`--device=${device}`);
    return args;
  }
  return ["-q", "-D", device, "-t", "raw", "-f", "S16_LE", "-r", String(sampleRate), "-c", "1"];
}

/** Plays through a subprocess per utterance. */
export class AlsaAudioSink implements AudioSink {
  readonly name = "alsa";
  readonly realtime = true;
  readonly #options: AlsaSinkOptions;
  readonly #live = new Set<Promise<unknown>>();

  /** Builds the sink; nothing runs until an utterance opens. */
  constructor(options: AlsaSinkOptions = {}) {
    this.#options = options;
  }

  /**
   * Spawns the player.
   *
   * @throws an Error saying how to install the player when it cannot run.
   */
  open(_utterance: UtteranceInfo, sampleRate: number): Promise<SinkStream> {
    const player = this.#options.player ?? "aplay";
    const bin = this.#options.bin ?? player;
    let child: Deno.ChildProcess;
    try {
      child = spawnTool({
        tool: player,
        bin,
        aptPackage: player === "paplay" ? "pulseaudio-utils" : "alsa-utils",
        alternative: "use TTS_SINK=mqtt or file",
        service: "tts-worker",
      }, {
        args: playerArgs(player, this.#options.device ?? "default", sampleRate),
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
      });
    } catch (error) {
      return Promise.reject(error);
    }
    const stderr = new Response(child.stderr).text();
    const exited = Promise.all([child.status, stderr]).then(([status, text]) => {
      if (!status.success && status.signal === null) {
        this.#options.onPlayerError?.(`${bin} exited with ${status.code}: ${text.trim()}`);
      }
      return status;
    });
    this.#live.add(exited);
    exited.finally(() => this.#live.delete(exited));
    const writer = child.stdin.getWriter();
    let ended = false;
    let paused = false;
    const signal = (name: Deno.Signal) => {
      try {
        child.kill(name);
      } catch { /* exited */ }
    };
    return Promise.resolve({
      write: async (samples) => {
        if (ended) return;
        try {
          await writer.write(pcm16Bytes(samples).slice());
        } catch {
          // The player died (its error is reported on exit); the speaker carries on.
        }
      },
      pause: () => {
        if (ended || paused) return;
        paused = true;
        signal("SIGSTOP");
      },
      resume: () => {
        if (ended || !paused) return;
        paused = false;
        signal("SIGCONT");
      },
      finish: async () => {
        if (ended) return;
        ended = true;
        await writer.close().catch(() => {});
        await exited;
      },
      abort: async () => {
        if (ended) return;
        ended = true;
        signal("SIGTERM");
        if (paused) signal("SIGCONT");
        writer.abort().catch(() => {});
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise((resolve) => timer = setTimeout(resolve, 200));
        await Promise.race([exited, timeout]);
        clearTimeout(timer);
        signal("SIGKILL");
        await exited;
      },
    });
  }

  /** Waits for players still exiting. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#live]);
  }
}
