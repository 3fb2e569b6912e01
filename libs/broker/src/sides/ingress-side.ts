import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FrameHandler } from '@eventing/frames';
import type { CloudEvent } from '@eventing/cloudevents';
import type { AppendResult, ChannelBackend, ChannelRef } from '@eventing/channels';
import type { BrokerEntry, ChannelEntry } from '@eventing/contract';
import {
  brokerTarget,
  createIngressFrameHandler,
  createIngressHandler,
  type IngressOptions,
  type IngressResult,
  type IngressRoute,
  type IngressTarget,
} from '../ingress/handler';
import { DEFAULT_MAX_TTL } from '../ingress/ttl';
import { TriggerIndex } from '../routing/trigger-index';
import type { DeliveryObserver, DeliveryTarget } from '../egress/outcomes';
import { classifyPath } from '../addresses';
import { channelReferenceKind, recordingTypes } from '../eventtypes/ingress-hook';
import type { EventTypeRecorder } from '../eventtypes/recorder';

/** What the ingress side needs of a store: only `append`, so a service that only receives needs no more. */
export type IngressStore = Pick<ChannelBackend, 'append' | 'targetedAppend'>;

export interface BrokerIngressOptions {
  /** Where events are stored unless a served broker or channel names its own store. */
  backend: IngressStore;
  maxBodyBytes: number;
  maxTtl?: number;
  /** Told what every accepted append stored (and what was stored for nobody). */
  observer: Pick<DeliveryObserver, 'accepted' | 'discarded'>;
  onIngress?: (result: IngressResult) => void;
  /**
   * How request paths map to what is served. `'default'`: `/<namespace>/<name>` is a broker and
   * channels are under `/_channels/` (standalone, broker receivers). `'channels-at-root'`: a channel
   * service, where `/<namespace>/<name>` is a channel (as upstream's channel dispatchers serve them)
   * and `/_channels/<namespace>/<name>` still is; no broker is reachable.
   */
  paths?: 'default' | 'channels-at-root';
  /** Notes the types of accepted events for EventType auto-creation; absent: nothing per event. */
  eventTypes?: EventTypeRecorder;
  /** Answers over HTTP say that this service also takes eventing frames ({@link BrokerIngress.frames}). */
  advertiseFrames?: boolean;
}

interface Served<E> {
  entry: E;
  channel: ChannelRef;
  target: IngressTarget;
}

/** A broker or channel to serve, the channel its events go to, and (optionally) its own store. */
export interface ServedStore<E> {
  entry: E;
  channel: ChannelRef;
  backend?: IngressStore;
}

interface ServedBroker extends Served<BrokerEntry> {
  /** Which of this broker's triggers an event matches (targeted backends); swapped on contract change. */
  index: TriggerIndex;
}

const ACCEPTED = { ok: true } as const;
const NO_TRIGGERS = new TriggerIndex([]);

/** The ordering key of an event: its `partitionkey` extension, as upstream's Kafka components use. */
export function partitionKey(event: CloudEvent): string | undefined {
  const key = event.attributes['partitionkey'];
  return key === undefined ? undefined : String(key);
}

/**
 * The ingress side of brokers and channels: parse, route, append (CONFORMANCE 2.2, 2.4). It serves
 * the brokers and channels it is given, each stored in the channel its owner provisioned; it never
 * creates or deletes stores and never delivers, so it runs alone in a receiver service or together
 * with the dispatch side in standalone.
 */
export class BrokerIngress {
  /** HTTP handler for `/<namespace>/<broker>` and `/_channels/<namespace>/<channel>` (see addresses.ts). */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The same over eventing frames. */
  readonly frames: FrameHandler;
  private brokers = new Map<string, ServedBroker>();
  private channels = new Map<string, Served<ChannelEntry>>();
  private readonly maxTtl: number;

  constructor(private readonly options: BrokerIngressOptions) {
    this.maxTtl = options.maxTtl ?? DEFAULT_MAX_TTL;
    const ingress: IngressOptions = {
      route: (url) => this.routeOf(url),
      maxBodyBytes: options.maxBodyBytes,
      onResult: options.onIngress,
    };
    this.handler = createIngressHandler({ ...ingress, advertiseFrames: options.advertiseFrames });
    this.frames = createIngressFrameHandler(ingress);
  }

  /**
   * Serves exactly these brokers and channels, each stored in the channel `storeOf` names. One that
   * keeps its uid keeps its routing; a new uid starts afresh.
   */
  serve(brokers: readonly ServedStore<BrokerEntry>[], channels: readonly ServedStore<ChannelEntry>[]): void {
    const nextBrokers = new Map<string, ServedBroker>();
    for (const { entry, channel, backend } of brokers) {
      const key = `${entry.namespace}/${entry.name}`;
      const existing = this.brokers.get(key);
      if (existing && existing.entry.uid === entry.uid) {
        existing.entry = entry;
        nextBrokers.set(key, existing);
      } else nextBrokers.set(key, this.brokerState(entry, channel, backend ?? this.options.backend));
    }
    const nextChannels = new Map<string, Served<ChannelEntry>>();
    for (const { entry, channel, backend } of channels) {
      const key = `${entry.namespace}/${entry.name}`;
      const existing = this.channels.get(key);
      if (existing && existing.entry.uid === entry.uid) {
        existing.entry = entry;
        nextChannels.set(key, existing);
      } else nextChannels.set(key, this.channelState(entry, channel, backend ?? this.options.backend));
    }
    this.brokers = nextBrokers;
    this.channels = nextChannels;
  }

