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
export {
  apiServerEvent,
  apiServerEventType,
  apiServerSubject,
  passesOwnerFilter,
  type KubeObjectLike,
  type ObjectChangeType,
} from './apiserver/events';
export {
  ListWatchFeed,
  StoreFeed,
  type ObjectChange,
  type ObjectFeed,
  type WatchLoop,
  type WatchLoopEvent,
  type WatchLoopFactory,
  type WatchTarget,
  type WatchableStore,
} from './apiserver/feed';
export { discoverTargets, type ApiGet, type DiscoveredTargets } from './apiserver/discovery';
export {
  ApiServerAdapter,
  type ApiServerAdapterOptions,
  type ApiServerAdapterStats,
} from './apiserver/adapter';
