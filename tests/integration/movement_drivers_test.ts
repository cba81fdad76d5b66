/**
 * The three servo drivers through one shared suite: `sim`, `pca9685` on a simulated I2C bus
 * (register map decoded), `esp32` publishing frames to a real broker.
 */
import { MqttClient, topics } from "../../core/mod.ts";
import { Esp32ServoDriver } from "../../services/movement-service/drivers/esp32.ts";
import { Pca9685ServoDriver } from "../../services/movement-service/drivers/pca9685.ts";
import { SimServoDriver } from "../../services/movement-service/drivers/sim.ts";
import { startBroker } from "../helpers/broker.ts";
import { driverSuite } from "../helpers/movement_driver_suite.ts";
import { SimulatedPca9685Bus } from "../helpers/movement_pca9685_sim.ts";
import { rawClient } from "../helpers/wait.ts";

driverSuite("sim", () => {
  const driver = new SimServoDriver();
  return Promise.resolve({
    driver,
    output: (channel) => driver.output(channel),
    [Symbol.asyncDispose]: () => driver.close(),
  });
});

driverSuite("pca9685", () => {
  const bus = new SimulatedPca9685Bus();
  const driver = new Pca9685ServoDriver({ bus, delay: () => Promise.resolve() });
  const written = new Set<number>();
  return Promise.resolve({
    driver,
    output: (channel) => {
      // Only channels the driver addressed (one by one or through ALL_LED) count as written.
      for (const t of bus.transactions) {
        const register = t.bytes[0];
        if (register === 0xfa) { for (let ch = 0; ch < 16; ch++) written.add(ch); }
        else if (register >= 6 && register < 70) written.add((register - 6) >> 2);
      }
      if (channel >= 9 && !bus.transactions.some((t) => t.bytes[0] === 6 + 4 * channel)) {
        return undefined; // unmapped channels: only ALL_LED off ever touched them
      }
      if (!written.has(channel)) return undefined;
      const out = bus.output(channel);
      return out.fullOff ? null : out.pulseTicks;
    },
    [Symbol.asyncDispose]: () => driver.close(),
  });
});

driverSuite("esp32", async () => {
  const broker = await startBroker();
  const watcher = await rawClient(broker.url);
  const outputs = new Map<number, number | null>();
  watcher.on("message", (_topic, payload) => {
    const frame = JSON.parse(new TextDecoder().decode(payload)) as Record<string, number>;
    for (const [key, value] of Object.entries(frame)) {
      if (key.startsWith("ch")) outputs.set(Number(key.slice(2)), value === 0 ? null : value);
    }
  });
  await watcher.subscribeAsync(topics.movementFrame.topic, { qos: 1 });
  const client = new MqttClient({ url: broker.url, clientId: "test-movement-esp32" });
  await client.connect({ timeoutMs: 10_000 });
  const driver = new Esp32ServoDriver(client);
  return {
    driver,
    output: (channel) => outputs.get(channel),
    [Symbol.asyncDispose]: async () => {
      await driver.close();
      await client.shutdown();
      await watcher.endAsync(true);
      await broker[Symbol.asyncDispose]();
    },
  };
});
