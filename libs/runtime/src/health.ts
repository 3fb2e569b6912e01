import { Controller, Get, Inject, HttpException, HttpStatus, Module, type DynamicModule } from '@nestjs/common';

/** Token of the readiness check every service provides. */
export const READINESS = Symbol('READINESS');
/** Tells whether the service is ready to take traffic, and why not. */
export interface Readiness {
  ready(): { ready: boolean; reason?: string };
}

@Controller()
class HealthController {
  constructor(@Inject(READINESS) private readonly readiness: Readiness) {}

  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  @Get('readyz')
  readyz() {
    const state = this.readiness.ready();
    if (!state.ready) throw new HttpException({ status: 'not ready', reason: state.reason }, HttpStatus.SERVICE_UNAVAILABLE);
    return { status: 'ready' };
  }
}

/** `/healthz` (process alive) and `/readyz` (serving) endpoints, for probes. */
@Module({})
export class HealthModule {
  static forReadiness(readinessToken: symbol | string = READINESS): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthController],
      providers: readinessToken === READINESS ? [] : [{ provide: READINESS, useExisting: readinessToken }],
    };
  }
}
