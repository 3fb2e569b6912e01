import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { createFilterHandler, indexTriggers, type FilterTrigger } from '@eventing/broker';
import { watchContractFile, type Contract } from '@eventing/contract';
import { Dispatcher } from '@eventing/delivery';
import { HealthController, READINESS, createLogger, type Logger } from '@eventing/runtime';

export interface FilterSettings {
  contractPath: string;
  maxBodyBytes: number;
}

/** The broker-filter process state: contract-driven trigger table and the plain request handler. */
export class FilterService implements OnApplicationShutdown {
  readonly handler: ReturnType<typeof createFilterHandler>;
  private triggers = new Map<string, FilterTrigger>();
  private contract: Contract | undefined;
  private readonly dispatcher = new Dispatcher({ connectionsPerOrigin: 256 });
  private readonly watcher: { close(): void };
  private readonly log: Logger = createLogger({ service: 'broker-filter' });

  constructor(settings: FilterSettings) {
    this.handler = createFilterHandler({
      lookup: (namespace, name) => this.triggers.get(`${namespace}/${name}`),
      dispatcher: this.dispatcher,
      maxBodyBytes: settings.maxBodyBytes,
    });
    this.watcher = watchContractFile(
      settings.contractPath,
      (contract) => {
        this.contract = contract;
        this.triggers = indexTriggers(contract.triggers);
        this.log.info({ generation: contract.generation, triggers: this.triggers.size }, 'contract applied');
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

/** broker-filter: `/triggers/<namespace>/<trigger>/<uid>` → filter → subscriber. */
@Module({})
export class FilterModule {
  static register(settings: FilterSettings): DynamicModule {
    return {
      module: FilterModule,
      controllers: [HealthController],
      providers: [
        { provide: FilterService, useFactory: () => new FilterService(settings) },
        {
          provide: READINESS,
          useFactory: (svc: FilterService) => ({
            ready: () => (svc.ready ? { ready: true } : { ready: false, reason: 'no valid contract loaded yet' }),
          }),
          inject: [FilterService],
        },
      ],
    };
  }
}
