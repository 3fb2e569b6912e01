import { ContractFollower, type Contract } from '@eventing/contract';
import { Dispatcher } from '@eventing/delivery';
import { createLogger, type LogLevel, type ServiceCore } from '@eventing/runtime';
import { FOLDED_LABEL_VALUE, EventingMetrics, type MetricsTarget } from '@eventing/observability';
import type { FrameHandler } from '@eventing/frames';
import {
  createFilterFrameHandler,
  createFilterHandler,
  indexTriggers,
  type FilterHandlerOptions,
  type FilterTrigger,
} from '../filter/filter-handler';
import {
  brokerRoutes,
  createIngressFrameHandler,
  createIngressHandler,
  type IngressOptions,
  type IngressTarget,
} from '../ingress/handler';
import { remoteIngressTargets } from '../remote-ingress';
import { observedTypesHttpSink } from '../eventtypes/http-sink';
import { EventTypeRecorder } from '../eventtypes/recorder';

/** Eventing frames settings of a service (both `on` when absent). */
export interface FramesSettings {
  /** `off`: its Dispatcher always sends over HTTP. */
  deliveryFrames?: string;
  /** `off`: it takes no frames and does not offer them. */
  acceptFrames?: string;
}

/** A service whose only state is what it derives from the contract file. */
function followingService<T>(
  name: string,
  settings: { contractPath: string; logLevel: LogLevel; maxBodyBytes: number } & FramesSettings,
  build: (
    dispatcher: Dispatcher,
    metrics: EventingMetrics,
  ) => {
    project: (contract: Contract) => T;
    empty: T;
    handler: (current: () => T, advertiseFrames: boolean) => ServiceCore['handler'];
    frames: (current: () => T) => FrameHandler;
  },
): ServiceCore & { readonly metrics: EventingMetrics } {
  const dispatcher = new Dispatcher({
    connectionsPerOrigin: 256,
    frames: settings.deliveryFrames !== 'off',
  });
  const accept = settings.acceptFrames !== 'off';
  const metrics = new EventingMetrics();
  const parts = build(dispatcher, metrics);
  const log = createLogger({ service: name, level: settings.logLevel });
  const contract = new ContractFollower(
    settings.contractPath,
    (document) => {
      const value = parts.project(document);
      metrics.contractApplied(document.generation);
      return value;
    },
    parts.empty,
    {
      info: (fields, msg) => log.info(fields, msg),
      // The follower reports only a document it rejected here.
      error: (fields, msg) => {
        metrics.applyFailed('contract_rejected');
        log.error(fields, msg);
      },
    },
  );
  return {
    metrics,
    handler: parts.handler(() => contract.current, accept),
    frames: accept
      ? { handler: parts.frames(() => contract.current), maxBodyBytes: settings.maxBodyBytes }
      : undefined,
    registry: metrics.registry,
    readiness: () => contract.readiness(),
    close: async () => {
      contract.close();
      await dispatcher.close();
    },
  };
}

/**
 * broker-ingress: `/<namespace>/<broker>` in, each event POSTed once to the broker's channel address
 * from the contract (500 on any channel failure, B12).
 */
