/**
 * The `esp32` driver, for robots that keep the py-tars ESP32 board as their PWM stage: each
 * frame goes as raw JSON `{"chN": ticks}` to `movement/frame`, which the firmware applies
 * at once (`pwm.set_pwm(ch, 0, ticks)`). Sequencing, clamping, the queue and the emergency
 * stop stay here; the firmware only drives the pins. `disable` sends pulse 0 on every TARS
 * channel, which is what the firmware's own `disable_all_servos` writes.
 *
 * @module
 */
import { type MqttClient, type ServoFrame, topics } from "../../../core/mod.ts";
import { clampPose, type PulseMap, SERVOS } from "../servo_map.ts";
import { DriverClosedError, type ServoDriver } from "./driver.ts";

/** Publishes frames to the ESP32 firmware over MQTT. */
export class Esp32ServoDriver implements ServoDriver {
  /** Always `esp32`. */
  readonly name = "esp32" as const;
  readonly #client: MqttClient;
  #state: "new" | "open" | "closed" = "new";

  /** Creates the driver on the service's client. */
  constructor(client: MqttClient) {
    this.#client = client;
  }

  /** Switches the firmware's outputs off. */
  async open(): Promise<void> {
    if (this.#state === "closed") throw new DriverClosedError("esp32", "closed");
    this.#state = "open";
    await this.#off();
  }

  /** Publishes one frame (clamped) on movement/frame. */
  async apply(pulses: PulseMap): Promise<void> {
    if (this.#state !== "open") {
      throw new DriverClosedError("esp32", this.#state === "new" ? "not opened" : "closed");
    }
    const frame: Record<string, number> = {};
    for (const [channel, pulse] of Object.entries(clampPose(pulses))) frame[`ch${channel}`] = pulse;
    await this.#client.publishJson(topics.movementFrame, frame as ServoFrame);
  }

  /** Publishes pulse 0 for every TARS channel. */
  async disable(): Promise<void> {
    if (this.#state === "open") await this.#off();
  }

  /** Switches off (while the client is still connected) and closes. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const wasOpen = this.#state === "open";
    this.#state = "closed";
    if (wasOpen && this.#client.connected) await this.#off();
  }

  async #off(): Promise<void> {
    const frame: Record<string, number> = {};
    for (const servo of SERVOS) frame[`ch${servo.channel}`] = 0;
    await this.#client.publishJson(topics.movementFrame, frame as ServoFrame);
  }
}
