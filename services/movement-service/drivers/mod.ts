/**
 * Builds the driver `MOVEMENT_DRIVER` names.
 *
 * @module
 */
import type { MqttClient } from "../../../core/mod.ts";
import type { MovementConfig } from "../config.ts";
import type { ServoDriver } from "./driver.ts";
import { Esp32ServoDriver } from "./esp32.ts";
import { LinuxI2cBus } from "./i2c.ts";
import { Pca9685ServoDriver } from "./pca9685.ts";
import { SimServoDriver } from "./sim.ts";

/** Creates (does not open) the configured driver. */
export function createDriver(config: MovementConfig, client: MqttClient): ServoDriver {
  switch (config.driver) {
    case "sim":
      return new SimServoDriver();
    case "esp32":
      return new Esp32ServoDriver(client);
    case "pca9685":
      return new Pca9685ServoDriver({
        bus: LinuxI2cBus.open(config.i2cDevice),
        address: config.i2cAddress,
        oscillatorHz: config.oscillatorHz,
      });
  }
}