export function brokerIngressService(
  settings: {
    contractPath: string;
    logLevel: LogLevel;
    maxBodyBytes: number;
    maxTtl: number;
    channelTimeoutMs: number;
    /** The controller's `/eventtypes/observed`; '' = no EventType auto-creation from this service. */
    eventTypeRegistryUrl?: string;
  } & FramesSettings,
): ServiceCore & { readonly metrics: EventingMetrics } {
  const eventTypes = eventTypeRecorder('broker-ingress', settings);
  const service = followingService('broker-ingress', settings, (dispatcher, metrics) => {
    const ingressOptions = (current: () => Map<string, IngressTarget>): IngressOptions => ({
      route: brokerRoutes((namespace, name) => current().get(`${namespace}/${name}`)),
      maxBodyBytes: settings.maxBodyBytes,
      onResult: (r) => {
        if (r.kind !== 'broker' || r.namespace === undefined || r.name === undefined) return;
        // A path that names no served broker never becomes a label value, whatever the status
        // (202 is answered only for a served one).
        const served = r.status === 202 || current().has(`${r.namespace}/${r.name}`);
        metrics.ingressResult(r.namespace, r.name, r.eventType ?? '', r.status, r.seconds, served);
      },
    });
    return {
      project: (contract) =>
        remoteIngressTargets(
          contract.brokers,
          dispatcher,
          settings.channelTimeoutMs,
          settings.maxTtl,
          eventTypes,
        ),
      empty: new Map(),
      handler: (current, advertiseFrames) =>
        createIngressHandler({ ...ingressOptions(current), advertiseFrames }),
      frames: (current) => createIngressFrameHandler(ingressOptions(current)),
    };
  });
  if (eventTypes === undefined) return service;
  return {
    ...service,
    close: () => {
      eventTypes.close();
      return service.close();
    },
  };
}

/**
 * The recorder of a service given the controller's registry URL: on from the start (the controller
 * answers enabled:false while `eventtype-auto-create` is off, and recording then pauses).
 */
export function eventTypeRecorder(
  name: string,
  settings: { eventTypeRegistryUrl?: string; logLevel: LogLevel },
): EventTypeRecorder | undefined {
  const url = settings.eventTypeRegistryUrl;
  if (url === undefined || url === '') return undefined;
  const log = createLogger({ service: name, level: settings.logLevel });
  return new EventTypeRecorder({
    enabled: true,
    sink: observedTypesHttpSink(url),
    onError: (error, batch) =>
      log.warn(
        { error: error.message, types: batch.length },
        'handing event types to the controller failed; trying again',
      ),
  });
}

/** Who an attempt for a trigger the contract does not have is counted for. */
const UNKNOWN_TRIGGER: MetricsTarget = {
  kind: 'Trigger',
  namespace: FOLDED_LABEL_VALUE,
  name: FOLDED_LABEL_VALUE,
  broker: FOLDED_LABEL_VALUE,
};

/** broker-filter: `/triggers/<namespace>/<trigger>/<uid>` in, filter, one attempt to the subscriber. */
export function brokerFilterService(
  settings: {
    contractPath: string;
    logLevel: LogLevel;
    maxBodyBytes: number;
  } & FramesSettings,
): ServiceCore & { readonly metrics: EventingMetrics } {
  // One metrics target per trigger of the current contract, made on its first attempt.
  const targets = new WeakMap<FilterTrigger, MetricsTarget>();
  const targetOf = (t: FilterTrigger): MetricsTarget => {
    let target = targets.get(t);
    if (target === undefined) {
      const { namespace, name, broker } = t.entry;
      targets.set(t, (target = { kind: 'Trigger', namespace, name, broker }));
    }
    return target;
  };
  return followingService('broker-filter', settings, (dispatcher, metrics) => {
    const filterOptions = (current: () => Map<string, FilterTrigger>): FilterHandlerOptions => ({
      lookup: (namespace, name) => current().get(`${namespace}/${name}`),
      dispatcher,
      maxBodyBytes: settings.maxBodyBytes,
      // Retries, dead letters and outcomes belong to the channel dispatcher in front: counted here
      // is each attempt the filter passed, by the subscriber's status (as upstream's filter counts).
      onResult: (r) => {
        if (r.filtered) return;
        const trigger = r.trigger === undefined ? undefined : current().get(r.trigger);
        metrics.attemptEnded(
          trigger === undefined ? UNKNOWN_TRIGGER : targetOf(trigger),
          undefined,
          r.status,
          r.seconds,
        );
      },
    });
    return {
      project: (contract) => indexTriggers(contract.triggers),
      empty: new Map<string, FilterTrigger>(),
      handler: (current, advertiseFrames) =>
        createFilterHandler({ ...filterOptions(current), advertiseFrames }),
      frames: (current) => createFilterFrameHandler(filterOptions(current)),
    };
  });
}
