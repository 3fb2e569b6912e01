import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryChannelBackend } from '@eventing/channels';
import type { Contract } from '@eventing/contract';
import { Dispatcher } from '@eventing/delivery';
import { EventingMetrics } from '@eventing/observability';
import type { Logger } from '@eventing/runtime';
import { StoreSides } from './store-sides';

const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const policy = { retry: 0, backoffPolicy: 'linear' as const, backoffDelayMs: 0 };

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

/** The value of one sample in Prometheus text, or undefined when it is absent. */
function sample(text: string, name: string, labels: string): number | undefined {
  for (const line of text.split('\n'))
    if (line.startsWith(name + '{') && labels.split(',').every((l) => line.includes(l)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  return undefined;
}

describe('StoreSides metrics read from the memory store and the in-flight limiter', () => {
  it('reports backlog and in-flight while a delivery runs, then its latency once it ends', async () => {
    // A subscriber that answers only when told, so a delivery stays in flight.
    const waiting: ServerResponse[] = [];
    const subscriber = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      waiting.push(res);
    });
    const subscriberUrl = await listen(subscriber);
    const metrics = new EventingMetrics({ defaultMetrics: false });
    const dispatcher = new Dispatcher();
    const sides = new StoreSides({
      store: 'memory',
      resources: 'channels',
      backend: new MemoryChannelBackend(),
      ingress: { maxBodyBytes: 1024 },
      dispatch: { dispatcher },
      ensureStores: true,
      metrics,
      log: quiet,
    });
    const server = createServer(sides.handler);
    const url = await listen(server);
    const contract: Contract = {
      version: 1,
      generation: 1,
      brokers: [],
      triggers: [],
      channels: [{ uid: 'c1', namespace: 'ns', name: 'orders' }],
      subscriptions: [
        {
          uid: 's1',
          namespace: 'ns',
          name: 'audit',
          channel: { namespace: 'ns', name: 'orders' },
          subscriberUri: subscriberUrl,
          policy,
          format: 'binary',
        },
      ],
    };
    try {
      await sides.apply(contract);
      const post = (id: string) =>
        fetch(`${url}/ns/orders`, {
          method: 'POST',
          headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/s', 'ce-type': 't' },
        });
      expect((await post('a')).status).toBe(202);
      expect((await post('b')).status).toBe(202);
      // Both are sent at once (a Subscription may have 100 in flight) and stay unanswered.
      while (waiting.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));

      let text = await metrics.registry.metrics();
      // Both events are undelivered while their subscriber has not answered.
      expect(
        sample(text, 'eventing_consumer_backlog', 'namespace="ns",kind="Subscription",name="audit"'),
      ).toBe(2);
      expect(text).toMatch(/^eventing_deliveries_in_flight(\{[^}]*\})? 2$/m);
      expect(
        sample(text, 'inmemorychannel_dispatcher_event_dispatch_latencies_count', 'name="audit"'),
      ).toBeUndefined();

      await new Promise((resolve) => setTimeout(resolve, 20));
      while (waiting.length > 0) waiting.shift()!.writeHead(202).end();
      for (let i = 0; i < 200; i++) {
        text = await metrics.registry.metrics();
        if ((sample(text, 'kn_eventing_dispatch_duration_seconds_count', 'name="audit"') ?? 0) >= 2) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(sample(text, 'kn_eventing_dispatch_duration_seconds_count', '')).toBe(2);
      // Each delivery waited at least the 20 ms above for its answer.
      expect(sample(text, 'kn_eventing_dispatch_duration_seconds_sum', '')).toBeGreaterThanOrEqual(0.04);
      expect(sample(text, 'inmemorychannel_dispatcher_event_dispatch_latencies_count', '')).toBe(2);
      expect(sample(text, 'eventing_consumer_backlog', 'name="audit"')).toBe(0);
    } finally {
      while (waiting.length > 0) waiting.shift()!.destroy();
      await sides.close(1_000);
      await dispatcher.close();
      await new Promise((resolve) => server.close(resolve));
      await new Promise((resolve) => subscriber.close(resolve));
    }
  });
});
