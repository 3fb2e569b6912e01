import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { StoreSides } from '@eventing/broker';
import { KafkaChannelBackend, describeKafkaError } from '@eventing/channels/kafka';
import { EventingMetrics, METRICS_REGISTRY, MetricsController } from '@eventing/observability';
import { HealthController, READINESS, createLogger, type LogLevel } from '@eventing/runtime';

export interface KafkaBrokerReceiverSettings {
  contractPath: string;
  /** `host:port` of some Kafka brokers. */
  bootstrap: string[];
  clientId: string;
  maxBodyBytes: number;
  maxTtl: number;
  /** Appends waiting for Kafka at once; past it ingress answers 503. */
  maxPendingAppends: number;
  /** Topics created for brokers whose config names none. */
  numPartitions: number;
  replicationFactor: number;
  shutdownGraceMs: number;
  logLevel: LogLevel;
}

/**
 * The kafka-broker-receiver process: the ingress of the contract's Kafka-class brokers. Each event is
 * appended to its broker's topic and answered 202 once every in-sync replica has it (acks=all); the
 * kafka-broker-dispatcher delivers it from there.
 */
export class KafkaBrokerReceiver implements OnApplicationShutdown {
  readonly metrics = new EventingMetrics();
  readonly sides: StoreSides;
  private readonly contract: { close(): void };

  constructor(private readonly settings: KafkaBrokerReceiverSettings) {
    const log = createLogger({ service: 'kafka-broker-receiver', level: settings.logLevel });
    const backend = new KafkaChannelBackend({
      bootstrap: settings.bootstrap,
      clientId: settings.clientId,
      topic: { numPartitions: settings.numPartitions, replicationFactor: settings.replicationFactor },
      producer: { maxPendingAppends: settings.maxPendingAppends },
      onError: (error, context) => log.warn({ context, error: describeKafkaError(error) }, 'Kafka error'),
    });
    this.sides = new StoreSides({
      store: 'kafka',
      resources: 'brokers',
      backend,
      ingress: { maxBodyBytes: settings.maxBodyBytes, maxTtl: settings.maxTtl },
      // Creating topics is the control plane's job; until the controller does it, the receiver
      // ensures its brokers' topics at apply (idempotent: an existing topic is kept as it is).
      ensureStores: true,
      metrics: this.metrics,
      log,
    });
    this.contract = this.sides.follow(settings.contractPath);
  }

  async onApplicationShutdown(): Promise<void> {
    this.contract.close();
    await this.sides.close(this.settings.shutdownGraceMs);
  }
}

/** kafka-broker-receiver: `/<namespace>/<broker>` → the broker's topic. */
@Module({})
export class KafkaBrokerReceiverModule {
  static register(settings: KafkaBrokerReceiverSettings): DynamicModule {
    return {
      module: KafkaBrokerReceiverModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: KafkaBrokerReceiver, useFactory: () => new KafkaBrokerReceiver(settings) },
        {
          provide: READINESS,
          useFactory: (svc: KafkaBrokerReceiver) => svc.sides,
          inject: [KafkaBrokerReceiver],
        },
        {
          provide: METRICS_REGISTRY,
          useFactory: (svc: KafkaBrokerReceiver) => svc.metrics.registry,
          inject: [KafkaBrokerReceiver],
        },
      ],
    };
  }
}
