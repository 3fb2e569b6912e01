import { Module } from '@nestjs/common';
import { ConfigError, envInt, envString } from './env';
import { createLogger } from './logger';
import { HealthController, READINESS } from './health';
import { startService } from './service';

describe('env settings', () => {
  it('reads integers within bounds and names the variable otherwise', () => {
    expect(envInt({}, 'PORT', 8080)).toBe(8080);
    expect(envInt({ PORT: '9000' }, 'PORT', 8080)).toBe(9000);
    expect(() => envInt({ PORT: 'x' }, 'PORT', 8080)).toThrow(
      new ConfigError('PORT=x: expected an integer from 0 to 9007199254740991'),
    );
    expect(() => envInt({ PORT: '70000' }, 'PORT', 8080, 0, 65535)).toThrow('PORT=70000');
    expect(envString({ A: '' }, 'A', 'd')).toBe('d');
  });
});

describe('logger', () => {
  it('writes one JSON object per line at or above the level', () => {
    const lines: string[] = [];
    const log = createLogger({ service: 's', level: 'info', write: (l) => lines.push(l) });
    log.debug({}, 'hidden');
    log.warn({ trigger: 'ns/t' }, 'careful');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'warn',
      service: 's',
      msg: 'careful',
      trigger: 'ns/t',
    });
  });
});

describe('service shell', () => {
  let ready = false;
  @Module({
    controllers: [HealthController],
    providers: [{ provide: READINESS, useValue: { readiness: () => ({ ready, reason: 'warming up' }) } }],
  })
  class TestModule {}

  it('sends probes to NestJS and every other request to the plain handler', async () => {
    const service = await startService({
      module: TestModule,
      port: 0,
      host: '127.0.0.1',
      fastPath: () => (req, res) => {
        res.statusCode = 299;
        res.end(`fast ${req.method} ${req.url}`);
      },
    });
    try {
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      const notReady = await fetch(`${service.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ reason: 'warming up' });
      ready = true;
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
      const fast = await fetch(`${service.url}/ns/broker`, { method: 'POST', body: 'x' });
      expect(fast.status).toBe(299);
      expect(await fast.text()).toBe('fast POST /ns/broker');
      expect((await fetch(`${service.url}/healthzz`)).status).toBe(299);
      // Admin paths are exact: a namespace named like one still reaches the plain handler.
      expect((await fetch(`${service.url}/metrics/default`, { method: 'POST' })).status).toBe(299);
      expect((await fetch(`${service.url}/healthz/x`, { method: 'POST' })).status).toBe(299);
      // A body sent to an admin endpoint is not parsed, so it cannot make it fail.
      const withBody = await fetch(`${service.url}/healthz`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'x-unknown' },
        body: '{}',
      });
      expect(withBody.status).toBeLessThan(500);
      expect(withBody.status).not.toBe(415);
    } finally {
      await service.close();
    }
  });
});
