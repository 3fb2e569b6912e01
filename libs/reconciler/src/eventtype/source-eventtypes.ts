import { createHash } from 'node:crypto';
import { EVENTTYPE_V1BETA3, type EventType, type Resource } from '@eventing/api';
import { ownerReference } from '../broker/cluster';
import { CHANNEL_KINDS } from '../channel/reconcile';

/** The label a source's EventTypes carry: the name of the source that emits them. */
export const SOURCE_NAME_LABEL = 'eventing.knative.dev/sourceName';

/** The EventType kind, as an owned-children kind. */
export const EVENTTYPE_CHILD_KIND = { group: 'eventing.knative.dev', kind: 'EventType' } as const;

interface SourceLike extends Resource {
  spec?: { sink?: { ref?: { apiVersion?: string; kind?: string; name?: string; namespace?: string } } };
}

/**
 * The EventTypes a source publishes for the types it emits (`status.ceAttributes`), when its sink is
 * a reference to a Broker or a channel: one per attribute with a type, owned by the source (deleted
 * with it, and pruned when the sink stops being a Broker or a channel), labelled with its name, named
 * by a digest of type, source and the source's uid so a long type never makes two names collide.
 * Any other sink: none.
 */
export function sourceEventTypes(
  source: SourceLike,
  ceAttributes: readonly { type?: string; source?: string }[] | undefined,
): EventType[] {
  const ref = source.spec?.sink?.ref;
  if (ref?.kind === undefined || ref.name === undefined || ceAttributes === undefined) return [];
  if (ref.kind !== 'Broker' && !CHANNEL_KINDS.includes(ref.kind)) return [];
  const namespace = source.metadata.namespace ?? 'default';
  const uid = source.metadata.uid ?? '';
  const out: EventType[] = [];
  for (const { type, source: ceSource = '' } of ceAttributes) {
    if (!type) continue;
    const name = createHash('md5').update(`${type}${ceSource}${uid}`).digest('hex');
    out.push({
      apiVersion: EVENTTYPE_V1BETA3,
      kind: 'EventType',
      metadata: {
        name,
        namespace,
        labels: { [SOURCE_NAME_LABEL]: source.metadata.name ?? '' },
        ownerReferences: [ownerReference(source) as never],
      },
      spec: {
        reference: {
          apiVersion: ref.apiVersion ?? '',
          kind: ref.kind,
          name: ref.name,
          namespace: ref.namespace ?? namespace,
        },
        attributes: [
          { name: 'type', required: true, value: type },
          { name: 'source', required: true, value: ceSource },
          { name: 'specversion', required: true },
          { name: 'id', required: true },
        ],
      },
    });
  }
  return out;
}
