import {
  SequenceConditionSet,
  type FlowChannelStatus,
  type FlowSubscriptionStatus,
  type Resource,
  type Sequence,
  type SequenceStatus,
} from '@eventing/api';
import {
  EVENT_POLICIES_OIDC_DISABLED,
  FLOW_CHILD_KINDS,
  authOf,
  channelChild,
  channelRef,
  destinationOf,
  makeBeforeBreak,
  noReady,
  notReadyDetail,
  objectRef,
  readyOf,
  statusOf,
  storedChild,
  subscriptionChild,
  type FlowContext,
  type FlowResult,
} from './children';

/** Name of the channel in front of step `i` and of the Subscription of step `i` (upstream's). */
export function sequenceChildName(sequence: string, i: number): string {
  return `${sequence}-kn-sequence-${i}`;
}

/** Kinds a Sequence's children have. */
export const SEQUENCE_CHILD_KINDS = FLOW_CHILD_KINDS;

/**
 * Reconciles a Sequence (CONFORMANCE 2.14): one channel of the template's kind in front of each step
 * and one Subscription per step on it, calling the step with its delivery and replying to the next
 * step's channel (the last step to `spec.reply`). Children are named by position, so inserting a step
 * retargets the Subscriptions after it in place and adds the last channel and Subscription.
 * The status is read from the children as they are in the store.
 */
export function reconcileSequence(seq: Sequence, ctx: FlowContext): FlowResult<SequenceStatus> {
  const set = SequenceConditionSet;
  const namespace = seq.metadata.namespace ?? 'default';
  const name = seq.metadata.name ?? '';
  const steps = seq.spec?.steps ?? [];
  const template = seq.spec?.channelTemplate;
  let conds = set.initialize(seq.status?.conditions ?? []);
  const status: SequenceStatus = { observedGeneration: seq.metadata.generation ?? 1 };
  conds = set.markTrue(
    conds,
    'EventPoliciesReady',
    EVENT_POLICIES_OIDC_DISABLED.reason,
    EVENT_POLICIES_OIDC_DISABLED.message,
  );
  if (template?.apiVersion === undefined || template.kind === undefined) {
    // Admission refuses this; say so rather than create channels of no kind.
    const message = 'spec.channelTemplate needs apiVersion and kind';
    conds = set.markFalse(conds, 'ChannelsReady', 'NoChannelTemplate', message);
    status.conditions = set.markFalse(conds, 'SubscriptionsReady', 'NoChannelTemplate', message);
    return { status, children: [] };
  }

  const channels = steps.map((_, i) =>
    channelChild(seq as Resource, template, sequenceChildName(name, i), ctx),
  );
  const subscriptions = steps.map((step, i) => {
    const last = i === steps.length - 1;
    const reply = last
      ? seq.spec?.reply === undefined
        ? undefined
        : destinationOf(seq.spec.reply)
      : { ref: channelRef(template, sequenceChildName(name, i + 1), namespace) };
    return subscriptionChild(
      seq as Resource,
      sequenceChildName(name, i),
      {
        channel: channelRef(template, sequenceChildName(name, i)),
        subscriber: destinationOf(step),
        ...(reply !== undefined ? { reply } : {}),
        ...(step.delivery !== undefined ? { delivery: step.delivery } : {}),
      },
      ctx,
    );
  });

  // Channels: each one's own Ready condition; the first one's address is the Sequence's.
  const channelStatuses: FlowChannelStatus[] = [];
  let channelProblem: string | undefined = channels.length > 0 ? undefined : 'there are none';
  channels.forEach((wanted, i) => {
    const stored = storedChild(wanted, ctx);
    const ready = readyOf(stored);
    if (ready?.status !== 'True') channelProblem ??= notReadyDetail(wanted, stored, ready);
    channelStatuses.push({ channel: objectRef(wanted), ready: ready ?? noReady('Channel') });
    if (i === 0) {
      const address = statusOf(stored)?.address;
      if (address?.url) {
        status.address = { url: address.url };
        if (address.CACerts !== undefined) status.address.CACerts = address.CACerts;
        if (address.audience !== undefined) status.address.audience = address.audience;
        conds = set.markTrue(conds, 'Addressable');
      } else {
        conds = set.markUnknown(conds, 'Addressable', 'emptyAddress', 'addressable is nil');
      }
    }
  });
  status.channelStatuses = channelStatuses;
  conds =
    channelProblem === undefined
      ? set.markTrue(conds, 'ChannelsReady')
      : set.markUnknown(
          conds,
          'ChannelsReady',
          'ChannelsNotReady',
          `Channels are not ready yet: ${channelProblem}`,
        );

  const subscriptionStatuses: FlowSubscriptionStatus[] = [];
  let subscriptionProblem: string | undefined = subscriptions.length > 0 ? undefined : 'there are none';
  // Each step but the last replies into the next step's channel: only once that step's Subscription runs.
  const gated = subscriptions.map((wanted, i) => {
    const next = subscriptions[i + 1];
    return next === undefined ? { child: wanted } : makeBeforeBreak(wanted, next, ctx);
  });
  const storedSubscriptions = subscriptions.map((wanted, i) => {
    const stored = storedChild(wanted, ctx);
    const ready = readyOf(stored);
    if (ready?.status !== 'True') subscriptionProblem ??= notReadyDetail(wanted, stored, ready);
    subscriptionProblem ??= gated[i]?.waiting;
    subscriptionStatuses.push({ subscription: objectRef(wanted), ready: ready ?? noReady('Subscription') });
    return stored;
  });
  status.subscriptionStatuses = subscriptionStatuses;
  conds =
    subscriptionProblem === undefined
      ? set.markTrue(conds, 'SubscriptionsReady')
      : set.markUnknown(
          conds,
          'SubscriptionsReady',
          'SubscriptionsNotReady',
          `Subscriptions are not ready yet: ${subscriptionProblem}`,
        );
  const auth = authOf(storedSubscriptions);
  if (auth !== undefined) status.auth = auth;
  status.conditions = conds;
  const children = [...channels];
  for (const g of gated) if (g.child !== undefined) children.push(g.child);
  return { status, children };
}
