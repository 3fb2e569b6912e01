import { startSubscriber, eventually, type TestSubscriber } from '@eventing/testing';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { runStandalone } from './main';
import type { StandaloneOptions } from './options';

const base: Omit<StandaloneOptions, 'configDir'> = {
  port: 0,
  host: '127.0.0.1',
  services: new Map(),
  maxBodyBytes: 4 << 20,
  maxTtl: 255,
  maxInFlight: 100,
  maxInFlightTotal: 1000,
  queueCapacity: 10_000,
  logFormat: 'json',
  watch: false,
};

describe('the quickstart folder', () => {
  let lines: string[];
  let app: Awaited<ReturnType<typeof runStandalone>>;

  beforeAll(async () => {
    lines = [];
    app = await runStandalone({ ...base, configDir: join(__dirname, '../../../examples/quickstart') }, (l) =>
      lines.push(l),
    );
  });
  afterAll(() => app?.service.close());

  it('brings every resource to Ready with nothing reported invalid', () => {
    for (const name of [
      'Broker default/default',
      'Trigger default/pings-to-display',
      'Trigger default/orders-to-display',
      'Trigger default/orders-to-flaky-service',
      'PingSource default/heartbeat',
    ]) {
      expect(lines.some((l) => l.startsWith(`✓  ${name} Ready`))).toBe(true);
    }
    expect(lines.filter((l) => l.startsWith('✗'))).toEqual([]);
  });

  it('prints an order in the display, retries the flaky service 1 + 3 times, then prints the dead letter', async () => {
    const res = await fetch(`${app.service.url}/default/default`, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'order-1',
        'ce-source': '/my/shop',
        'ce-type': 'com.example.order.created',
        'content-type': 'application/json',
      },
      body: '{"order": 42}',
    });
    expect(res.status).toBe(202);
    const displayed = await eventually(
      () => lines.find((l) => l.includes('event-display') && l.includes('id: order-1')),
      5_000,
      'the display',
    );
    expect(displayed).toContain('"order": 42');
    const dead = await eventually(
      () => lines.find((l) => l.includes('dead-letters') && l.includes('order-1')),
      10_000,
      'the dead letter',
    );
    expect(dead).toMatch(/knativeerrorcode: 500/);
    expect(dead).toMatch(/knativeerrordest: http:\/\/127\.0\.0\.1:\d+\/_sinks\/fail\/flaky-service/);
    expect(dead).toMatch(/knativeerrordata: \S+/);
    expect(lines.filter((l) => l.includes('flaky-service refused event order-1'))).toHaveLength(4);
  });
});

describe('PingSource in standalone mode', () => {
  let dir: string;
  let sink: TestSubscriber;
  let app: Awaited<ReturnType<typeof runStandalone>>;

  beforeAll(async () => {
    sink = await startSubscriber();
    dir = mkdtempSync(join(tmpdir(), 'ping-'));
    writeFileSync(
      join(dir, 'ping.yaml'),
      `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: every-second
  namespace: team-a
spec:
  schedule: "* * * * * *"
  timezone: Europe/Paris
  contentType: application/json
  data: '{"hello": "world"}'
  ceOverrides:
    extensions:
      team: a
  sink:
    ref:
      apiVersion: v1
      kind: Service
      name: receiver
    uri: /ping
`,
    );
    app = await runStandalone(
      { ...base, configDir: dir, services: new Map([['receiver.team-a', sink.url + '/base/']]) },
      () => undefined,
    );
  });
  afterAll(async () => {
    await app?.service.close();
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('4.1: sends dev.knative.sources.ping events with upstream source, data and overrides to the resolved sink', async () => {
    const [got] = await sink.waitFor(1, 5_000);
    expect(got!.url).toBe('/ping');
    expect(got!.headers['ce-type']).toBe('dev.knative.sources.ping');
    expect(got!.headers['ce-source']).toBe('/apis/v1/namespaces/team-a/pingsources/every-second');
    expect(got!.headers['ce-team']).toBe('a');
    expect(got!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(got!.body.toString())).toEqual({ hello: 'world' });
  });
});
