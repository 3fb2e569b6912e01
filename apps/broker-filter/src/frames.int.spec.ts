import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudEvent } from '@eventing/cloudevents';
import { Dispatcher, type DeliveryOutcome } from '@eventing/delivery';
import {
  buildApps,
  eventually,
  eventuallyAsync,
  freePorts,
  spawnApp,
  startSubscriber,
  waitReady,
  writeContract,
  type AppProcess,
  type TestSubscriber,
} from '@eventing/testing';
import { brokerFilter } from './main';

// broker-filter as a process, reached the way a channel dispatcher reaches it: a Dispatcher that
// switches to eventing frames once the service offers them. Killed with requests in flight, those
// fail as a reset connection would, and the delivery engine's retries land on the restarted process.

const event = (id: string): CloudEvent => ({
  attributes: {
    specversion: '1.0',
    id,
    source: '/test',
    type: 'test.event',
    knativebrokerttl: '200',
  },
  data: Buffer.from('{}'),
});

describe('broker-filter over eventing frames, killed and restarted', () => {
  let dir: string;
  let subscriber: TestSubscriber;
  let filter: AppProcess | undefined;
  let env: Record<string, string>;
  let url: string;
  let hold = true;
  const dispatcher = new Dispatcher();

  beforeAll(async () => {
    buildApps('broker-filter');
    dir = mkdtempSync(join(tmpdir(), 'filter-frames-'));
    subscriber = await startSubscriber((req) =>
      req.url === '/hold' && hold ? { status: 202, delayMs: 20_000 } : { status: 202 },
    );
    const trigger = (name: string) => ({
      uid: `uid-${name}`,
      namespace: 'ns',
      name,
      broker: 'default',
      filter: {},
      subscriberUri: `${subscriber.url}/${name}`,
      policy: { retry: 0, backoffPolicy: 'linear', backoffDelayMs: 0 },
      format: 'binary',
    });
    writeContract(join(dir, 'contract.json'), {
      generation: 1,
      triggers: [trigger('fast'), trigger('hold')],
    });
    const [port] = await freePorts(1);
    env = { PORT: String(port), CONTRACT_PATH: join(dir, 'contract.json'), LOG_LEVEL: 'warn' };
    filter = await spawnApp('broker-filter', env);
    url = filter.url;
    await waitReady(url);
  }, 60_000);

  afterAll(async () => {
    filter?.kill('SIGKILL');
    await dispatcher.close();
    await subscriber?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails requests in flight as retryable when the process dies; retries succeed on the restarted one', async () => {
    const fast = `${url}/triggers/ns/fast/uid-fast`;
    const held = `${url}/triggers/ns/hold/uid-hold`;
    expect((await dispatcher.send(fast, event('warm'), {}, { format: 'binary' })).status).toBe(202);
    await eventually(() => dispatcher.transport(fast) === 'frames' || undefined, 10_000, 'frames');

    const policy = { retry: 30, backoffPolicy: 'linear' as const, backoffDelayMs: 200 };
    const deliveries: Promise<DeliveryOutcome>[] = Array.from({ length: 4 }, (_, i) =>
      dispatcher.deliver({
        event: event(`d${i}`),
        headers: {},
        subscriberUri: held,
        namespace: 'ns',
        format: 'binary',
        policy,
        malformedReply: 'fail',
      }),
    );
    const single = dispatcher.send(held, event('single'), {}, { format: 'binary' });
    await subscriber.waitFor(1 + 5, 10_000);

    expect(dispatcher.transport(held)).toBe('frames');
    hold = false;
    filter!.kill('SIGKILL');
    await filter!.exited;
    const failed = await single;
    expect(failed).toMatchObject({ ok: false, status: 500, retryable: true });
    expect(failed.ok ? '' : failed.reason).toMatch(/^network error: /);

    filter = await spawnApp('broker-filter', env);
    const outcomes = await Promise.all(deliveries);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ kind: 'delivered', status: 202 });
      expect(outcome.attempts).toBeGreaterThanOrEqual(2);
    }
    const redelivered = subscriber.requests.filter((r) => r.url === '/hold').map((r) => r.headers['ce-id']);
    for (let i = 0; i < 4; i++)
      expect(redelivered.filter((id) => id === `d${i}`).length).toBeGreaterThanOrEqual(2);
    // The restarted process offers frames again, and the Dispatcher takes them up.
    await eventuallyAsync('frames to the restarted process', async () => {
      await dispatcher.send(fast, event('again'), {}, { format: 'binary' });
      return dispatcher.transport(fast) === 'frames' || undefined;
    });
  }, 90_000);
});

describe('broker-filter over eventing frames, shut down gracefully', () => {
  it('says goaway: the request in flight is answered, then the Dispatcher goes back to HTTP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'filter-goaway-'));
    const subscriber = await startSubscriber((req) =>
      req.url === '/slow' ? { status: 202, delayMs: 1_000 } : { status: 202 },
    );
    const trigger = (name: string) => ({
      uid: `uid-${name}`,
      namespace: 'ns',
      name,
      broker: 'default',
      filter: {},
      subscriberUri: `${subscriber.url}/${name}`,
      policy: { retry: 0, backoffPolicy: 'linear', backoffDelayMs: 0 },
      format: 'binary',
    });
    writeContract(join(dir, 'contract.json'), {
      generation: 1,
      triggers: [trigger('fast'), trigger('slow')],
    });
    const service = await brokerFilter.start({
      logLevel: 'warn',
      port: 0,
      host: '127.0.0.1',
      contractPath: join(dir, 'contract.json'),
      maxBodyBytes: 1 << 20,
      deliveryFrames: 'on',
      acceptFrames: 'on',
    });
    const dispatcher = new Dispatcher();
    try {
      const fast = `${service.url}/triggers/ns/fast/uid-fast`;
      await eventuallyAsync('frames', async () => {
        await dispatcher.send(fast, event('warm'), {}, { format: 'binary' });
        return dispatcher.transport(fast) === 'frames' || undefined;
      });
      const inFlight = dispatcher.send(
        `${service.url}/triggers/ns/slow/uid-slow`,
        event('slow'),
        {},
        {
          format: 'binary',
        },
      );
      await subscriber.waitFor(subscriber.requests.length + 1);
      const closed = service.close();
      await eventually(() => dispatcher.transport(fast) === 'http' || undefined, 5_000, 'goaway');
      expect((await inFlight).status).toBe(202);
      await closed;
    } finally {
      await dispatcher.close();
      await subscriber.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
