import {
  ChannelConditionSet,
  InMemoryChannelConditionSet,
  KafkaChannelConditionSet,
  NatsJetStreamChannelConditionSet,
  type ChannelableStatus,
  type ConditionSet,
  type DeliverySpec,
  type Resource,
} from '@eventing/api';
import type { StoreKind, StoreSettings } from '@eventing/contract';
import type { AddressResolver } from '../resolver/address-resolver';
import { markObserved, type Capabilities, type Observation } from '../observation/observation';
import { storeOfChannelKind } from '../broker/store';

export interface ChannelContext {
  /** The URL at which the data plane serves this channel (`store`: where its events live). */
  channelUrl(namespace: string, name: string, store?: StoreKind): string;
  resolver: AddressResolver;
  /** uids (and generations) of the Subscriptions on this channel, with what the data plane made of each. */
  subscribers: { uid: string; generation: number; observed: Observation }[];
  /** Channel kinds served here. */
  capabilities: Capabilities;
  /** What the data plane made of this channel in its last apply. */
  observed: Observation;
}

export interface ChannelResult {
  status: ChannelableStatus & { channel?: unknown };
  /** Whether the data plane should serve it (a channel kind it serves). */
  admitted: boolean;
  /** Where its events are stored, when admitted. */
  store?: StoreKind;
  storeSettings?: StoreSettings;
}

interface ChannelLike extends Resource {
  spec?: {
    delivery?: DeliverySpec;
    channelTemplate?: { apiVersion?: string; kind?: string; spec?: Record<string, unknown> };
  } & Record<string, unknown>;
  status?: ChannelableStatus & { channel?: unknown };
}

/**
 * Per kind: its condition set and the conditions that report the data plane (upstream's names; in
 * standalone every one of them is what the data plane reported about the channel's store and consumers).
 */
const KINDS: Record<string, { set: ConditionSet; dataPlane: readonly string[] }> = {
  InMemoryChannel: {
    set: InMemoryChannelConditionSet,
    dataPlane: ['DispatcherReady', 'ServiceReady', 'EndpointsReady', 'ChannelServiceReady'],
  },
  Channel: { set: ChannelConditionSet, dataPlane: ['BackingChannelReady'] },
  KafkaChannel: {
    set: KafkaChannelConditionSet,
    dataPlane: ['ConfigMapUpdated', 'ConfigParsed', 'ProbeSucceeded', 'Subscribers', 'TopicReady'],
  },
  NatsJetStreamChannel: {
    set: NatsJetStreamChannelConditionSet,
    dataPlane: ['ChannelServiceReady', 'DispatcherReady', 'EndpointsReady', 'ServiceReady', 'StreamReady'],
  },
};

/** The channel kinds the controller reconciles. */
export const CHANNEL_KINDS = Object.keys(KINDS);

/**
 * Computes the status of a channel of any kind — InMemoryChannel, KafkaChannel, NatsJetStreamChannel,
 * or a Channel (served directly in the store its template names, so its backing channel is itself):
 * the store, address, dead-letter sink and subscriber readiness (C3), every data-plane condition from
 * what the data plane reported, and a kind this process does not serve named as such.
 */
export function reconcileChannel(channel: ChannelLike, ctx: ChannelContext): ChannelResult {
  const { namespace = 'default', name = '' } = channel.metadata;
  const shape = KINDS[channel.kind] ?? (KINDS['InMemoryChannel'] as (typeof KINDS)[string]);
  const set = shape.set;
  let conds = set.initialize(channel.status?.conditions ?? []);
  const status: ChannelableStatus & { channel?: unknown } = {
    observedGeneration: channel.metadata.generation ?? 1,
  };

  let choice;
  if (channel.kind === 'Channel') {
    const template = channel.spec?.channelTemplate;
    const apiVersion = template?.apiVersion ?? 'messaging.knative.dev/v1';
    const kind = template?.kind ?? 'InMemoryChannel';
    status.channel = { apiVersion, kind, name, namespace };
    choice = storeOfChannelKind(apiVersion, kind, template?.spec, ctx.capabilities);
  } else {
    choice = storeOfChannelKind(channel.apiVersion, channel.kind, channel.spec, ctx.capabilities);
  }
  for (const type of shape.dataPlane)
    conds = choice.ok
      ? markObserved(set, conds, type, ctx.observed)
      : set.markFalse(conds, type, choice.reason, choice.message);
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
  if (choice.ok) {
    const url = ctx.channelUrl(namespace, name, choice.store);
    status.address = { name: 'http', url };
    status.addresses = [{ name: 'http', url }];
    conds = set.markTrue(conds, 'Addressable');
  } else {
    conds = set.markFalse(conds, 'Addressable', choice.reason, choice.message);
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
  if (!choice.ok) return { status, admitted: false };
  const result: ChannelResult = { status, admitted: true, store: choice.store };
  if (choice.settings !== undefined) result.storeSettings = choice.settings;
  return result;
}
