/**
 * The service runner: config, logging, connect, graceful shutdown, exit codes.
 *
 * @module
 */
export {
  EXIT_CONFIG,
  runService,
  type RunServiceOptions,
  type ServiceContext,
} from "./run_service.ts";
