import { ApiServerSourceKind } from './apiserversource';
import { BrokerKind } from './broker';
import { ChannelKind } from './channel';
import { EventTypeKind } from './eventtype';
import { ContainerSourceKind } from './containersource';
import { InMemoryChannelKind } from './inmemorychannel';
import { KafkaChannelKind } from './kafkachannel';
import type { KindDefinition } from './kind';
import { NatsJetStreamChannelKind } from './natsjetstreamchannel';
import { ParallelKind } from './parallel';
import { PingSourceKind } from './pingsource';
import { SequenceKind } from './sequence';
import { SinkBindingKind } from './sinkbinding';
import { SubscriptionKind } from './subscription';
import { TriggerKind } from './trigger';

/** Every kind this library defines. */
export const allKinds: readonly KindDefinition[] = [
  BrokerKind,
  TriggerKind,
  PingSourceKind,
  ApiServerSourceKind,
  ContainerSourceKind,
  SinkBindingKind,
  ChannelKind,
  InMemoryChannelKind,
  SubscriptionKind,
  KafkaChannelKind,
  NatsJetStreamChannelKind,
  SequenceKind,
  ParallelKind,
  EventTypeKind,
];

/** Looks up the definition for apiVersion/kind, or undefined. */
export function kindFor(apiVersion: string, kind: string): KindDefinition | undefined {
  const slash = apiVersion.indexOf('/');
  if (slash < 0) return undefined;
  const group = apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  return allKinds.find((k) => k.kind === kind && k.group === group && k.versions.includes(version));
}
