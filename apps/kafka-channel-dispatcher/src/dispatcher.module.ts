import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { StoreSides } from '@eventing/broker';
import { KafkaChannelBackend, describeKafkaError } from '@eventing/channels/kafka';
import { Dispatcher } from '@eventing/delivery';
import { EventingMetrics, METRICS_REGISTRY, MetricsController } from '@eventing/observability';
import { HealthController, READINESS, createLogger, type LogLevel } from '@eventing/runtime';

export interface KafkaChannelDispatcherSettings {
  contractPath: string;
  /** `host:port` of some Kafka brokers. */
  bootstrap: string[];
  clientId: string;
  maxBodyBytes: number;
  maxInFlight: number;
  maxInFlightTotal: number;
  /** How often finished offsets are committed: bounds what a crash redelivers. */
  commitIntervalMs: number;
  sessionTimeoutMs: number;
  /** Topics created for channels whose spec names none. */
  numPartitions: number;
  replicationFactor: number;
  shutdownGraceMs: number;
  logLevel: LogLevel;
}

/**
 * The kafka-channel-dispatcher process: the contract's KafkaChannels, received (appended to their
 * topic, 202 once every in-sync replica has it) and dispatched (a consumer group per Subscription, so
 * replicas share the partitions).
 */
export class KafkaChannelDispatcher implements OnApplicationShutdown {
  readonly metrics = new EventingMetrics();
  readonly sides: StoreSides;
  private readonly dispatcher = new Dispatcher({ connectionsPerOrigin: 256 });
  private readonly contract: { close(): void };

  constructor(private readonly settings: KafkaChannelDispatcherSettings) {
    const log = createLogger({ service: 'kafka-channel-dispatcher', level: settings.logLevel });
    const backend = new KafkaChannelBackend({
      bootstrap: settings.bootstrap,
      clientId: settings.clientId,
      topic: { numPartitions: settings.numPartitions, replicationFactor: settings.replicationFactor },
      consumer: {
        commitIntervalMs: settings.commitIntervalMs,
        sessionTimeoutMs: settings.sessionTimeoutMs,
        heartbeatIntervalMs: Math.min(3_000, Math.floor(settings.sessionTimeoutMs / 3)),
      },
      onError: (error, context) => log.warn({ context, error: describeKafkaError(error) }, 'Kafka error'),
      onMalformedRecord: (r) =>
        log.warn(
          { topic: r.topic, partition: r.partition, offset: String(r.offset), reason: r.reason },
          'a record that is not a CloudEvent was skipped',
        ),
    });
    this.sides = new StoreSides({
      store: 'kafka',
      resources: 'channels',
      backend,
      ingress: { maxBodyBytes: settings.maxBodyBytes },
      dispatch: {
        dispatcher: this.dispatcher,
        defaultMaxInFlight: settings.maxInFlight,
        maxInFlightTotal: settings.maxInFlightTotal,
      },
      // Creating topics is the control plane's job; until the controller does it, every replica
      // ensures its channels' topics at apply (idempotent: an existing topic is kept as it is).
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

/** kafka-channel-dispatcher: `/<namespace>/<channel>` in, each Subscription's subscriber out. */
@Module({})
export class KafkaChannelDispatcherModule {
  static register(settings: KafkaChannelDispatcherSettings): DynamicModule {
    return {
      module: KafkaChannelDispatcherModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: KafkaChannelDispatcher, useFactory: () => new KafkaChannelDispatcher(settings) },
        {
          provide: READINESS,
          useFactory: (svc: KafkaChannelDispatcher) => svc.sides,
          inject: [KafkaChannelDispatcher],
        },
        {
          provide: METRICS_REGISTRY,
          useFactory: (svc: KafkaChannelDispatcher) => svc.metrics.registry,
          inject: [KafkaChannelDispatcher],
        },
      ],
    };
  }
}
