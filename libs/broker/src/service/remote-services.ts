import { ContractFollower, type Contract } from '@eventing/contract';
import { Dispatcher } from '@eventing/delivery';
import { createLogger, type LogLevel, type ServiceCore } from '@eventing/runtime';
import { createFilterHandler, indexTriggers } from '../filter/filter-handler';
import { brokerRoutes, createIngressHandler } from '../ingress/handler';
import { remoteIngressTargets } from '../remote-ingress';

/** A service whose only state is what it derives from the contract file. */
function followingService<T>(
  name: string,
  settings: { contractPath: string; logLevel: LogLevel },
  build: (dispatcher: Dispatcher) => {
    project: (contract: Contract) => T;
    empty: T;
    handler: (current: () => T) => ServiceCore['handler'];
  },
): ServiceCore {
  const dispatcher = new Dispatcher({ connectionsPerOrigin: 256 });
  const parts = build(dispatcher);
  const contract = new ContractFollower(
    settings.contractPath,
    parts.project,
    parts.empty,
    createLogger({ service: name, level: settings.logLevel }),
  );
  return {
    handler: parts.handler(() => contract.current),
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
export function brokerIngressService(settings: {
  contractPath: string;
  logLevel: LogLevel;
  maxBodyBytes: number;
  maxTtl: number;
  channelTimeoutMs: number;
}): ServiceCore {
  return followingService('broker-ingress', settings, (dispatcher) => ({
    project: (contract) =>
      remoteIngressTargets(contract.brokers, dispatcher, settings.channelTimeoutMs, settings.maxTtl),
    empty: new Map(),
    handler: (current) =>
      createIngressHandler({
        route: brokerRoutes((namespace, name) => current().get(`${namespace}/${name}`)),
        maxBodyBytes: settings.maxBodyBytes,
      }),
  }));
}

/** broker-filter: `/triggers/<namespace>/<trigger>/<uid>` in, filter, one attempt to the subscriber. */
export function brokerFilterService(settings: {
  contractPath: string;
  logLevel: LogLevel;
  maxBodyBytes: number;
}): ServiceCore {
  return followingService('broker-filter', settings, (dispatcher) => ({
    project: (contract) => indexTriggers(contract.triggers),
    empty: new Map(),
    handler: (current) =>
      createFilterHandler({
        lookup: (namespace, name) => current().get(`${namespace}/${name}`),
        dispatcher,
        maxBodyBytes: settings.maxBodyBytes,
      }),
  }));
}
