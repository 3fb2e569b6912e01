import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import {
  brokerRoutes,
  createIngressHandler,
  remoteIngressTargets,
  type IngressTarget,
} from '@eventing/broker';
import { ContractFollower } from '@eventing/contract';
import { Dispatcher } from '@eventing/delivery';
import { HealthController, READINESS, createLogger } from '@eventing/runtime';

export interface IngressSettings {
  contractPath: string;
  maxBodyBytes: number;
  maxTtl: number;
  channelTimeoutMs: number;
}

/** The broker-ingress process state: contract-driven lookups and the plain request handler. */
export class IngressService implements OnApplicationShutdown {
  readonly handler: ReturnType<typeof createIngressHandler>;
  readonly contract: ContractFollower<Map<string, IngressTarget>>;
  private readonly dispatcher = new Dispatcher({ connectionsPerOrigin: 256 });

  constructor(settings: IngressSettings) {
    this.contract = new ContractFollower(
      settings.contractPath,
      (contract) =>
        remoteIngressTargets(contract.brokers, this.dispatcher, settings.channelTimeoutMs, settings.maxTtl),
      new Map(),
      createLogger({ service: 'broker-ingress' }),
    );
    this.handler = createIngressHandler({
      route: brokerRoutes((namespace, name) => this.contract.current.get(`${namespace}/${name}`)),
      maxBodyBytes: settings.maxBodyBytes,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.contract.close();
    await this.dispatcher.close();
  }
}

/** broker-ingress: `/<namespace>/<broker>` → the broker's channel. */
@Module({})
export class IngressModule {
  static register(settings: IngressSettings): DynamicModule {
    return {
      module: IngressModule,
      controllers: [HealthController],
      providers: [
        { provide: IngressService, useFactory: () => new IngressService(settings) },
        { provide: READINESS, useFactory: (svc: IngressService) => svc.contract, inject: [IngressService] },
      ],
    };
  }
}
