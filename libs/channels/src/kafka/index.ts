// The Kafka store, its own entry point (`@eventing/channels/kafka`) so that a process that does not
// use Kafka never loads the Kafka client.
export * from './kafka-backend';
export { KafkaTopicProvisioner, type KafkaProvisionerOptions } from './provision';
