export {
  CAMERA_BOUNDARY,
  CameraServer,
  type CameraServerOptions,
  type CameraServerStats,
} from './camera/camera-server';
export { FRAME_HEIGHT, FRAME_WIDTH, prepareTestPattern, TestPattern } from './camera/test-pattern';
export { createCanonicalProtocol } from './canonical-protocol';
export { type ExecutionPlan, executeCommand } from './command-executor';
export { Fleet, type FleetOptions, type FleetStats, fleetRobotIds } from './fleet';
export { createLegacyProtocol } from './legacy-protocol';
export { createPrng, deriveSeed, type Prng } from './prng';
export {
  type JobSpec,
  RobotModel,
  type RobotModelOptions,
  SCAN_CODES_PER_STATION,
  scanCode,
  simulatedScanCodes,
} from './robot-model';
export type { Activity, JobSnapshot, ModelEvent, RobotReadings } from './robot-readings';
export {
  AGENT_VERSION,
  type AgentLogger,
  SimulatedRobot,
  type SimulatedRobotOptions,
} from './simulated-robot';
export type { RobotCommand, WireProtocol } from './wire-protocol';
