import { Controller, Get, Header, Inject } from '@nestjs/common';
import type { Registry } from 'prom-client';

/** Token of the prom-client registry a service exposes at `/metrics`. */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/** Serves the Prometheus text exposition of the service's registry. */
@Controller()
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
