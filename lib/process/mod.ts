/**
 * Running external programs: {@linkcode spawnTool} spawns one and turns "not installed" into a
 * {@linkcode ToolUnavailableError} whose message says how to install it
 * (`ffmpeg not found: install ffmpeg (sudo apt-get install -y ffmpeg) or set CAMERA_FFMPEG, ...`);
 * {@linkcode toolProblem} checks once at start.
 *
 * @module
 */
export {
  installAdvice,
  spawnTool,
  toolMissingMessage,
  toolProblem,
  type ToolSpec,
  ToolUnavailableError,
} from "./tool.ts";
