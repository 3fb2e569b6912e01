import type { ChannelBackend } from '@eventing/channels';
import type { StoreKind } from '@eventing/contract';
import { Dispatcher } from '@eventing/delivery';
import { EventingMetrics } from '@eventing/observability';
import {
  createLogger,
  defineService,
  type DefinedService,
  type LogLevel,
  type Logger,
  type ServiceCore,
  type Setting,
  type SettingsOf,
} from '@eventing/runtime';
import type { BrokerReplyFn } from '../egress/trigger-router';
import { StoreSides } from '../sides/store-sides';
import { eventTypeRecorder } from './remote-services';

/** The settings every store service reads (the rows of SERVICE_SETTINGS, LOG_LEVEL and shutdown). */
export interface StoreServiceSettings {
  contractPath: string;
  logLevel: LogLevel;
  shutdownGraceMs: number;
  /** With the ingress side. */
  maxBodyBytes?: number;
  /** Brokers' ingress only. */
  maxTtl?: number;
  /** With the dispatch side. */
  maxInFlight?: number;
  maxInFlightTotal?: number;
  /** The controller's `/eventtypes/observed` (EVENTTYPE_REGISTRY_URL_SETTING); '' or none: not reported. */
  eventTypeRegistryUrl?: string;
  /** `off`: the dispatcher always sends over HTTP (FRAMES_SETTINGS); absent: on. */
  deliveryFrames?: string;
  /** `off`: the ingress side takes no eventing frames; absent: on. */
  acceptFrames?: string;
}

export interface StoreServiceOptions {
  /** The service's name, in its logs. */
  name: string;
  /** The store kind served: brokers or channels stored elsewhere belong to another service. */
  store: StoreKind;
  resources: 'brokers' | 'channels';
  settings: StoreServiceSettings;
  /** Makes the store's client (closed with the service). */
  backend(log: Logger): ChannelBackend;
  /** Runs the ingress side (needs `maxBodyBytes`). */
  ingress: boolean;
  /** Runs the dispatch side (needs `maxInFlight`, `maxInFlightTotal`); `reply` stores triggers' replies. */
  dispatch?: {
    reply?(dispatcher: Dispatcher): BrokerReplyFn;
    brokerUrl?(namespace: string, name: string): string;
  };
}

/** A store service's core, with its sides and metrics for tests and tools. */
export interface StoreServiceCore extends ServiceCore {
  readonly sides: StoreSides;
  readonly metrics: EventingMetrics;
}

function required(value: number | undefined, name: string, service: string): number {
  if (value === undefined) throw new Error(`${service}: its settings have no ${name}`);
  return value;
}

/**
 * A channel dispatcher or Kafka broker service over StoreSides: the contract file followed, the
 * store's client made, the ingress and/or dispatch side run, metrics and readiness exposed; on close
 * the contract is let go, in-flight work finishes for the grace period, and the clients are closed.
 * Provisioning stores is the control plane's job in a cluster; until a controller does it, the
 * services ensure their stores at apply (idempotent: an existing topic or stream is kept as it is).
 */
export function storeService(options: StoreServiceOptions): StoreServiceCore {
  const { settings, name } = options;
  const log = createLogger({ service: name, level: settings.logLevel });
  const metrics = new EventingMetrics();
  // Channels' accepted types go to the registry as broker-ingress's do (a channel reference).
  const eventTypes = options.ingress ? eventTypeRecorder(name, settings) : undefined;
  const dispatcher = options.dispatch
    ? new Dispatcher({ connectionsPerOrigin: 256, frames: settings.deliveryFrames !== 'off' })
    : undefined;
  const acceptFrames = options.ingress && settings.acceptFrames !== 'off';
  const sides = new StoreSides({
    store: options.store,
    resources: options.resources,
    backend: options.backend(log),
    ingress: options.ingress
      ? {
          maxBodyBytes: required(settings.maxBodyBytes, 'maxBodyBytes', name),
          maxTtl: settings.maxTtl,
          eventTypes,
          advertiseFrames: acceptFrames,
        }
      : undefined,
    dispatch:
      options.dispatch && dispatcher
        ? {
            dispatcher,
            reply: options.dispatch.reply?.(dispatcher),
            brokerUrl: options.dispatch.brokerUrl,
            defaultMaxInFlight: required(settings.maxInFlight, 'maxInFlight', name),
            maxInFlightTotal: required(settings.maxInFlightTotal, 'maxInFlightTotal', name),
          }
        : undefined,
    ensureStores: true,
    metrics,
    log,
  });
  const contract = sides.follow(settings.contractPath);
  return {
    sides,
    metrics,
    handler: sides.handler,
    frames:
      acceptFrames && sides.frames
        ? {
            handler: sides.frames,
            maxBodyBytes: required(settings.maxBodyBytes, 'maxBodyBytes', name),
          }
        : undefined,
    registry: metrics.registry,
    readiness: () => sides.readiness(),
    close: async () => {
      contract.close();
      await sides.close(settings.shutdownGraceMs);
      await dispatcher?.close();
      eventTypes?.close();
    },
  };
}

/**
 * Defines a store service (libs/runtime's defineService over `storeService`): its name, its settings
 * table (which must hold every StoreServiceSettings row) and what it runs, given the settings read.
 */
export function defineStoreService<const T extends readonly Setting[]>(
  name: string,
  settings: T & (SettingsOf<T> extends StoreServiceSettings ? unknown : never),
  options: (settings: SettingsOf<T>) => Omit<StoreServiceOptions, 'name' | 'settings'>,
): DefinedService<T, StoreServiceCore> {
  return defineService<T, StoreServiceCore>({
    name,
    settings: settings as T,
    create: (read) => storeService({ ...options(read), name, settings: read as StoreServiceSettings }),
  });
}