  /** Routes a broker's events to the triggers of `index` (targeted backends only). */
  routeBroker(namespace: string, name: string, index: TriggerIndex): void {
    const state = this.brokers.get(`${namespace}/${name}`);
    if (state) state.index = index;
  }

  /** A broker's store with the broker extensions stamped, for replies re-entering it. */
  brokerTarget(namespace: string, name: string): IngressTarget | undefined {
    return this.brokers.get(`${namespace}/${name}`)?.target;
  }

  /** Whether a broker is being served. */
  hasBroker(namespace: string, name: string): boolean {
    return this.brokers.has(`${namespace}/${name}`);
  }

  private brokerState(entry: BrokerEntry, channel: ChannelRef, backend: IngressStore): ServedBroker {
    const { observer } = this.options;
    const who: DeliveryTarget = { kind: 'Broker', namespace: entry.namespace, name: entry.name };
    const state: ServedBroker = {
      entry,
      channel,
      index: NO_TRIGGERS,
      target: { append: () => Promise.resolve(ACCEPTED) },
    };
    const stored = (event: CloudEvent, result: AppendResult): AppendResult => {
      if (result.ok) this.counted(who, event, result, 'no_matching_trigger');
      return result;
    };
    const store: IngressTarget = {
      append: backend.targetedAppend
        ? (event, headers) => {
            // Route once at ingress: only the matching triggers' queues receive the event.
            const targets = state.index.match(event);
            if (targets.length === 0) {
              observer.discarded(who, [event], 'no_matching_trigger');
              return Promise.resolve(ACCEPTED);
            }
            return backend
              .append(channel, event, headers, { targets, key: partitionKey(event) })
              .then((r) => stored(event, r));
          }
        : (event, headers) =>
            backend
              .append(channel, event, headers, { key: partitionKey(event) })
              .then((r) => stored(event, r)),
    };
    const reference = {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      namespace: entry.namespace,
      name: entry.name,
      uid: entry.uid,
    };
    state.target = brokerTarget(recordingTypes(store, this.options.eventTypes, reference), this.maxTtl);
    return state;
  }

  private channelState(
    entry: ChannelEntry,
    channel: ChannelRef,
    backend: IngressStore,
  ): Served<ChannelEntry> {
    // C4: a channel stores the event exactly as received.
    const who: DeliveryTarget = { kind: 'Channel', namespace: entry.namespace, name: entry.name };
    const target: IngressTarget = {
      append: (event, headers) =>
        backend.append(channel, event, headers, { key: partitionKey(event) }).then((result) => {
          if (result.ok) this.counted(who, event, result, 'no_subscribers');
          return result;
        }),
    };
    const reference = {
      ...channelReferenceKind(entry.store),
      namespace: entry.namespace,
      name: entry.name,
      uid: entry.uid,
    };
    return { entry, channel, target: recordingTypes(target, this.options.eventTypes, reference) };
  }

  /** Reports what an accepted append stored; an event stored for nobody is counted as discarded. */
  private counted(who: DeliveryTarget, event: CloudEvent, result: { copies?: number }, none: string): void {
    if (result.copies === 0) this.options.observer.discarded(who, [event], none);
    else this.options.observer.accepted(who, result.copies);
  }

  private routeOf(url: string): IngressRoute {
    const path = classifyPath(url);
    if (!path.ok) return this.options.paths === 'channels-at-root' ? channelUsage(path) : path;
    const { kind, namespace, name } = path;
    const key = `${namespace}/${name}`;
    if (kind === 'broker' && this.options.paths === 'channels-at-root')
      return { ok: true, namespace, name, kind: 'channel', target: this.channels.get(key)?.target };
    if (kind === 'broker') return { ok: true, namespace, name, kind, target: this.brokers.get(key)?.target };
    if (kind === 'channel')
      return { ok: true, namespace, name, kind, target: this.channels.get(key)?.target };
    return { ok: false, status: 404, reason: `no built-in sink is served at '${url}'` };
  }
}

/** A path refusal worded for a channel service, whose two-segment paths are channels. */
function channelUsage<R extends { reason: string }>(refusal: R): R {
  return {
    ...refusal,
    reason: refusal.reason
      .replace('no broker in the path', 'no channel in the path')
      .replace('/<namespace>/<broker>', '/<namespace>/<channel>'),
  };
}
