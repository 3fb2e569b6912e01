import type {
  ApiServerSource,
  ContainerSource,
  EventType,
  Parallel,
  Sequence,
  SinkBinding,
} from '@eventing/api';
import type { OwnedKindReconciler } from './owner';
import { PARALLEL_CHILD_KINDS, reconcileParallel } from '../flows/parallel';
import { SEQUENCE_CHILD_KINDS, reconcileSequence } from '../flows/sequence';
import { APISERVER_CHILD_KINDS, reconcileApiServerSource } from '../sources/apiserversource';
import { CONTAINER_SOURCE_CHILD_KINDS, reconcileContainerSource } from '../sources/containersource';
import { sourceSettings } from '../sources/settings';
import { reconcileSinkBinding } from '../sources/sinkbinding';
import { reconcileEventType } from '../eventtype/eventtype';

/**
 * Reconcilers of kinds that own children, one entry per kind. The controller applies the children
 * each returns (with their owner references) and prunes the rest, in both modes.
 */
export const OWNED_KINDS: readonly OwnedKindReconciler[] = [
  {
    kind: 'Sequence',
    childKinds: SEQUENCE_CHILD_KINDS,
    reconcile: (r, ctx) => reconcileSequence(r as Sequence, ctx),
  },
  {
    kind: 'Parallel',
    childKinds: PARALLEL_CHILD_KINDS,
    reconcile: (r, ctx) => reconcileParallel(r as Parallel, ctx),
  },
  {
    kind: 'ApiServerSource',
    childKinds: APISERVER_CHILD_KINDS,
    reconcile: (r, ctx) => reconcileApiServerSource(r as ApiServerSource, ctx, sourceSettings()),
  },
  {
    kind: 'ContainerSource',
    childKinds: CONTAINER_SOURCE_CHILD_KINDS,
    reconcile: (r, ctx) => reconcileContainerSource(r as ContainerSource, ctx),
  },
  {
    kind: 'SinkBinding',
    childKinds: [],
    reconcile: (r, ctx) => reconcileSinkBinding(r as SinkBinding, ctx),
  },
  {
    kind: 'EventType',
    childKinds: [],
    reconcile: (r, ctx) => reconcileEventType(r as EventType, ctx),
  },
];
