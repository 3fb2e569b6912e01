import { createServer } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { defineService, type ServiceCore } from './service-runtime';
import { SERVICE_SETTINGS, intSetting } from './settings';

/** A core that answers every event request with its `answer` and records what happens to it. */
function testCore(withMetrics: boolean) {
  const registry = new Registry();
  const handled = new Counter({ name: 'test_handled_total', help: 'handled', registers: [registry] });
  const core: ServiceCore & { ready: boolean; closed: number } = {
    ready: false,
    closed: 0,
    handler: (req, res) => {
      handled.inc();
      res.statusCode = 299;
      res.end(`core ${req.method} ${req.url}`);
    },
    registry: withMetrics ? registry : undefined,
    readiness: () => (core.ready ? { ready: true } : { ready: false, reason: 'warming up' }),
    close: async () => {
      core.closed++;
    },
  };
  return core;
}

const settings = [...SERVICE_SETTINGS, intSetting('answer', 'ANSWER', 299, 'status')] as const;

describe('defineService', () => {
  it('serves the core: events to its handler, probes from its readiness, /metrics from its registry; close closes it once', async () => {
    let core: ReturnType<typeof testCore> | undefined;
    const service = defineService({ name: 'test', settings, create: () => (core = testCore(true)) });
    const running = await service.start({ ...service.fromEnv({}), port: 0, host: '127.0.0.1' });
    try {
      expect(running.core).toBe(core);
      const event = await fetch(`${running.url}/ns/name`, { method: 'POST', body: 'x' });
      expect([event.status, await event.text()]).toEqual([299, 'core POST /ns/name']);
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
      const notReady = await fetch(`${running.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ reason: 'warming up' });
      core!.ready = true;
      expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${running.url}/metrics`)).text()).toContain('test_handled_total 1');
    } finally {
      await running.close();
    }
    expect(core!.closed).toBe(1);
  });

  it('serves /metrics with the process metrics when the core has no registry (every service is scraped alike)', async () => {
    const service = defineService({ name: 'test', settings, create: () => testCore(false) });
    const running = await service.start({ ...service.fromEnv({}), port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${running.url}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^process_cpu_seconds_total /m);
    } finally {
      await running.close();
    }
  });

  it('closes the core when its port cannot be had, and names bad settings', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    let core: ReturnType<typeof testCore> | undefined;
    const service = defineService({ name: 'test', settings, create: () => (core = testCore(true)) });
    try {
      await expect(service.start({ ...service.fromEnv({}), port, host: '127.0.0.1' })).rejects.toThrow(
        /EADDRINUSE/,
      );
      expect(core!.closed).toBe(1);
    } finally {
      taken.close();
    }
    expect(() => service.fromEnv({ ANSWER: 'many' })).toThrow('ANSWER=many: expected an integer');
    expect(service.settingsMarkdown()).toContain('| `ANSWER` | `299` | status |');
  });
});
