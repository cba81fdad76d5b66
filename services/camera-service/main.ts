/**
 * camera-service: captures frames through ffmpeg (a V4L2 camera, or the lavfi test pattern
 * by default), serves them over HTTP (/stream MJPEG, /snapshot, /healthz), publishes
 * camera/frame at CAMERA_MQTT_RATE and answers camera/capture with camera/image.
 *
 * @module
 */
import { runService } from "../../core/mod.ts";
import { readCameraConfig } from "./config.ts";
import { startCameraService } from "./service.ts";

if (import.meta.main) {
  await runService("camera-service", {
    readConfig: readCameraConfig,
    main: (ctx) => startCameraService(ctx, { config: ctx.config }),
  });
}
