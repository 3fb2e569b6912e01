import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { StoreSides, pathOf, type BrokerReplyFn } from '@eventing/broker';
import { KafkaChannelBackend, describeKafkaError } from '@eventing/channels/kafka';
import { Dispatcher } from '@eventing/delivery';
import { EventingMetrics, METRICS_REGISTRY, MetricsController } from '@eventing/observability';
import { HealthController, READINESS, createLogger, type LogLevel } from '@eventing/runtime';

export interface KafkaBrokerDispatcherSettings {
  contractPath: string;
  /** `host:port` of some Kafka brokers. */
  bootstrap: string[];
  clientId: string;
  /** Where the kafka-broker-receiver serves `/<namespace>/<broker>`: replies go back in there. */
  receiverUrl: string;
  replyTimeoutMs: number;
  maxInFlight: number;
  maxInFlightTotal: number;
  /** How often finished offsets are committed: bounds what a crash redelivers. */
  commitIntervalMs: number;
  sessionTimeoutMs: number;
  /** Topics created for brokers whose config names none. */
  numPartitions: number;
  replicationFactor: number;
  shutdownGraceMs: number;
  logLevel: LogLevel;
}

/**
 * Stores a trigger subscriber's reply in its broker the way any producer would: POSTed to the broker's
 * receiver, which decrements the TTL the reply carries over from the original (T11) and answers 202
 * once the reply is in the topic. A refusal fails the delivery, and the original is dead-lettered.
 */
export function receiverReply(dispatcher: Dispatcher, receiverUrl: string, timeoutMs: number): BrokerReplyFn {
  return async (trigger, event, headers) => {
    const url = `${receiverUrl}${pathOf('broker', trigger.namespace, trigger.broker)}`;
    const sent = await dispatcher.send(url, event, headers, { format: 'binary', timeoutMs });
    if (sent.ok) return { ok: true };
    return {
      ok: false,
      status: sent.status,
      reason: `the broker's receiver refused the reply: ${sent.reason}`,
    };
  };
}

/**
 * The kafka-broker-dispatcher process: the Triggers of the contract's Kafka-class brokers, one consumer
 * group each reading every record of the broker's topic, filtering and delivering (replicas share the
 * partitions of each group).
 */
export class KafkaBrokerDispatcher implements OnApplicationShutdown {
  readonly metrics = new EventingMetrics();
  readonly sides: StoreSides;
  private readonly dispatcher = new Dispatcher({ connectionsPerOrigin: 256 });
  private readonly contract: { close(): void };

  constructor(private readonly settings: KafkaBrokerDispatcherSettings) {
    const log = createLogger({ service: 'kafka-broker-dispatcher', level: settings.logLevel });
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
    const receiverUrl = settings.receiverUrl.replace(/\/+$/, '');
    this.sides = new StoreSides({
      store: 'kafka',
      resources: 'brokers',
      backend,
      dispatch: {
        dispatcher: this.dispatcher,
        reply: receiverReply(this.dispatcher, receiverUrl, settings.replyTimeoutMs),
        brokerUrl: (namespace, name) => `${receiverUrl}${pathOf('broker', namespace, name)}`,
        defaultMaxInFlight: settings.maxInFlight,
        maxInFlightTotal: settings.maxInFlightTotal,
      },
      // Creating topics is the control plane's job; until the controller does it, the dispatcher
      // ensures its brokers' topics at apply (idempotent), so its consumer groups can start first.
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

/** kafka-broker-dispatcher: each Trigger's consumer group → filter → subscriber; no event ingress. */
@Module({})
export class KafkaBrokerDispatcherModule {
  static register(settings: KafkaBrokerDispatcherSettings): DynamicModule {
    return {
      module: KafkaBrokerDispatcherModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: KafkaBrokerDispatcher, useFactory: () => new KafkaBrokerDispatcher(settings) },
        {
          provide: READINESS,
          useFactory: (svc: KafkaBrokerDispatcher) => svc.sides,
          inject: [KafkaBrokerDispatcher],
        },
        {
          provide: METRICS_REGISTRY,
          useFactory: (svc: KafkaBrokerDispatcher) => svc.metrics.registry,
          inject: [KafkaBrokerDispatcher],
        },
      ],
    };
  }
}
