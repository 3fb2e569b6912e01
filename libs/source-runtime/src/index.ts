export { SourceEnvError, parseCeOverrides, readSourceEnv, type CeOverrides, type SourceEnv } from './env';
export { applyCeOverrides, sourceEvent, type SourceEventInit } from './event';
export {
  SOURCE_DELIVERY_POLICY,
  SourceClient,
  type SourceClientOptions,
  type SourceSendResult,
  type SourceSink,
  type SourceTarget,
} from './client';
