import type { IngressTarget } from '../ingress/handler';
import type { EventTypeRecorder, EventTypeReference } from './recorder';

/**
 * An ingress target whose accepted events are noted for EventType auto-creation. Without a recorder
 * it is the target itself; with auto-creation off, one flag check per event.
 */
export function recordingTypes(
  target: IngressTarget,
  recorder: EventTypeRecorder | undefined,
  reference: EventTypeReference,
): IngressTarget {
  if (recorder === undefined) return target;
  const append = target.append.bind(target);
  return {
    append: (event, headers) =>
      recorder.enabled
        ? append(event, headers).then((result) => {
            if (result.ok) recorder.observe(reference, event);
            return result;
          })
        : append(event, headers),
  };
}

/** The apiVersion and kind of the channel a store kind stands for, as the EventType's reference names it. */
export function channelReferenceKind(store: string | undefined): { apiVersion: string; kind: string } {
  if (store === 'kafka') return { apiVersion: 'messaging.knative.dev/v1beta1', kind: 'KafkaChannel' };
  if (store === 'jetstream')
    return { apiVersion: 'messaging.knative.dev/v1alpha1', kind: 'NatsJetStreamChannel' };
  return { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' };
}
