import {
  ChannelConditionSet,
  InMemoryChannelConditionSet,
  type ChannelableStatus,
  type ConditionSet,
  type DeliverySpec,
  type Resource,
} from '@eventing/api';
import type { AddressResolver } from '../resolver/address-resolver';

export interface ChannelContext {
  /** The URL at which the data plane serves this channel. */
  channelUrl(namespace: string, name: string): string;
  resolver: AddressResolver;
  /** uids (and generations) of the Subscriptions the data plane runs on this channel. */
  subscribers: { uid: string; generation: number }[];
}

interface ChannelLike extends Resource {
  spec?: { delivery?: DeliverySpec; channelTemplate?: { apiVersion?: string; kind?: string } };
  status?: ChannelableStatus & { channel?: unknown };
}

/**
 * Computes the status of an InMemoryChannel or a Channel (served directly in memory in standalone
 * mode, so its backing channel is itself): address, dead-letter sink, subscriber readiness (C3).
 */
export function reconcileChannel(
  channel: ChannelLike,
  ctx: ChannelContext,
): ChannelableStatus & { channel?: unknown } {
  const { namespace = 'default', name = '' } = channel.metadata;
  const isChannel = channel.kind === 'Channel';
  const set: ConditionSet = isChannel ? ChannelConditionSet : InMemoryChannelConditionSet;
  let conds = set.initialize(channel.status?.conditions ?? []);
  const status: ChannelableStatus & { channel?: unknown } = {
    observedGeneration: channel.metadata.generation ?? 1,
  };

  if (isChannel) {
    const template = channel.spec?.channelTemplate;
    status.channel = {
      apiVersion: template?.apiVersion ?? 'messaging.knative.dev/v1',
      kind: template?.kind ?? 'InMemoryChannel',
      name,
      namespace,
    };
    conds = set.markTrue(conds, 'BackingChannelReady', 'InMemory', 'served by the in-process memory channel');
  } else {
    for (const type of ['DispatcherReady', 'ServiceReady', 'EndpointsReady', 'ChannelServiceReady'])
      conds = set.markTrue(conds, type);
  }
  conds = set.markTrue(conds, 'EventPoliciesReady', 'DefaultAuthorizationMode', 'authentication is disabled');

  const dls = channel.spec?.delivery?.deadLetterSink;
  if (dls === undefined) {
    conds = set.markTrue(
      conds,
      'DeadLetterSinkResolved',
      'DeadLetterSinkNotConfigured',
      'No dead letter sink is configured.',
    );
  } else {
    const resolved = ctx.resolver.resolve(dls, namespace);
    if (resolved.ok) {
      status.deadLetterSinkUri = resolved.uri;
      conds = set.markTrue(conds, 'DeadLetterSinkResolved');
    } else {
      conds = set.markFalse(
        conds,
        'DeadLetterSinkResolved',
        "Unable to get the DeadLetterSink's URI",
        resolved.reason,
      );
    }
  }
  const url = ctx.channelUrl(namespace, name);
  status.address = { name: 'http', url };
  status.addresses = [{ name: 'http', url }];
  conds = set.markTrue(conds, 'Addressable');
  if (ctx.subscribers.length > 0) {
    status.subscribers = ctx.subscribers.map((s) => ({
      uid: s.uid,
      observedGeneration: s.generation,
      ready: 'True' as const,
    }));
  }
  status.conditions = conds;
  return status;
}
