import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { StoreSides } from '@eventing/broker';
import { MemoryChannelBackend } from '@eventing/channels';
import { Dispatcher } from '@eventing/delivery';
import { EventingMetrics, METRICS_REGISTRY, MetricsController } from '@eventing/observability';
import { HealthController, READINESS, createLogger, type LogLevel } from '@eventing/runtime';

export interface ImcDispatcherSettings {
  contractPath: string;
  maxBodyBytes: number;
  /** Undelivered events held per subscription; a full one makes ingress answer 503. */
  queueCapacity: number;
  maxInFlight: number;
  maxInFlightTotal: number;
  redeliveryDelayMs: number;
  redeliveryMaxDelayMs: number;
  shutdownGraceMs: number;
  logLevel: LogLevel;
}

/** The imc-dispatcher process: InMemoryChannels of the contract, received and dispatched here. */
export class ImcDispatcher implements OnApplicationShutdown {
  readonly metrics = new EventingMetrics();
  readonly sides: StoreSides;
  private readonly dispatcher = new Dispatcher({ connectionsPerOrigin: 256 });
  private readonly contract: { close(): void };

  constructor(private readonly settings: ImcDispatcherSettings) {
    const log = createLogger({ service: 'imc-dispatcher', level: settings.logLevel });
    this.sides = new StoreSides({
      store: 'memory',
      resources: 'channels',
      backend: new MemoryChannelBackend({
        capacityPerSubscription: settings.queueCapacity,
        nackDelayMs: settings.redeliveryDelayMs,
        maxNackDelayMs: settings.redeliveryMaxDelayMs,
      }),
      ingress: { maxBodyBytes: settings.maxBodyBytes },
      dispatch: {
        dispatcher: this.dispatcher,
        defaultMaxInFlight: settings.maxInFlight,
        maxInFlightTotal: settings.maxInFlightTotal,
      },
      // The queues live in this process: it makes them (nobody else could).
      ensureStores: true,
      metrics: this.metrics,
      log,
    });
    this.contract = this.sides.follow(settings.contractPath);
  }

  async onApplicationShutdown(): Promise<void> {
    this.contract.close();
    await this.sides.close(this.settings.shutdownGraceMs);
    await this.dispatcher.close();
  }
}

/** imc-dispatcher: `/<namespace>/<channel>` in, each Subscription's subscriber out. */
@Module({})
export class ImcDispatcherModule {
  static register(settings: ImcDispatcherSettings): DynamicModule {
    return {
      module: ImcDispatcherModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: ImcDispatcher, useFactory: () => new ImcDispatcher(settings) },
        { provide: READINESS, useFactory: (svc: ImcDispatcher) => svc.sides, inject: [ImcDispatcher] },
        {
          provide: METRICS_REGISTRY,
          useFactory: (svc: ImcDispatcher) => svc.metrics.registry,
          inject: [ImcDispatcher],
        },
      ],
    };
  }
}
