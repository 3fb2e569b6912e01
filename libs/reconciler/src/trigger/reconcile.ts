import {
  BROKER_CLASS_ANNOTATION,
  TriggerConditionSet,
  deliveryOrderOf,
  type Broker,
  type Trigger,
  type TriggerStatus,
} from '@eventing/api';
import type { TriggerEntry } from '@eventing/contract';
import type { AddressResolver } from '../resolver/address-resolver';
import { brokerConditions } from '../broker/reconcile';
import { kafkaTriggerConsumerGroup } from '../broker/store';
import { KAFKA_BROKER_CLASS } from '../observation/observation';
import { compileRetryPolicy, effectiveDelivery } from '../contract/delivery';
import { markObserved, type Observation } from '../observation/observation';

/** Conditions of a Trigger (CONFORMANCE 1.1), as defined with the kind. */
export const triggerConditions = TriggerConditionSet;

export interface TriggerResult {
  status: TriggerStatus;
  /** What the data plane runs for this trigger, when it is ready. */
  egress?: TriggerEntry;
}

/** What a Trigger's reconciliation needs besides the Trigger and its Broker. */
export interface TriggerContext {
  resolver: AddressResolver;
  /** Whether the data plane serves the broker (so the trigger's consumer can run on it). */
  brokerAdmitted: boolean;
  /** What the data plane made of this trigger in its last apply. */
  observed: Observation;
}

/**
 * Computes a Trigger's status from its Broker, subscriber and what the data plane reported, and its
 * data-plane entry (given whenever the broker is served and the subscriber resolves).
 */
export function reconcileTrigger(
  trigger: Trigger,
  broker: Broker | undefined,
  ctx: TriggerContext,
): TriggerResult {
  const resolver = ctx.resolver;
  const { namespace = 'default', name = '', uid = '' } = trigger.metadata;
  const brokerName = trigger.spec.broker ?? trigger.spec.brokerRef?.name ?? '';
  let conds = triggerConditions.initialize(trigger.status?.conditions ?? []);
  const status: TriggerStatus = { observedGeneration: trigger.metadata.generation ?? 1 };

  conds = triggerConditions.markTrue(conds, 'DependencyReady');
  conds = triggerConditions.markTrue(conds, 'OIDCIdentityCreated', 'authentication-oidc feature disabled');

  if (broker === undefined) {
    conds = triggerConditions.markFalse(
      conds,
      'BrokerReady',
      'BrokerDoesNotExist',
      `Broker "${brokerName}" does not exist`,
    );
  } else if (!brokerConditions.isReady(broker.status?.conditions)) {
    const ready = brokerConditions.get(broker.status?.conditions, 'Ready');
    conds = triggerConditions.markFalse(
      conds,
      'BrokerReady',
      ready?.reason ?? 'BrokerNotReady',
      ready?.message ?? `Broker "${brokerName}" is not ready`,
    );
  } else {
    conds = triggerConditions.markTrue(conds, 'BrokerReady');
  }

  const subscriber = resolver.resolve(trigger.spec.subscriber, namespace);
  if (subscriber.ok) {
    status.subscriberUri = subscriber.uri;
    if (trigger.spec.subscriber.CACerts) status.subscriberCACerts = trigger.spec.subscriber.CACerts;
    if (trigger.spec.subscriber.audience) status.subscriberAudience = trigger.spec.subscriber.audience;
    conds = triggerConditions.markTrue(conds, 'SubscriberResolved');
  } else {
    conds = triggerConditions.markFalse(
      conds,
      'SubscriberResolved',
      "Unable to get the Subscriber's URI",
      subscriber.reason,
    );
  }

  // Dead-letter sink: the trigger's own, else the broker's (status falls back, 1.6 item 8).
  const ownDls = trigger.spec.delivery?.deadLetterSink;
  let deadLetterUri: string | undefined;
  if (ownDls !== undefined) {
    const resolved = resolver.resolve(ownDls, namespace);
    if (resolved.ok) {
      deadLetterUri = resolved.uri;
      conds = triggerConditions.markTrue(conds, 'DeadLetterSinkResolved');
    } else {
      conds = triggerConditions.markFalse(
        conds,
        'DeadLetterSinkResolved',
        "Unable to get the DeadLetterSink's URI",
        resolved.reason,
      );
    }
  } else if (broker?.status?.deadLetterSinkUri) {
    deadLetterUri = broker.status.deadLetterSinkUri;
    conds = triggerConditions.markTrue(conds, 'DeadLetterSinkResolved');
  } else {
    conds = triggerConditions.markTrue(
      conds,
      'DeadLetterSinkResolved',
      'DeadLetterSinkNotConfigured',
      'No dead letter sink is configured.',
    );
  }
  if (deadLetterUri !== undefined) status.deadLetterSinkUri = deadLetterUri;

  const dlsOk = triggerConditions.get(conds, 'DeadLetterSinkResolved')?.status === 'True';
  const runnable = broker !== undefined && ctx.brokerAdmitted && subscriber.ok && dlsOk;
  conds = runnable
    ? markObserved(triggerConditions, conds, 'SubscriptionReady', ctx.observed)
    : triggerConditions.markFalse(
        conds,
        'SubscriptionReady',
        'SubscriptionNotReady',
        'waiting for the broker and the subscriber',
      );
  status.conditions = conds;

  if (!runnable || !subscriber.ok) return { status };
  const delivery = effectiveDelivery(trigger.spec.delivery, broker?.spec?.delivery);
  const egress: TriggerEntry = {
    uid,
    namespace,
    name,
    broker: brokerName,
    subscriberUri: subscriber.uri,
    policy: compileRetryPolicy(delivery),
    format: delivery?.format === 'json' ? 'json' : 'binary',
  };
  if (deliveryOrderOf(trigger.metadata) === 'ordered') egress.ordered = true;
  if (broker?.metadata.annotations?.[BROKER_CLASS_ANNOTATION] === KAFKA_BROKER_CLASS)
    egress.consumerGroup = kafkaTriggerConsumerGroup(namespace, name);
  if (trigger.spec.filter) egress.filter = trigger.spec.filter;
  if (trigger.spec.filters) egress.filters = trigger.spec.filters;
  if (deadLetterUri !== undefined) egress.deadLetterUri = deadLetterUri;
  return { status, egress };
}
