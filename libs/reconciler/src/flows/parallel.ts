import {
  ParallelConditionSet,
  type Condition,
  type FlowChannelStatus,
  type FlowSubscriptionStatus,
  type Parallel,
  type ParallelBranchStatus,
  type ParallelStatus,
  type Resource,
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

/** Name of the channel that receives what is sent to the Parallel (upstream's). */
export function parallelIngressChannelName(parallel: string): string {
  return `${parallel}-kn-parallel`;
}

/** Name of branch `i`'s channel and of its subscriber Subscription (upstream's). */
export function parallelBranchName(parallel: string, i: number): string {
  return `${parallel}-kn-parallel-${i}`;
}

/** Name of branch `i`'s filter Subscription on the ingress channel (upstream's). */
export function parallelFilterSubscriptionName(parallel: string, i: number): string {
  return `${parallel}-kn-parallel-filter-${i}`;
}

/** Kinds a Parallel's children have. */
export const PARALLEL_CHILD_KINDS = FLOW_CHILD_KINDS;

const ADDRESSABLE: Condition = { type: 'Ready', status: 'True' };
const NOT_ADDRESSABLE: Condition = {
  type: 'Ready',
  status: 'False',
  reason: 'NotAddressable',
  message: 'Channel is not addressable',
};

/**
 * Reconciles a Parallel (CONFORMANCE 2.14): an ingress channel; per branch a channel, a filter
 * Subscription on the ingress channel (calling the filter and replying into the branch channel, or
 * with no filter forwarding every event there) and a subscriber Subscription on the branch channel
 * (the branch's delivery; reply to the branch reply, else `spec.reply`). As upstream, a channel
 * counts as ready once it has an address. The status is read from the children in the store.
 */
export function reconcileParallel(p: Parallel, ctx: FlowContext): FlowResult<ParallelStatus> {
  const set = ParallelConditionSet;
  const namespace = p.metadata.namespace ?? 'default';
  const name = p.metadata.name ?? '';
  const branches = p.spec?.branches ?? [];
  const template = p.spec?.channelTemplate;
  let conds = set.initialize(p.status?.conditions ?? []);
  const status: ParallelStatus = { observedGeneration: p.metadata.generation ?? 1 };
  conds = set.markTrue(
    conds,
    'EventPoliciesReady',
    EVENT_POLICIES_OIDC_DISABLED.reason,
    EVENT_POLICIES_OIDC_DISABLED.message,
  );
  if (template?.apiVersion === undefined || template.kind === undefined) {
    const message = 'spec.channelTemplate needs apiVersion and kind';
    conds = set.markFalse(conds, 'ChannelsReady', 'NoChannelTemplate', message);
    status.conditions = set.markFalse(conds, 'SubscriptionsReady', 'NoChannelTemplate', message);
    return { status, children: [] };
  }
  const owner = p as Resource;

  const ingress = channelChild(owner, template, parallelIngressChannelName(name), ctx);
  const branchChannels = branches.map((_, i) =>
    channelChild(owner, template, parallelBranchName(name, i), ctx),
  );
  const filterSubscriptions = branches.map((branch, i) => {
    const branchChannel = { ref: channelRef(template, parallelBranchName(name, i), namespace) };
    const channel = channelRef(template, parallelIngressChannelName(name));
    const spec =
      branch.filter === undefined
        ? { channel, subscriber: branchChannel }
        : { channel, subscriber: destinationOf(branch.filter), reply: branchChannel };
    return subscriptionChild(owner, parallelFilterSubscriptionName(name, i), spec, ctx);
  });
  const subscriberSubscriptions = branches.map((branch, i) => {
    const reply = branch.reply ?? p.spec?.reply;
    return subscriptionChild(
      owner,
      parallelBranchName(name, i),
      {
        channel: channelRef(template, parallelBranchName(name, i)),
        subscriber: destinationOf(branch.subscriber ?? {}),
        ...(reply !== undefined ? { reply: destinationOf(reply) } : {}),
        ...(branch.delivery !== undefined ? { delivery: branch.delivery } : {}),
      },
      ctx,
    );
  });

  // Channels count as ready once addressable (upstream); the ingress channel's address is the Parallel's.
  let channelProblem: string | undefined;
  const channelStatus = (wanted: Resource): FlowChannelStatus => {
    const stored = storedChild(wanted, ctx);
    const address = statusOf(stored)?.address;
    if (address === undefined) channelProblem ??= notReadyDetail(wanted, stored, readyOf(stored));
    return { channel: objectRef(wanted), ready: address === undefined ? NOT_ADDRESSABLE : ADDRESSABLE };
  };
  status.ingressChannelStatus = channelStatus(ingress);
  const ingressAddress = statusOf(storedChild(ingress, ctx))?.address;
  if (ingressAddress !== undefined) {
    status.address = structuredClone(ingressAddress);
    conds = set.markTrue(conds, 'Addressable');
  } else {
    conds = set.markFalse(conds, 'Addressable', 'emptyAddress', 'addressable is nil');
  }
  const branchStatuses: Partial<ParallelBranchStatus>[] = branchChannels.map((c) => ({
    filterChannelStatus: channelStatus(c),
  }));
  conds =
    channelProblem === undefined
      ? set.markTrue(conds, 'ChannelsReady')
      : set.markFalse(
          conds,
          'ChannelsReady',
          'ChannelsNotReady',
          `Channels are not ready yet: ${channelProblem}`,
        );

  let subscriptionProblem: string | undefined = branches.length > 0 ? undefined : 'there are none';
  const subscriptionStatus = (wanted: Resource): { status: FlowSubscriptionStatus; stored?: Resource } => {
    const stored = storedChild(wanted, ctx);
    const ready = readyOf(stored);
    if (ready?.status !== 'True') subscriptionProblem ??= notReadyDetail(wanted, stored, ready);
    return {
      status: { subscription: objectRef(wanted), ready: ready ?? noReady('Subscription') },
      ...(stored !== undefined ? { stored } : {}),
    };
  };
  const storedSubscriptions: (Resource | undefined)[] = [];
  // A filter Subscription sends into its branch channel: only once the branch's subscriber Subscription runs.
  const gatedFilters = filterSubscriptions.map((wanted, i) =>
    makeBeforeBreak(wanted, subscriberSubscriptions[i] as Resource, ctx),
  );
  branches.forEach((_, i) => {
    const sub = subscriptionStatus(subscriberSubscriptions[i] as Resource);
    const filter = subscriptionStatus(filterSubscriptions[i] as Resource);
    subscriptionProblem ??= gatedFilters[i]?.waiting;
    const branch = branchStatuses[i] as Partial<ParallelBranchStatus>;
    branch.filterSubscriptionStatus = filter.status;
    branch.subscriberSubscriptionStatus = sub.status;
    storedSubscriptions.push(filter.stored, sub.stored);
  });
  status.branchStatuses = branchStatuses as ParallelBranchStatus[];
  conds =
    subscriptionProblem === undefined
      ? set.markTrue(conds, 'SubscriptionsReady')
      : set.markFalse(
          conds,
          'SubscriptionsReady',
          'SubscriptionsNotReady',
          `Subscriptions are not ready yet: ${subscriptionProblem}`,
        );
  const auth = authOf(storedSubscriptions);
  if (auth !== undefined) status.auth = auth;
  status.conditions = conds;
  const children = [ingress, ...branchChannels];
  for (const g of gatedFilters) if (g.child !== undefined) children.push(g.child);
  children.push(...subscriberSubscriptions);
  return { status, children };
}
