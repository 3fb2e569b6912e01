import type { ChannelRef } from '../backend';

// Names as eventing-natss's dispatcher gives them (pkg/channel/jetstream/utils/naming.go), so a
// stream or durable consumer created by either one is found by the other.

/** JetStream refuses these in stream and consumer names. */
const INVALID_NAME = /[\s.*>/\\]/u;

/** `KN_<NAMESPACE>__<NAME>`, upper case, hyphens as underscores (upstream's StreamName). */
export function streamName(channel: ChannelRef): string {
  return `KN_${channel.namespace}__${channel.name}`.replace(/-/g, '_').toUpperCase();
}

/** `<namespace>.<name>._knative`: the subject events of a channel are published on (upstream's PublishSubjectName). */
export function publishSubject(channel: ChannelRef): string {
  return `${channel.namespace}.${channel.name}._knative`;
}

/**
 * `KN_SUB_<ID>`: the durable consumer of one subscription, the id upper case without hyphens
 * (upstream's ConsumerName of the Subscription or Trigger uid). Throws for an id JetStream cannot
 * name a consumer after.
 */
export function consumerName(subscriptionId: string): string {
  const name = `KN_SUB_${subscriptionId.replace(/-/g, '').toUpperCase()}`;
  if (subscriptionId === '' || INVALID_NAME.test(name)) {
    throw new RangeError(
      `subscription id ${JSON.stringify(subscriptionId)} cannot name a JetStream consumer (no whitespace, '.', '*', '>', '/' or '\\')`,
    );
  }
  return name;
}

/** Throws unless `name` can name a durable consumer (one the control plane named). */
export function checkConsumerName(name: string): string {
  if (name === '' || INVALID_NAME.test(name)) {
    throw new RangeError(
      `consumerGroup ${JSON.stringify(name)} cannot name a JetStream consumer (no whitespace, '.', '*', '>', '/' or '\\')`,
    );
  }
  return name;
}

/** Throws unless `name` can name a stream (an overridden stream name). */
export function checkStreamName(name: string): string {
  if (name === '' || INVALID_NAME.test(name)) {
    throw new RangeError(
      `${JSON.stringify(name)} cannot name a JetStream stream (no whitespace, '.', '*', '>', '/' or '\\')`,
    );
  }
  return name;
}
