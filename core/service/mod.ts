/**
 * The service kit: the catalog of services (client ids, envelope sources, heartbeat and
 * de-duplication defaults) and the runner (config, logging, connect, graceful shutdown,
 * exit codes).
 *
 * @module
 */
export {
  isServiceName,
  mqttDefaultsOf,
  serviceCatalog,
  type ServiceInfo,
  type ServiceName,
  serviceNames,
} from "./catalog.ts";
export {
  EXIT_CONFIG,
  type PrepareContext,
  type RunningService,
  runService,
  type RunServiceOptions,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceDeps,
  type ServiceEnv,
  type ServiceMain,
} from "./run_service.ts";
