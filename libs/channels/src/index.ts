export * from './backend';
export {
  MemoryChannelBackend,
  DISCARD_REASONS,
  nackDelay,
  type MemoryChannelBackendOptions,
  type SubscriptionStats,
} from './memory/memory-backend';
