import { Module, type DynamicModule } from '@nestjs/common';
import { METRICS_REGISTRY, MetricsController } from '@eventing/observability';
import { HealthController, READINESS, type Readiness } from '@eventing/runtime';
import type { Registry } from 'prom-client';

/** The webhook's admin endpoints: `/healthz`, `/readyz` and `/metrics`. Admission requests never go through Nest. */
@Module({})
export class WebhookAdminModule {
  static register(readiness: Readiness, registry: Registry): DynamicModule {
    return {
      module: WebhookAdminModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: READINESS, useValue: readiness },
        { provide: METRICS_REGISTRY, useValue: registry },
      ],
    };
  }
}
