// The NATS JetStream store, its own entry point (`@eventing/channels/jetstream`) so that a process
// that does not use NATS never loads the NATS client.
export {
  JetStreamChannelBackend,
  MALFORMED_EVENT_TYPE,
  MALFORMED_MESSAGE,
  type JetStreamChannelBackendOptions,
  type JetStreamChannelSettings,
  type MalformedJetStreamMessage,
} from './jetstream-backend';
export { JetStreamStreamProvisioner, type JetStreamProvisionerOptions } from './provision';
