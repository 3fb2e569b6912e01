import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { createIngressHandler, remoteIngressTargets, type IngressTarget } from '@eventing/broker';
import { watchContractFile, type Contract } from '@eventing/contract';
import { Dispatcher } from '@eventing/delivery';
import { HealthController, READINESS, createLogger, type Logger } from '@eventing/runtime';

export interface IngressSettings {
  contractPath: string;
  maxBodyBytes: number;
  maxTtl: number;
  channelTimeoutMs: number;
}

/** The broker-ingress process state: contract-driven lookups and the plain request handler. */
export class IngressService implements OnApplicationShutdown {
  readonly handler: ReturnType<typeof createIngressHandler>;
  private targets = new Map<string, IngressTarget>();
  private contract: Contract | undefined;
  private readonly dispatcher = new Dispatcher({ connectionsPerOrigin: 256 });
  private readonly watcher: { close(): void };
  private readonly log: Logger = createLogger({ service: 'broker-ingress' });

  constructor(settings: IngressSettings) {
    this.handler = createIngressHandler({
      lookup: (namespace, name) => this.targets.get(`${namespace}/${name}`),
      maxBodyBytes: settings.maxBodyBytes,
      maxTtl: settings.maxTtl,
    });
    this.watcher = watchContractFile(
      settings.contractPath,
      (contract) => {
        this.contract = contract;
        this.targets = remoteIngressTargets(contract.brokers, this.dispatcher, settings.channelTimeoutMs);
        this.log.info({ generation: contract.generation, brokers: this.targets.size }, 'contract applied');
      },
      (err) => this.log.error({ error: err.message }, 'contract rejected; keeping the previous one'),
    );
  }

  get ready(): boolean {
    return this.contract !== undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    this.watcher.close();
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
        {
          provide: READINESS,
          useFactory: (svc: IngressService) => ({
            ready: () => (svc.ready ? { ready: true } : { ready: false, reason: 'no valid contract loaded yet' }),
          }),
          inject: [IngressService],
        },
      ],
    };
  }
}
