/**
 * Starts camera-service in-process for integration tests: real config parsing, a real MQTT
 * client on the test broker, ffmpeg capture and the HTTP server on a free port.
 *
 * @module
 */
import { getLogger, type MqttClient } from "../../core/mod.ts";
import { readCameraConfig } from "../../services/camera-service/config.ts";
import { type CameraService, startCameraService } from "../../services/camera-service/service.ts";
import { testClient } from "./wait.ts";

/** A running in-process camera-service. */
export interface TestCamera extends AsyncDisposable {
  /** The service. */
  readonly service: CameraService;
  /** Its MQTT client. */
  readonly client: MqttClient;
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
}

/** Starts the service with `env` (HTTP on 127.0.0.1, any free port, unless set). */
export async function startTestCamera(
  brokerUrl: string,
  env: Record<string, string> = {},
): Promise<TestCamera> {
  const config = readCameraConfig({
    CAMERA_HTTP_HOST: "127.0.0.1",
    CAMERA_HTTP_PORT: "0",
    CAMERA_WIDTH: "320",
    CAMERA_HEIGHT: "240",
    CAMERA_FPS: "10",
    CAMERA_RESTART_MIN_MS: "100",
    CAMERA_RESTART_MAX_MS: "500",
    ...env,
  });
  const client = testClient(brokerUrl, {
    clientId: `test-camera-${crypto.randomUUID().slice(0, 6)}`,
  });
  await client.connect({ timeoutMs: 10_000 });
  try {
    const service = await startCameraService({ client, logger: getLogger("camera-service") }, {
      config,
    });
    return {
      service,
      client,
      baseUrl: `http://127.0.0.1:${service.http.port}`,
      async [Symbol.asyncDispose]() {
        await service.close();
        await client.shutdown();
      },
    };
  } catch (error) {
    await client.shutdown();
    throw error;
  }
}
