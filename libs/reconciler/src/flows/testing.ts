import type { Resource, Subscription } from '@eventing/api';
import { reconcileChannel } from '../channel/reconcile';
import { MEMORY_CAPABILITIES, type Capabilities } from '../observation/observation';
import { AddressResolver } from '../resolver/address-resolver';
import type { MemoryResourceStore } from '../store/memory-store';
import { groupOf, resourceKey } from '../store/store';
import { reconcileSubscription } from '../subscription/reconcile';
import { FLOW_CHILD_KINDS, type FlowResult } from './children';

const SERVED = { status: 'True' } as const;

/**
 * What the controller does with a flow's result, for the flow tests: applies the children and deletes
 * the children the owner controls but no longer returns, then writes the owner's status.
 */
export async function applyFlowResult(
  store: MemoryResourceStore,
  owner: Resource,
  result: FlowResult<unknown>,
): Promise<void> {
  const wanted = new Set(result.children.map(resourceKey));
  for (const child of result.children) await store.applyChild(child);
  for (const { group, kind } of FLOW_CHILD_KINDS)
    for (const r of store.list(kind, group)) {
      const owners = (r.metadata.ownerReferences ?? []) as { uid?: string; controller?: boolean }[];
      if (!owners.some((o) => o.uid === owner.metadata.uid && o.controller === true)) continue;
      if (!wanted.has(resourceKey(r)))
        await store.delete(group, kind, r.metadata.namespace ?? '', r.metadata.name ?? '');
    }
  await store.updateStatus(owner, result.status);
}

/**
 * Gives every channel and Subscription in the store the status its own reconciler computes, as if
 * the data plane served all of them (channels of kinds in `capabilities`).
 */
export async function settleChildren(
  store: MemoryResourceStore,
  capabilities: Capabilities = MEMORY_CAPABILITIES,
): Promise<void> {
  const resolver = new AddressResolver(store, { lookup: () => undefined });
  const channelUrl = (ns: string, name: string) => `http://eventing.local/_channels/${ns}/${name}`;
  const admitted = new Set<string>();
  for (const { group, kind } of FLOW_CHILD_KINDS) {
    if (kind === 'Subscription') continue;
    for (const ch of store.list(kind, group)) {
      const result = reconcileChannel(ch as Parameters<typeof reconcileChannel>[0], {
        channelUrl,
        resolver,
        subscribers: [],
        capabilities,
        observed: SERVED,
      });
      if (result.admitted) admitted.add(resourceKey(ch));
      await store.updateStatus(ch, result.status);
    }
  }
  for (const sub of store.list('Subscription', 'messaging.knative.dev') as Subscription[]) {
    const ref = sub.spec.channel;
    const namespace = sub.metadata.namespace ?? '';
    const channel = store.get(groupOf(ref.apiVersion ?? ''), ref.kind, namespace, ref.name);
    const result = reconcileSubscription(sub, channel as Parameters<typeof reconcileSubscription>[1], {
      resolver,
      channelAdmitted: channel !== undefined && admitted.has(resourceKey(channel)),
      observed: SERVED,
    });
    await store.updateStatus(sub, result.status);
  }
}
