import type { BrokerEntry, Contract, StoreKind } from './contract';

/**
 * The data-plane roles of a cluster install, each reading its own share of the contract from its
 * own ConfigMap: a service is never handed (or woken by) entries it does not serve.
 */
export const CONTRACT_ROLES = [
  'broker-ingress',
  'broker-filter',
  'imc-dispatcher',
  'kafka-channel-dispatcher',
  'nats-channel-dispatcher',
  'kafka-broker',
] as const;
export type ContractRole = (typeof CONTRACT_ROLES)[number];

/** The ConfigMap holding one role's contract (key `contract.json`). */
export function contractConfigMapName(role: ContractRole): string {
  return `eventing-contract-${role}`;
}

/** The key of the contract document in its ConfigMap, and so the file name where it is mounted. */
export const CONTRACT_KEY = 'contract.json';

const CHANNEL_STORE_OF_ROLE: Partial<Record<ContractRole, StoreKind>> = {
  'imc-dispatcher': 'memory',
  'kafka-channel-dispatcher': 'kafka',
  'nats-channel-dispatcher': 'jetstream',
};

/** Whether a broker is the Kafka class (served by the Kafka broker pair: no channel, no filter hop). */
function isKafkaClass(b: BrokerEntry): boolean {
  return b.store === 'kafka' && b.channelAddress === undefined;
}

/**
 * One role's share of a contract. broker-ingress: brokers it forwards to a channel; broker-filter:
 * the triggers of those brokers; a channel dispatcher: the channels of its store and their
 * subscriptions; the Kafka broker pair: Kafka-class brokers and their triggers.
 */
export function contractForRole<C extends Omit<Contract, 'generation'>>(contract: C, role: ContractRole): C {
  const channelStore = CHANNEL_STORE_OF_ROLE[role];
  if (channelStore !== undefined) {
    const channels = (contract.channels ?? []).filter((c) => (c.store ?? 'memory') === channelStore);
    const names = new Set(channels.map((c) => `${c.namespace}/${c.name}`));
    const subscriptions = (contract.subscriptions ?? []).filter((s) =>
      names.has(`${s.channel.namespace}/${s.channel.name}`),
    );
    return { ...contract, brokers: [], triggers: [], channels, subscriptions };
  }
  const kafka = role === 'kafka-broker';
  const brokers = contract.brokers.filter((b) => (kafka ? isKafkaClass(b) : b.channelAddress !== undefined));
  const served = new Set(brokers.map((b) => `${b.namespace}/${b.name}`));
  const triggers =
    role === 'broker-ingress'
      ? []
      : contract.triggers.filter((t) => served.has(`${t.namespace}/${t.broker}`));
  return {
    ...contract,
    brokers: role === 'broker-filter' ? [] : brokers,
    triggers,
    channels: [],
    subscriptions: [],
  };
}
