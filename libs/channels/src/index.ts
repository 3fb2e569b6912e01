export * from './backend';
export {
  MemoryChannelBackend,
  type MemoryChannelBackendOptions,
  type SubscriptionStats,
} from './memory/memory-backend';
