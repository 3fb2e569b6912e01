import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { createFilterHandler, indexTriggers, type FilterTrigger } from '@eventing/broker';
import { ContractFollower } from '@eventing/contract';
import { Dispatcher } from '@eventing/delivery';
import { HealthController, READINESS, createLogger } from '@eventing/runtime';

export interface FilterSettings {
  contractPath: string;
  maxBodyBytes: number;
}

/** The broker-filter process state: contract-driven trigger table and the plain request handler. */
export class FilterService implements OnApplicationShutdown {
  readonly handler: ReturnType<typeof createFilterHandler>;
  readonly contract: ContractFollower<Map<string, FilterTrigger>>;
  private readonly dispatcher = new Dispatcher({ connectionsPerOrigin: 256 });

  constructor(settings: FilterSettings) {
    this.contract = new ContractFollower(
      settings.contractPath,
      (contract) => indexTriggers(contract.triggers),
      new Map(),
      createLogger({ service: 'broker-filter' }),
    );
    this.handler = createFilterHandler({
      lookup: (namespace, name) => this.contract.current.get(`${namespace}/${name}`),
      dispatcher: this.dispatcher,
      maxBodyBytes: settings.maxBodyBytes,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.contract.close();
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
        { provide: READINESS, useFactory: (svc: FilterService) => svc.contract, inject: [FilterService] },
      ],
    };
  }
}
