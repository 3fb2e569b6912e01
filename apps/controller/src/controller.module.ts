import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { METRICS_REGISTRY, MetricsController } from '@eventing/observability';
import { HealthController, READINESS } from '@eventing/runtime';
import type { ClusterController } from './controller-runtime';
import type { ControllerSettings } from './options';

/** Stops the controller (and releases its lease) when the application shuts down. */
class ControllerLifecycle implements OnApplicationShutdown {
  constructor(private readonly controller: ClusterController) {}
  async onApplicationShutdown(): Promise<void> {
    await this.controller.stop();
  }
}

/** The controller's NestJS shell: probes and metrics around the reconcile loop. */
@Module({})
export class ControllerModule {
  static register(controller: ClusterController): DynamicModule {
    return {
      module: ControllerModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: READINESS, useValue: controller },
        { provide: METRICS_REGISTRY, useValue: controller.metrics.registry },
        { provide: ControllerLifecycle, useFactory: () => new ControllerLifecycle(controller) },
      ],
    };
  }
}

export type { ControllerSettings };
