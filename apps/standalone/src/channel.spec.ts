import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSubscriber, type TestSubscriber } from '@eventing/testing';
import { runStandalone } from './main';

// Channels and Subscriptions in standalone mode, over HTTP (CONFORMANCE 2.4, 2.5).

describe('standalone channels', () => {
  let dir: string;
  let lines: string[];
  let first: TestSubscriber;
  let replier: TestSubscriber;
  let replies: TestSubscriber;
  let notCe: TestSubscriber;
  let failing: TestSubscriber;
  let dls: TestSubscriber;
  let app: Awaited<ReturnType<typeof runStandalone>>;
  let channelUrl: string;

  const sub = (name: string, channel: string, subscriber: string, extra = '') => `---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: { name: ${name} }
spec:
  channel: { apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: ${channel} }
  subscriber: { uri: "${subscriber}" }
${extra}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'channels-'));
    first = await startSubscriber();
    replier = await startSubscriber(() => ({
      status: 200,
      headers: { 'ce-specversion': '1.0', 'ce-id': 'r1', 'ce-source': '/replier', 'ce-type': 'reply.type' },
      body: 'reply',
    }));
    replies = await startSubscriber();
    notCe = await startSubscriber(() => ({ status: 200, body: 'just text' }));
    failing = await startSubscriber(() => ({ status: 500, body: 'nope' }));
    dls = await startSubscriber();
    writeFileSync(
      join(dir, 'channels.yaml'),
      `apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: { name: orders }
spec:
  delivery:
    deadLetterSink: { uri: "${dls.url}/channel-dls" }
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: { name: replies }
` +
        sub('first', 'orders', first.url + '/first') +
        sub(
          'asks',
          'orders',
          replier.url,
          `  reply: { ref: { apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: replies } }\n`,
        ) +
        sub('text', 'orders', notCe.url) +
        sub('failing', 'orders', failing.url + '/f', '  delivery: { retry: 1 }\n') +
        sub('collect-replies', 'replies', replies.url),
    );
    lines = [];
    app = await runStandalone(
      {
        configDir: dir,
        port: 0,
        host: '127.0.0.1',
        services: new Map(),
        maxBodyBytes: 1 << 20,
        maxTtl: 255,
        maxInFlight: 10,
        maxInFlightTotal: 1000,
        queueCapacity: 1000,
        logFormat: 'json',
        watch: false,
      },
      (l) => lines.push(l),
    );
    channelUrl = `${app.service.url}/_channels/default/orders`;
  });

  afterAll(async () => {
    await app?.service.close();
    await Promise.all([first, replier, replies, notCe, failing, dls].map((s) => s?.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('1.6-1: the channels and subscriptions become Ready with the channel address', () => {
    expect(lines).toContain(`✓  InMemoryChannel default/orders Ready  ${channelUrl}`);
    for (const name of ['first', 'asks', 'text', 'failing', 'collect-replies']) {
      expect(lines.some((l) => l.startsWith(`✓  Subscription default/${name} Ready`))).toBe(true);
    }
  });

  it('C1/C2/C4/C5: 202, and every subscriber receives the event unchanged with Prefer: reply and Kn-Namespace', async () => {
    const res = await fetch(channelUrl, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'c1',
        'ce-source': '/src',
        'ce-type': 'order',
        'ce-myext': 'v',
        'content-type': 'text/plain',
        'x-request-id': 'x1',
      },
      body: 'payload',
    });
    expect(res.status).toBe(202);
    const [got] = await first.waitFor(1);
    expect(got!.url).toBe('/first');
    expect(got!.headers['ce-id']).toBe('c1');
    expect(got!.headers['ce-myext']).toBe('v');
    expect(got!.headers['ce-knativearrivaltime']).toBeUndefined();
    expect(got!.headers['ce-knativebrokerttl']).toBeUndefined();
    expect(got!.headers['prefer']).toBe('reply');
    expect(got!.headers['kn-namespace']).toBe('default');
    expect(got!.headers['x-request-id']).toBe('x1');
    expect(got!.body.toString()).toBe('payload');
  });

  it('R5: a reply goes to the subscription reply destination; C8: a non-CloudEvent 2xx body is ignored, not retried', async () => {
    const [reply] = await replies.waitFor(1);
    expect(reply!.headers['ce-type']).toBe('reply.type');
    expect(reply!.body.toString()).toBe('reply');
    await notCe.waitFor(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(notCe.requests).toHaveLength(1);
  });

  it('D1/D2: a failing subscriber is retried, then the event goes to the channel dead-letter sink', async () => {
    const [dead] = await dls.waitFor(1);
    expect(failing.requests).toHaveLength(2);
    expect(dead!.url).toBe('/channel-dls');
    expect(dead!.headers['ce-id']).toBe('c1');
    expect(dead!.headers['ce-knativeerrordest']).toBe(`${failing.url}/f`);
    expect(dead!.headers['ce-knativeerrorcode']).toBe('500');
  });

  it('C2/C3: unknown channel 404, malformed channel path 400, GET 405, OPTIONS 200', async () => {
    const ce = { 'ce-specversion': '1.0', 'ce-id': 'x', 'ce-source': '/s', 'ce-type': 't' };
    expect(
      (await fetch(`${app.service.url}/_channels/default/nope`, { method: 'POST', headers: ce })).status,
    ).toBe(404);
    expect(
      (await fetch(`${app.service.url}/_channels/default`, { method: 'POST', headers: ce })).status,
    ).toBe(400);
    expect((await fetch(channelUrl)).status).toBe(405);
    const options = await fetch(channelUrl, { method: 'OPTIONS' });
    expect(options.status).toBe(200);
    expect(options.headers.get('allow')).toBe('POST, OPTIONS');
    expect(
      (await fetch(channelUrl, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }))
        .status,
    ).toBe(400);
  });
});
