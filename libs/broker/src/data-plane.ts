import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CloudEvent } from '@eventing/cloudevents';
import type { ChannelBackend, ChannelRef } from '@eventing/channels';
import type { BrokerEntry, Contract, TriggerEntry } from '@eventing/contract';
import type { DeliveryOutcome, Dispatcher } from '@eventing/delivery';
import { compileTriggerFilter, triggerIndexKeys } from '@eventing/filters';
import { TriggerIndex } from './routing/trigger-index';
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
  /** Which of this broker's triggers an event matches; swapped on every contract change. */
  index: TriggerIndex;
}

const ACCEPTED = { ok: true } as const;
const NO_TRIGGERS = new TriggerIndex([]);

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
      const state: BrokerState = { entry, channel, index: NO_TRIGGERS, target: { append: () => Promise.resolve(ACCEPTED) } };
      state.target = {
        append: backend.targetedAppend
          ? (event, headers) => {
              // Route once at ingress: only the matching triggers' queues receive the event.
              const targets = state.index.match(event);
              return targets.length === 0 ? Promise.resolve(ACCEPTED) : backend.append(channel, event, headers, targets);
            }
          : (event, headers) => backend.append(channel, event, headers),
      };
      this.brokers.set(key, state);
    }
    const compiled = contract.triggers.map((entry) => ({
      entry,
      filter: compileTriggerFilter(entry.filter, entry.filters),
      keys: triggerIndexKeys(entry.filter, entry.filters),
    }));
    await this.router.apply(compiled, (t) => this.brokers.get(`${t.namespace}/${t.broker}`)?.channel);
    for (const state of this.brokers.values()) {
      const { namespace, name } = state.entry;
      state.index = new TriggerIndex(
        compiled
          .filter((t) => t.entry.namespace === namespace && t.entry.broker === name)
          .map((t) => ({ id: t.entry.uid, filter: t.filter, keys: t.keys })),
      );
    }
  }
}
