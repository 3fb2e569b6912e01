import { BROKER_CLASS_ANNOTATION, BrokerConditionSet, type Broker, type BrokerStatus } from '@eventing/api';
import type { AddressResolver } from '../resolver/address-resolver';
import { markObserved, type Observation } from '../observation/observation';
import type { StoreChoice } from './store';

/** Conditions of a channel-based broker (CONFORMANCE 1.1), as defined with the kind. */
export const brokerConditions = BrokerConditionSet;

export interface BrokerContext {
  /** The URL at which the data plane serves this broker. */
  ingressUrl(namespace: string, name: string): string;
  resolver: AddressResolver;
  /** Broker classes this data plane serves. */
  brokerClasses: readonly string[];
  /** Where its events would be stored, or why they cannot be. */
  store?: StoreChoice;
  /** What the data plane made of this broker in its last apply. */
  observed: Observation;
}

export interface BrokerResult {
  status: BrokerStatus;
  /** Whether the data plane should serve it: a class it serves and every reference resolved. */
  admitted: boolean;
}

/**
 * Computes a Broker's status: address, dead-letter sink and conditions. Ingress, trigger channel and
 * filter conditions come from what the data plane reported, and a class it does not serve says so.
 */
export function reconcileBroker(broker: Broker, ctx: BrokerContext): BrokerResult {
  const { namespace = 'default', name = '' } = broker.metadata;
  const previous = broker.status;
  let conds = brokerConditions.initialize(previous?.conditions ?? []);
  const status: BrokerStatus = { observedGeneration: broker.metadata.generation ?? 1 };

  const brokerClass = broker.metadata.annotations?.[BROKER_CLASS_ANNOTATION] ?? '';
  const classServed = ctx.brokerClasses.includes(brokerClass);
  const store: StoreChoice = ctx.store ?? { ok: true, store: 'memory' };
  for (const type of ['IngressReady', 'TriggerChannelReady', 'FilterReady']) {
    if (!classServed)
      conds = brokerConditions.markFalse(
        conds,
        type,
        'BrokerClassNotSupported',
        `broker class "${brokerClass}" is not served here (served: ${ctx.brokerClasses.join(', ')})`,
      );
    else if (!store.ok && type === 'TriggerChannelReady')
      conds = brokerConditions.markFalse(conds, type, store.reason, store.message);
    else conds = markObserved(brokerConditions, conds, type, ctx.observed);
  }
  conds = brokerConditions.markTrue(
    conds,
    'EventPoliciesReady',
    'DefaultAuthorizationMode',
    'authentication is disabled',
  );

  const dls = broker.spec?.delivery?.deadLetterSink;
  if (dls === undefined) {
    conds = brokerConditions.markTrue(
      conds,
      'DeadLetterSinkResolved',
      'DeadLetterSinkNotConfigured',
      'No dead letter sink is configured.',
    );
  } else {
    const resolved = ctx.resolver.resolve(dls, namespace);
    if (resolved.ok) {
      status.deadLetterSinkUri = resolved.uri;
      if (dls.CACerts) status.deadLetterSinkCACerts = dls.CACerts;
      if (dls.audience) status.deadLetterSinkAudience = dls.audience;
      conds = brokerConditions.markTrue(conds, 'DeadLetterSinkResolved');
    } else {
      conds = brokerConditions.markFalse(
        conds,
        'DeadLetterSinkResolved',
        "Unable to get the DeadLetterSink's URI",
        resolved.reason,
      );
    }
  }

  const admitted =
    classServed && store.ok && brokerConditions.get(conds, 'DeadLetterSinkResolved')?.status === 'True';
  if (admitted) {
    const url = ctx.ingressUrl(namespace, name);
    status.address = { name: 'http', url };
    status.addresses = [{ name: 'http', url }];
    conds = brokerConditions.markTrue(conds, 'Addressable');
  } else if (!store.ok && classServed) {
    conds = brokerConditions.markFalse(conds, 'Addressable', store.reason, store.message);
  } else if (!classServed) {
    conds = brokerConditions.markFalse(
      conds,
      'Addressable',
      'BrokerClassNotSupported',
      `broker class "${brokerClass}" is not served here (served: ${ctx.brokerClasses.join(', ')})`,
    );
  } else {
    conds = brokerConditions.markFalse(
      conds,
      'Addressable',
      'NoAddress',
      'the broker is not ready to receive events',
    );
  }
  status.conditions = conds;
  return { status, admitted };
}
