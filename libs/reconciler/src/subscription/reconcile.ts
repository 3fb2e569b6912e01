import {
  SubscriptionConditionSet,
  type DeliverySpec,
  type Resource,
  type Subscription,
  type SubscriptionStatus,
} from '@eventing/api';
import type { SubscriptionEntry } from '@eventing/contract';
import type { AddressResolver } from '../resolver/address-resolver';
import { compileRetryPolicy, effectiveDelivery } from '../contract/delivery';
import { markObserved, type Observation } from '../observation/observation';

export interface SubscriptionResult {
  status: SubscriptionStatus;
  egress?: SubscriptionEntry;
}

interface ChannelLike extends Resource {
  spec?: { delivery?: DeliverySpec };
  status?: { conditions?: { type: string; status: string }[]; deadLetterSinkUri?: string };
}

/**
 * Computes a Subscription's status and its data-plane entry: the channel it reads, the resolved
 * subscriber and reply (1.6 item 6), and its delivery — its own, else the channel's, as a unit.
 */
export function reconcileSubscription(
  subscription: Subscription,
  channel: ChannelLike | undefined,
  ctx: {
    resolver: AddressResolver;
    /** Whether the data plane serves the channel. */
    channelAdmitted: boolean;
    /** What the data plane made of this subscription in its last apply. */
    observed: Observation;
  },
): SubscriptionResult {
  const resolver = ctx.resolver;
  const set = SubscriptionConditionSet;
  const { namespace = 'default', name = '', uid = '' } = subscription.metadata;
  const spec = subscription.spec;
  let conds = set.initialize(subscription.status?.conditions ?? []);
  const status: SubscriptionStatus = { observedGeneration: subscription.metadata.generation ?? 1 };
  conds = set.markTrue(conds, 'OIDCIdentityCreated', 'authentication-oidc feature disabled');

  const problems: string[] = [];
  if (channel === undefined)
    problems.push(`channel ${spec.channel.kind} ${namespace}/${spec.channel.name} not found`);
  const subscriber = resolver.resolve(spec.subscriber, namespace);
  if (!subscriber.ok) problems.push(`subscriber: ${subscriber.reason}`);
  const reply = spec.reply !== undefined ? resolver.resolve(spec.reply, namespace) : undefined;
  if (reply !== undefined && !reply.ok) problems.push(`reply: ${reply.reason}`);
  const ownDls = spec.delivery?.deadLetterSink;
  const dls = ownDls !== undefined ? resolver.resolve(ownDls, namespace) : undefined;
  if (dls !== undefined && !dls.ok) problems.push(`deadLetterSink: ${dls.reason}`);

  const physical: NonNullable<SubscriptionStatus['physicalSubscription']> = {};
  if (subscriber.ok) physical.subscriberUri = subscriber.uri;
  if (reply?.ok) physical.replyUri = reply.uri;
  const deadLetterUri = dls?.ok
    ? dls.uri
    : ownDls === undefined
      ? channel?.status?.deadLetterSinkUri
      : undefined;
  if (deadLetterUri !== undefined) physical.deadLetterSinkUri = deadLetterUri;
  status.physicalSubscription = physical;

  if (problems.length > 0) {
    conds = set.markFalse(conds, 'ReferencesResolved', 'ReferencesNotResolved', problems.join('; '));
    conds = set.markUnknown(conds, 'AddedToChannel', 'ReferencesNotResolved', 'waiting for the references');
  } else {
    conds = set.markTrue(conds, 'ReferencesResolved');
    conds = ctx.channelAdmitted
      ? markObserved(set, conds, 'AddedToChannel', ctx.observed)
      : set.markFalse(
          conds,
          'AddedToChannel',
          'ChannelNotServed',
          `channel ${namespace}/${spec.channel.name} is not served here`,
        );
  }
  const channelReady = channel?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  conds = channelReady
    ? set.markTrue(conds, 'ChannelReady')
    : set.markFalse(
        conds,
        'ChannelReady',
        'ChannelNotReady',
        `channel ${namespace}/${spec.channel.name} is not ready`,
      );
  status.conditions = conds;

  if (problems.length > 0 || !ctx.channelAdmitted || channel === undefined || !subscriber.ok)
    return { status };
  const delivery = effectiveDelivery(spec.delivery, channel.spec?.delivery);
  const egress: SubscriptionEntry = {
    uid,
    namespace,
    name,
    channel: { namespace: channel.metadata.namespace ?? namespace, name: channel.metadata.name ?? '' },
    subscriberUri: subscriber.uri,
    policy: compileRetryPolicy(delivery),
    format: delivery?.format === 'json' ? 'json' : 'binary',
  };
  if (reply?.ok) egress.replyUri = reply.uri;
  if (deadLetterUri !== undefined) egress.deadLetterUri = deadLetterUri;
  return { status, egress };
}
