import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PingSchedule } from '@eventing/contract';
import {
  buildApps,
  eventually,
  spawnApp,
  spawnStandalone,
  startSubscriber,
  waitReady,
  type AppProcess,
  type RecordedRequest,
  type TestSubscriber,
} from '@eventing/testing';

// The events the adapter sends, through a real broker (standalone, built as deployed) to a real
// subscriber, attribute by attribute as upstream's mtping adapter sends them (CONFORMANCE 4.1).

jest.setTimeout(120_000);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BINARY = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f]);

describe('ping-source events through a real broker (CONFORMANCE 4.1)', () => {
  let dir: string;
  let subscriber: TestSubscriber;
  let standalone: AppProcess;
  let adapter: AppProcess;
  let broker: string;

  beforeAll(async () => {
    buildApps('ping-source', 'standalone');
    dir = mkdtempSync(join(tmpdir(), 'ping-shape-'));
    subscriber = await startSubscriber();
    const config = join(dir, 'config');
    mkdirSync(config);
    writeFileSync(
      join(config, 'broker.yaml'),
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, namespace: demo }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: pings, namespace: demo }
spec:
  broker: default
  filter: { attributes: { type: dev.knative.sources.ping } }
  subscriber: { uri: '${subscriber.url}/display' }
`,
    );
    standalone = await startStandalone(config);
    broker = `${standalone.url}/demo/default`;
    const schedules: PingSchedule[] = [
      {
        uid: 'u-json',
        namespace: 'demo',
        name: 'json',
        schedule: '* * * * * *',
        contentType: 'application/json',
        data: '{"message":"Hello world!"}',
        ceOverrides: { extensions: { team: 'blue', specversion: 'ignored' } },
        sinkUri: broker,
      },
      {
        uid: 'u-binary',
        namespace: 'demo',
        name: 'binary',
        schedule: '* * * * * *',
        contentType: 'application/octet-stream',
        dataBase64: BINARY.toString('base64'),
        sinkUri: broker,
      },
      {
        uid: 'u-empty',
        namespace: 'demo',
        name: 'empty',
        schedule: '* * * * * *',
        timezone: 'Asia/Kolkata',
        sinkUri: broker,
      },
    ];
    const schedulesPath = join(dir, 'schedules.json');
    writeFileSync(`${schedulesPath}.tmp`, JSON.stringify({ schedules, generation: 1 }));
    renameSync(`${schedulesPath}.tmp`, schedulesPath);
    adapter = await spawnApp('ping-source', { SCHEDULES_PATH: schedulesPath, COORDINATION: 'none' });
    await waitReady(adapter.url);
  });

  afterAll(async () => {
    adapter?.kill('SIGKILL');
    standalone?.kill('SIGKILL');
    await subscriber?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const from = (name: string): RecordedRequest =>
    eventuallyFrom(subscriber, `/apis/v1/namespaces/demo/pingsources/${name}`);

  it('data and contentType: the JSON body as given, datacontenttype, the ceOverrides extension', async () => {
    await eventually(
      () =>
        ['json', 'binary', 'empty'].every((n) =>
          subscriber.requests.some(
            (q) => q.headers['ce-source'] === `/apis/v1/namespaces/demo/pingsources/${n}`,
          ),
        ),
      20_000,
      'an event of each PingSource',
    );
    const r = from('json');
    expect(r.url).toBe('/display');
    expect(r.headers['ce-specversion']).toBe('1.0');
    expect(r.headers['ce-type']).toBe('dev.knative.sources.ping');
    expect(r.headers['ce-source']).toBe('/apis/v1/namespaces/demo/pingsources/json');
    expect(String(r.headers['ce-id'])).toMatch(UUID);
    expect(Math.abs(Date.parse(String(r.headers['ce-time'])) - Date.now())).toBeLessThan(10_000);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['ce-team']).toBe('blue');
    expect(JSON.parse(r.body.toString())).toEqual({ message: 'Hello world!' });
    // No subject, no dataschema; the broker added only its own extension.
    expect(r.headers['ce-subject']).toBeUndefined();
    expect(r.headers['ce-dataschema']).toBeUndefined();
    expect(r.headers['ce-knativearrivaltime']).toBeDefined();
    const ce = Object.keys(r.headers)
      .filter((h) => h.startsWith('ce-'))
      .sort();
    expect(ce).toEqual([
      'ce-id',
      'ce-knativearrivaltime',
      'ce-source',
      'ce-specversion',
      'ce-team',
      'ce-time',
      'ce-type',
    ]);
  });

  it('dataBase64: the decoded bytes, unchanged', () => {
    const r = from('binary');
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.body.equals(BINARY)).toBe(true);
  });

  it('neither: no body and no datacontenttype; a time zone changes nothing in the event', () => {
    const r = from('empty');
    expect(r.body.length).toBe(0);
    expect(r.headers['ce-datacontenttype']).toBeUndefined();
    expect(r.headers['content-type']).toBeUndefined();
    expect(r.headers['ce-type']).toBe('dev.knative.sources.ping');
  });

  it('every source ticks every second, each event with a new id', async () => {
    await eventually(() => subscriber.requests.length >= 12, 20_000, 'four ticks of each');
    const ids = subscriber.requests.map((r) => r.headers['ce-id']);
    expect(new Set(ids).size).toBe(ids.length);
    for (const name of ['json', 'binary', 'empty']) {
      const seconds = subscriber.requests
        .filter((r) => r.headers['ce-source'] === `/apis/v1/namespaces/demo/pingsources/${name}`)
        .map((r) => Math.floor(Date.parse(String(r.headers['ce-time'])) / 1000));
      expect(new Set(seconds).size).toBe(seconds.length);
    }
    const metrics = await (await fetch(`${adapter.url}/metrics`)).text();
    expect(metrics).toMatch(/pingsource_event_count\{[^}]*name="json"[^}]*response_code="202"[^}]*\} \d+/);
  });
});

function eventuallyFrom(subscriber: TestSubscriber, source: string): RecordedRequest {
  const r = subscriber.requests.find((q) => q.headers['ce-source'] === source);
  if (r === undefined) throw new Error(`no event from ${source} yet`);
  return r;
}

/** Starts the built standalone on a folder, resolved once its trigger is Ready. */
async function startStandalone(config: string): Promise<AppProcess> {
  const standalone = await spawnStandalone(['--config', config, '--no-watch']);
  await eventually(
    () => standalone.output().includes('✓  Trigger demo/pings Ready'),
    20_000,
    'the trigger to be ready',
  );
  return standalone;
}
