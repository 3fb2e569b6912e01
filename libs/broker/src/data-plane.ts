import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CloudEvent } from '@eventing/cloudevents';
import type { ChannelBackend, ChannelRef } from '@eventing/channels';
import type { BrokerEntry, Contract, TriggerEntry } from '@eventing/contract';
import type { DeliveryOutcome, Dispatcher } from '@eventing/delivery';
import { createIngressHandler, ingest, type IngressResult, type IngressTarget } from './ingress/handler';
import { DEFAULT_MAX_TTL } from './ingress/ttl';
import { TriggerRouter } from './egress/trigger-router';

export interface BrokerDataPlaneOptions {
  backend: ChannelBackend;
  dispatcher: Dispatcher;
  maxBodyBytes: number;
  maxTtl?: number;
  /** In-flight deliveries per trigger unless the trigger says otherwise. */
  defaultMaxInFlight?: number;
  onIngress?: (result: IngressResult) => void;
  onDelivery?: (trigger: TriggerEntry, event: CloudEvent, outcome: DeliveryOutcome) => void;
}

interface BrokerState {
  entry: BrokerEntry;
  channel: ChannelRef;
  target: IngressTarget;
}

/** The channel backing a broker, named as upstream's trigger channel. */
export function brokerChannel(entry: { namespace: string; name: string }): ChannelRef {
  return { namespace: entry.namespace, name: `${entry.name}-kne-trigger` };
}

/**
 * Broker ingress and trigger delivery over a local ChannelBackend (memory now; Kafka and
 * JetStream later), driven by the data-plane contract.
 */
export class BrokerDataPlane {
  /** HTTP handler for `/<namespace>/<broker>`. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  private readonly brokers = new Map<string, BrokerState>();
  private readonly router: TriggerRouter;
  private readonly abort = new AbortController();
  private readonly maxTtl: number;
  private applying: Promise<void> = Promise.resolve();

  constructor(private readonly options: BrokerDataPlaneOptions) {
    this.maxTtl = options.maxTtl ?? DEFAULT_MAX_TTL;
    this.handler = createIngressHandler({
      lookup: (namespace, name) => this.brokers.get(`${namespace}/${name}`)?.target,
      maxBodyBytes: options.maxBodyBytes,
      maxTtl: this.maxTtl,
      onResult: options.onIngress,
    });
    this.router = new TriggerRouter({
      backend: options.backend,
      dispatcher: options.dispatcher,
      defaultMaxInFlight: options.defaultMaxInFlight ?? 100,
      signal: this.abort.signal,
      onOutcome: options.onDelivery,
      reply: async (trigger, event, headers) => {
        const broker = this.brokers.get(`${trigger.namespace}/${trigger.broker}`);
        if (!broker) return { ok: false, status: 404, reason: `broker ${trigger.namespace}/${trigger.broker} not found` };
        const stored = await ingest(broker.target, event, headers, this.maxTtl);
        return stored.ok ? { ok: true } : { ok: false, status: stored.status, reason: stored.reason };
      },
    });
  }

  /** Makes brokers and trigger consumers match the contract. Calls are serialised. */
  apply(contract: Contract): Promise<void> {
    this.applying = this.applying.then(() => this.applyNow(contract));
    return this.applying;
  }

  /** Whether a broker is being served. */
  hasBroker(namespace: string, name: string): boolean {
    return this.brokers.has(`${namespace}/${name}`);
  }

  /**
   * Graceful stop: waits up to `graceMs` for every accepted event to be delivered or
   * dead-lettered, then stops retrying and closes the consumers. Returns whether all drained.
   */
  async close(graceMs = 30_000): Promise<boolean> {
    await this.applying;
    let timer: NodeJS.Timeout | undefined;
    const drained = this.options.backend.drain
      ? await Promise.race([
          this.options.backend.drain().then(() => true),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
        ])
      : true;
    if (timer) clearTimeout(timer);
    this.abort.abort();
    await this.router.close();
    return drained;
  }

  private async applyNow(contract: Contract): Promise<void> {
    const { backend } = this.options;
    const wanted = new Map<string, BrokerEntry>();
    for (const b of contract.brokers) wanted.set(`${b.namespace}/${b.name}`, b);
    for (const [key, state] of this.brokers) {
      const next = wanted.get(key);
      if (next && next.uid === state.entry.uid) continue;
      this.brokers.delete(key);
      this.router.forgetChannel(state.channel);
      await backend.deleteChannel(state.channel);
    }
    for (const [key, entry] of wanted) {
      const existing = this.brokers.get(key);
      if (existing) {
        existing.entry = entry;
        continue;
      }
      const channel = brokerChannel(entry);
      await backend.ensureChannel(channel);
      this.brokers.set(key, {
        entry,
        channel,
        target: { append: (event, headers) => backend.append(channel, event, headers) },
      });
    }
    await this.router.apply(contract.triggers, (t) => this.brokers.get(`${t.namespace}/${t.broker}`)?.channel);
  }
}
