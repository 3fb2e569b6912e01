import { Controller, Get, Inject, HttpException, HttpStatus } from '@nestjs/common';

/** Token of the readiness check every service provides. */
export const READINESS = Symbol('READINESS');
/** Tells whether the service is ready to take traffic, and why not. */
export interface Readiness {
  readiness(): { ready: boolean; reason?: string };
}

/** `/healthz` (process alive) and `/readyz` (serving) endpoints for probes; the app module provides READINESS. */
@Controller()
export class HealthController {
  constructor(@Inject(READINESS) private readonly readiness: Readiness) {}

  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  @Get('readyz')
  readyz() {
    const state = this.readiness.readiness();
    if (!state.ready)
      throw new HttpException({ status: 'not ready', reason: state.reason }, HttpStatus.SERVICE_UNAVAILABLE);
    return { status: 'ready' };
  }
}
