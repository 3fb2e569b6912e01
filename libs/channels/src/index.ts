export * from './backend';
export {
  MemoryChannelBackend,
  DISCARD_REASONS,
  nackDelay,
  type MemoryChannelBackendOptions,
  type SubscriptionStats,
} from './memory/memory-backend';
export * from './kafka/kafka-backend';
export {
  JetStreamChannelBackend,
  MALFORMED_EVENT_TYPE,
  MALFORMED_MESSAGE,
  type JetStreamChannelBackendOptions,
  type JetStreamChannelSettings,
  type MalformedJetStreamMessage,
} from './jetstream/jetstream-backend';
