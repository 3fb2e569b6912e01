import { BrokerConditionSet, type Broker, type BrokerStatus } from '@eventing/api';
import type { AddressResolver } from '../resolver/address-resolver';

/** Conditions of a channel-based broker (CONFORMANCE 1.1), as defined with the kind. */
export const brokerConditions = BrokerConditionSet;

export interface BrokerContext {
  /** The URL at which the data plane serves this broker. */
  ingressUrl(namespace: string, name: string): string;
  resolver: AddressResolver;
}

/** Computes a Broker's status: address, dead-letter sink and conditions. */
export function reconcileBroker(broker: Broker, ctx: BrokerContext): BrokerStatus {
  const { namespace = 'default', name = '' } = broker.metadata;
  const previous = broker.status;
  let conds = brokerConditions.initialize(previous?.conditions ?? []);
  const status: BrokerStatus = { observedGeneration: broker.metadata.generation ?? 1 };

  conds = brokerConditions.markTrue(conds, 'IngressReady');
  conds = brokerConditions.markTrue(conds, 'TriggerChannelReady');
  conds = brokerConditions.markTrue(conds, 'FilterReady');
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

  if (brokerConditions.get(conds, 'DeadLetterSinkResolved')?.status === 'True') {
    const url = ctx.ingressUrl(namespace, name);
    status.address = { name: 'http', url };
    status.addresses = [{ name: 'http', url }];
    conds = brokerConditions.markTrue(conds, 'Addressable');
  } else {
    conds = brokerConditions.markFalse(
      conds,
      'Addressable',
      'NoAddress',
      'the broker is not ready to receive events',
    );
  }
  status.conditions = conds;
  return status;
}
