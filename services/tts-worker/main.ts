/**
 * tts-worker: speaks tts/say (espeak-ng, or a Piper voice with espeak-ng as fallback) into
 * the configured sink (mqtt chunks for the browser, an ALSA/PulseAudio player, or WAV
 * files), reports tts/status and obeys tts/control at once, mid-sentence.
 *
 * @module
 */
import { runService } from "../../core/mod.ts";
import { readTtsConfig } from "./config.ts";
import { startTtsService } from "./service.ts";

if (import.meta.main) {
  await runService("tts-worker", async ({ client, logger, signal, env }) => {
    const config = readTtsConfig(env);
    const service = await startTtsService({ client, logger }, config);
    if (!signal.aborted) {
      await new Promise<void>((resolve) =>
        signal.addEventListener("abort", () => resolve(), { once: true })
      );
    }
    await service.close();
  }, { mqtt: { clientId: "tars-tts" } });
}
