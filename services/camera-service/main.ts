/**
 * camera-service: captures frames through ffmpeg (a V4L2 camera, or the lavfi test pattern
 * by default), serves them over HTTP (/stream MJPEG, /snapshot, /healthz), publishes
 * camera/frame at CAMERA_MQTT_RATE and answers camera/capture with camera/image.
 *
 * @module
 */
import { ConfigError, EXIT_CONFIG, runService } from "../../core/mod.ts";
import { type CameraConfig, readCameraConfig } from "./config.ts";
import { startCameraService } from "./service.ts";

if (import.meta.main) {
  // Checked before connecting, so a bad setting is reported even when the broker is down.
  let config: CameraConfig;
  try {
    config = readCameraConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    Deno.exit(EXIT_CONFIG);
  }
  await runService(
    "camera-service",
    ({ client, logger }) => startCameraService({ client, logger }, { config }),
    { mqtt: { clientId: "tars-camera", enableHeartbeat: true } },
  );
}
