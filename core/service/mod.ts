/**
 * The service runner: config, logging, connect, graceful shutdown, exit codes.
 *
 * @module
 */
export {
  EXIT_CONFIG,
  type RunningService,
  runService,
  type RunServiceOptions,
  type ServiceContext,
  type ServiceMain,
} from "./run_service.ts";
