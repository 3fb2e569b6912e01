import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { StoreSides } from '@eventing/broker';
import { JetStreamChannelBackend } from '@eventing/channels/jetstream';
import { Dispatcher } from '@eventing/delivery';
import { EventingMetrics, METRICS_REGISTRY, MetricsController } from '@eventing/observability';
import { HealthController, READINESS, createLogger, type LogLevel } from '@eventing/runtime';

export interface NatsChannelDispatcherSettings {
  contractPath: string;
  /** NATS server URLs. */
  servers: string[];
  connectionName: string;
  maxBodyBytes: number;
  maxInFlight: number;
  maxInFlightTotal: number;
  /** How long JetStream waits for an ack before it redelivers (a crashed replica's messages). */
  ackWaitMs: number;
  redeliveryDelayMs: number;
  redeliveryMaxDelayMs: number;
  publishTimeoutMs: number;
  shutdownGraceMs: number;
  logLevel: LogLevel;
}

/**
 * The nats-channel-dispatcher process: the contract's NatsJetStreamChannels, received (published to
 * their stream, 202 on JetStream's ack) and dispatched (a durable pull consumer per Subscription, so
 * replicas share its messages).
 */
export class NatsChannelDispatcher implements OnApplicationShutdown {
  readonly metrics = new EventingMetrics();
  readonly sides: StoreSides;
  private readonly dispatcher = new Dispatcher({ connectionsPerOrigin: 256 });
  private readonly contract: { close(): void };

  constructor(private readonly settings: NatsChannelDispatcherSettings) {
    const log = createLogger({ service: 'nats-channel-dispatcher', level: settings.logLevel });
    const backend = new JetStreamChannelBackend({
      servers: settings.servers,
      name: settings.connectionName,
      ackWaitMs: settings.ackWaitMs,
      nackDelayMs: settings.redeliveryDelayMs,
      maxNackDelayMs: settings.redeliveryMaxDelayMs,
      publishTimeoutMs: settings.publishTimeoutMs,
      onMalformedMessage: (m) =>
        log.warn(
          { stream: m.stream, sequence: m.sequence, subject: m.subject, reason: m.reason },
          'a message that is not a CloudEvent was terminated',
        ),
    });
    this.sides = new StoreSides({
      store: 'jetstream',
      resources: 'channels',
      backend,
      ingress: { maxBodyBytes: settings.maxBodyBytes },
      dispatch: {
        dispatcher: this.dispatcher,
        defaultMaxInFlight: settings.maxInFlight,
        maxInFlightTotal: settings.maxInFlightTotal,
      },
      // Creating streams is the control plane's job; until the controller does it, every replica
      // ensures its channels' streams at apply (idempotent: the same stream is found, not re-made).
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

/** nats-channel-dispatcher: `/<namespace>/<channel>` in, each Subscription's subscriber out. */
@Module({})
export class NatsChannelDispatcherModule {
  static register(settings: NatsChannelDispatcherSettings): DynamicModule {
    return {
      module: NatsChannelDispatcherModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: NatsChannelDispatcher, useFactory: () => new NatsChannelDispatcher(settings) },
        {
          provide: READINESS,
          useFactory: (svc: NatsChannelDispatcher) => svc.sides,
          inject: [NatsChannelDispatcher],
        },
        {
          provide: METRICS_REGISTRY,
          useFactory: (svc: NatsChannelDispatcher) => svc.metrics.registry,
          inject: [NatsChannelDispatcher],
        },
      ],
    };
  }
}
