import type { Condition, Resource } from '@eventing/api';
import type { ResourceStore } from '../store/store';
import type { AddressResolver } from '../resolver/address-resolver';

/** What a reconciler of a kind that owns children reads. */
export interface OwnerContext {
  /** The store's cache; reads are tracked, so a child's change re-queues its owner. */
  store: ResourceStore;
  resolver: AddressResolver;
}

/** A reconciler of a kind whose resources own children (the channels and subscriptions of a flow). */
export interface OwnedKindReconciler {
  kind: string;
  /** Kinds its children may have: owned children of these kinds that it no longer returns are deleted. */
  childKinds: readonly { group: string; kind: string }[];
  reconcile(
    resource: Resource,
    ctx: OwnerContext,
  ): {
    status: { conditions?: Condition[] } & Record<string, unknown>;
    /** Undefined leaves the children as they are (neither applied nor pruned). */
    children: Resource[] | undefined;
  };
}
