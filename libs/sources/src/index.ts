export type { PingSpec } from './ping/types';
export { buildPingEvent, pingEventSource, PING_EVENT_TYPE } from './ping/event';
export { nextRuns } from './ping/schedule';
export {
  PingScheduler,
  InvalidScheduleError,
  type PingSchedulerOptions,
  type PingSend,
  type PingLogger,
} from './ping/scheduler';
export {
  ClaimedPingScheduler,
  MemoryTickLedger,
  type ClaimedPingSchedulerOptions,
  type ClaimedPingSend,
  type TickLedger,
} from './ping/claimed-scheduler';
