import type { BrokerEntry } from '@eventing/contract';
import type { Dispatcher } from '@eventing/delivery';
import { brokerTarget, type IngressTarget } from './ingress/handler';
import { recordingTypes } from './eventtypes/ingress-hook';
import type { EventTypeRecorder } from './eventtypes/recorder';

/**
 * Ingress targets for brokers whose channel is remote (channel-based broker in Kubernetes): one
 * POST to the channel's address, no retries; any failure answers 500 so the producer retries (B12).
 */
export function remoteIngressTargets(
  brokers: BrokerEntry[],
  dispatcher: Dispatcher,
  timeoutMs: number,
  maxTtl: number,
  eventTypes?: EventTypeRecorder,
): Map<string, IngressTarget> {
  const targets = new Map<string, IngressTarget>();
  for (const broker of brokers) {
    const address = broker.channelAddress;
    if (address === undefined) continue;
    const channel: IngressTarget = {
      append: async (event, headers) => {
        const sent = await dispatcher.send(address, event, headers, { format: 'binary', timeoutMs });
        if (sent.ok) return { ok: true };
        return { ok: false, status: 500, reason: `the broker's channel refused the event: ${sent.reason}` };
      },
    };
    const reference = {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      namespace: broker.namespace,
      name: broker.name,
      uid: broker.uid,
    };
    targets.set(
      `${broker.namespace}/${broker.name}`,
      brokerTarget(recordingTypes(channel, eventTypes, reference), maxTtl),
    );
  }
  return targets;
}
