import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { HealthController, READINESS, createLogger, type Readiness } from '@eventing/runtime';
import { METRICS_REGISTRY, MetricsController } from '@eventing/observability';
import type { StandaloneOptions } from './options';
import { StandaloneRuntime } from './standalone-runtime';

export const STANDALONE_RUNTIME = Symbol('STANDALONE_RUNTIME');

/** Stops the runtime when the application shuts down (SIGTERM): in-flight deliveries finish first. */
class RuntimeLifecycle implements OnApplicationShutdown {
  constructor(@Inject(STANDALONE_RUNTIME) private readonly runtime: StandaloneRuntime) {}

  async onApplicationShutdown(): Promise<void> {
    await this.runtime.stop();
  }
}

/** Wires the standalone process: one runtime object built at start-up, probes, shutdown. */
@Module({})
export class StandaloneModule {
  static register(options: StandaloneOptions, print: (line: string) => void): DynamicModule {
    const runtimeProvider = {
      provide: STANDALONE_RUNTIME,
      useFactory: () =>
        new StandaloneRuntime(
          options,
          createLogger({ service: 'standalone', format: options.logFormat, level: options.logLevel }),
          print,
        ),
    };
    const readiness = {
      provide: READINESS,
      useFactory: (runtime: StandaloneRuntime): Readiness => ({
        readiness: () => (runtime.ready ? { ready: true } : { ready: false, reason: 'loading resources' }),
      }),
      inject: [STANDALONE_RUNTIME],
    };
    return {
      module: StandaloneModule,
      controllers: [HealthController, MetricsController],
      providers: [
        runtimeProvider,
        readiness,
        RuntimeLifecycle,
        {
          provide: METRICS_REGISTRY,
          useFactory: (runtime: StandaloneRuntime) => runtime.metrics.registry,
          inject: [STANDALONE_RUNTIME],
        },
      ],
      exports: [STANDALONE_RUNTIME],
    };
  }
}
