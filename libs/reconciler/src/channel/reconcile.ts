import {
  ChannelConditionSet,
  InMemoryChannelConditionSet,
  type ChannelableStatus,
  type ConditionSet,
  type DeliverySpec,
  type Resource,
} from '@eventing/api';
import type { AddressResolver } from '../resolver/address-resolver';
import { markObserved, type Observation } from '../observation/observation';

export interface ChannelContext {
  /** The URL at which the data plane serves this channel. */
  channelUrl(namespace: string, name: string): string;
  resolver: AddressResolver;
  /** uids (and generations) of the Subscriptions on this channel, with what the data plane made of each. */
  subscribers: { uid: string; generation: number; observed: Observation }[];
  /** Channel kinds a Channel's template may name here. */
  channelKinds: readonly string[];
  /** What the data plane made of this channel in its last apply. */
  observed: Observation;
}

export interface ChannelResult {
  status: ChannelableStatus & { channel?: unknown };
  /** Whether the data plane should serve it (a channel kind it serves). */
  admitted: boolean;
}

interface ChannelLike extends Resource {
  spec?: { delivery?: DeliverySpec; channelTemplate?: { apiVersion?: string; kind?: string } };
  status?: ChannelableStatus & { channel?: unknown };
}

/**
 * Computes the status of an InMemoryChannel or a Channel (served directly in memory in standalone
 * mode, so its backing channel is itself): address, dead-letter sink, subscriber readiness (C3).
 */
export function reconcileChannel(channel: ChannelLike, ctx: ChannelContext): ChannelResult {
  const { namespace = 'default', name = '' } = channel.metadata;
  const isChannel = channel.kind === 'Channel';
  const set: ConditionSet = isChannel ? ChannelConditionSet : InMemoryChannelConditionSet;
  let conds = set.initialize(channel.status?.conditions ?? []);
  const status: ChannelableStatus & { channel?: unknown } = {
    observedGeneration: channel.metadata.generation ?? 1,
  };

  let admitted = true;
  if (isChannel) {
    const template = channel.spec?.channelTemplate;
    const kind = template?.kind ?? 'InMemoryChannel';
    status.channel = {
      apiVersion: template?.apiVersion ?? 'messaging.knative.dev/v1',
      kind,
      name,
      namespace,
    };
    admitted = ctx.channelKinds.includes(kind);
    conds = admitted
      ? markObserved(set, conds, 'BackingChannelReady', ctx.observed)
      : set.markFalse(
          conds,
          'BackingChannelReady',
          'ChannelKindNotSupported',
          `channel kind ${template?.apiVersion ?? ''}/${kind} is not served here (served: ${ctx.channelKinds.join(', ')})`,
        );
  } else {
    for (const type of ['DispatcherReady', 'ServiceReady', 'EndpointsReady', 'ChannelServiceReady'])
      conds = markObserved(set, conds, type, ctx.observed);
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
  if (admitted) {
    const url = ctx.channelUrl(namespace, name);
    status.address = { name: 'http', url };
    status.addresses = [{ name: 'http', url }];
    conds = set.markTrue(conds, 'Addressable');
  } else {
    const kind = (status.channel as { kind?: string } | undefined)?.kind ?? channel.kind;
    conds = set.markFalse(
      conds,
      'Addressable',
      'ChannelKindNotSupported',
      `channel kind ${kind} is not served here (served: ${ctx.channelKinds.join(', ')})`,
    );
  }
  if (ctx.subscribers.length > 0) {
    status.subscribers = ctx.subscribers.map((s) => ({
      uid: s.uid,
      observedGeneration: s.generation,
      ready: s.observed.status,
      ...(s.observed.status !== 'True' ? { message: s.observed.message } : {}),
    }));
  }
  status.conditions = conds;
  return { status, admitted };
}
