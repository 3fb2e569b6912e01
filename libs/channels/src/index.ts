export * from './backend';
export {
  MemoryChannelBackend,
  DISCARD_REASONS,
  nackDelay,
  type MemoryChannelBackendOptions,
  type SubscriptionStats,
} from './memory/memory-backend';
// The durable stores have entry points of their own: @eventing/channels/kafka and @eventing/channels/jetstream.
export { backendProvisioner, type StoreProvisioner } from './provisioner';
