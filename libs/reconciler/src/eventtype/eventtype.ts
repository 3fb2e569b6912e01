import {
  EVENTTYPE_GROUP,
  EventTypeConditionSet,
  autoEventType,
  autoEventTypeName,
  type Condition,
  type EventType,
  type ObservedEventType,
} from '@eventing/api';
import { groupOf, type ResourceStore } from '../store/store';
import type { OwnerContext } from '../controller/owner';

const REFERENCE_EXISTS = 'ReferenceExists';

/** An EventType's status: ReferenceExists (True, reason ReferenceNotSet, without a reference), as upstream. */
export function reconcileEventType(
  et: EventType,
  ctx: OwnerContext,
): { status: { conditions?: Condition[] } & Record<string, unknown>; children: undefined } {
  let conditions = EventTypeConditionSet.initialize(et.status?.conditions);
  const ref = et.spec.reference;
  if (ref === undefined) {
    conditions = EventTypeConditionSet.markTrue(
      conditions,
      REFERENCE_EXISTS,
      'ReferenceNotSet',
      'spec.reference is not set',
    );
  } else {
    const found = ctx.store.get(
      groupOf(ref.apiVersion ?? ''),
      ref.kind,
      ref.namespace ?? et.metadata.namespace ?? '',
      ref.name,
    );
    conditions =
      found === undefined
        ? EventTypeConditionSet.markFalse(
            conditions,
            REFERENCE_EXISTS,
            'ResourceDoesNotExist',
            'Resource in spec.reference does not exist',
          )
        : EventTypeConditionSet.markTrue(conditions, REFERENCE_EXISTS);
  }
  return {
    status: { ...et.status, observedGeneration: et.metadata.generation, conditions },
    children: undefined,
  };
}

/** What one registration did. */
export interface RegistrationReport {
  created: string[];
  /** Already there (a repeat, or another replica made it). */
  existing: number;
  /** Their addressable is gone, or is another one of the same name now (its uid differs). */
  stale: number;
}

/**
 * Creates the EventTypes observed at ingress (CONFORMANCE 2.16) in the resource store: named as
 * upstream's (`et-<ref>-<md5>`), so a repeat finds its EventType and writes nothing; owned by the
 * addressable, so they go away with it. The control plane's side of auto-creation, in both modes.
 */
export class EventTypeRegistrar {
  constructor(private readonly store: ResourceStore) {}

  async register(batch: readonly ObservedEventType[]): Promise<RegistrationReport> {
    const report: RegistrationReport = { created: [], existing: 0, stale: 0 };
    for (const observed of batch) {
      const { reference } = observed;
      const owner = this.store.get(
        groupOf(reference.apiVersion),
        reference.kind,
        reference.namespace,
        reference.name,
      );
      if (owner === undefined || (observed.referenceUid && owner.metadata.uid !== observed.referenceUid)) {
        report.stale++;
        continue;
      }
      const name = autoEventTypeName(reference.name, reference.namespace, observed.type, observed.source);
      if (this.store.get(EVENTTYPE_GROUP, 'EventType', reference.namespace, name) !== undefined) {
        report.existing++;
        continue;
      }
      await this.store.applyChild(autoEventType(observed));
      report.created.push(`${reference.namespace}/${name}`);
    }
    return report;
  }
}
