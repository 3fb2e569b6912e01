import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startSubscriber, type RecordedRequest, type TestSubscriber } from '@eventing/testing';
import { runStandalone } from './main';
import { optionsFrom } from './options';

// Sources in standalone mode (CONFORMANCE 4.2–4.4): the container-source example as its README
// section runs it (a ContainerSource's command as a supervised child process posting to $K_SINK,
// into a broker, on to the event display), a SinkBinding setting the environment of such a
// process, a crashing command restarted with a growing delay, and an ApiServerSource watching the
// folder's resources into a broker and on to a real subscriber.

jest.setTimeout(60_000);

const EXAMPLE = join(__dirname, '../../../examples/container-source');

type Running = Awaited<ReturnType<typeof runStandalone>>;

/** The events the display printed, as attribute maps (extensions included) with their data text. */
function displayed(lines: string[]): { attributes: Record<string, string>; data: string }[] {
  return lines
    .filter((l) => l.startsWith('☁  event-display '))
    .map((block) => {
      const attributes: Record<string, string> = {};
      const rows = block.split('\n');
      const dataAt = rows.indexOf('  Data,');
      for (const row of rows.slice(1, dataAt < 0 ? undefined : dataAt)) {
        const m = /^ {4}([a-z0-9]+): (.*)$/.exec(row);
        if (m) attributes[m[1] as string] = m[2] as string;
      }
      return { attributes, data: dataAt < 0 ? '' : rows.slice(dataAt + 1).join('\n') };
    });
}

describe('the container-source example (4.3)', () => {
  let app: Running;
  const lines: string[] = [];

  beforeAll(async () => {
    app = await runStandalone(
      optionsFrom(['--config', EXAMPLE, '--port', '0', '--no-watch', '--log-level', 'error']),
      (l) => lines.push(l),
    );
  }, 30_000);
  afterAll(() => app?.service.close());

  it('the ContainerSource turns Ready, its command posts heartbeats into the broker, and the display prints them', async () => {
    const events = await eventually(
      () => {
        const got = displayed(lines).filter((e) => e.attributes['type'] === 'dev.example.heartbeat');
        return got.length >= 2 ? got : undefined;
      },
      20_000,
      'two heartbeats at the display',
    );
    const [first] = events;
    expect(first?.attributes).toMatchObject({
      specversion: '1.0',
      type: 'dev.example.heartbeat',
      datacontenttype: 'application/json',
      team: 'examples',
    });
    expect(first?.attributes['source']).toMatch(/^examples\/container-source\//);
    expect(JSON.parse(first?.data ?? '')).toEqual({ beat: 1, periodMs: 2000 });
    // The broker added its extensions on the way.
    expect(first?.attributes['knativearrivaltime']).toBeDefined();
    await eventually(
      () => lines.find((l) => l.startsWith('✓  ContainerSource default/heartbeats Ready')),
      10_000,
      'the ContainerSource Ready',
    );
    expect(lines).toContain(
      `│  default/heartbeats-deployment heartbeats: sending a heartbeat to ${app.service.url}/default/default every 2 s`,
    );
    expect(lines.filter((l) => l.startsWith('✗'))).toEqual([]);
  });
});

describe('ContainerSource, SinkBinding and ApiServerSource in a folder', () => {
  let dir: string;
  let app: Running | undefined;
  let subscriber: TestSubscriber;
  let lines: string[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'standalone-sources-'));
    subscriber = await startSubscriber();
    lines = [];
  });
  afterEach(async () => {
    await app?.service.close();
    app = undefined;
    await subscriber.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (file: string, text: string) => writeFileSync(join(dir, file), text);
  const start = async () => {
    app = await runStandalone(
      optionsFrom([
        '--config',
        dir,
        '--port',
        '0',
        '--log-level',
        'error',
        '--service',
        `subscriber.default=${subscriber.url}/`,
      ]),
      (l) => lines.push(l),
    );
    return app;
  };
  const brokerAndTrigger = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, namespace: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: all, namespace: default }
spec:
  broker: default
  subscriber: { ref: { apiVersion: v1, kind: Service, name: subscriber } }
`;

  it('a SinkBinding selecting a ContainerSource Deployment sets the environment of its process', async () => {
    write(
      'emit.js',
      `fetch(process.env.K_SINK, { method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': 'x', 'ce-source': 's', 'ce-type': 't', 'ce-overrides': process.env.K_CE_OVERRIDES || 'none' } }).then(() => setInterval(() => {}, 1000));`,
    );
    write('broker.yaml', brokerAndTrigger);
    write(
      'sources.yaml',
      `apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: { name: emitter, namespace: default }
spec:
  template:
    metadata: { labels: { bound: "yes" } }
    spec:
      containers: [{ name: emit, image: node, command: [node, emit.js] }]
  sink: { uri: "http://127.0.0.1:1/nowhere" }
---
apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: { name: to-broker, namespace: default }
spec:
  subject:
    apiVersion: apps/v1
    kind: Deployment
    selector: { matchLabels: { bound: "yes" } }
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
  ceOverrides: { extensions: { boundby: to-broker } }
`,
    );
    await start();
    const [request] = await subscriber.waitFor(1, 20_000);
    expect(request?.headers['ce-overrides']).toBe('{"extensions":{"boundby":"to-broker"}}');
    await eventually(
      () => lines.find((l) => l.startsWith('✓  SinkBinding default/to-broker Ready')),
      10_000,
      'the binding Ready',
    );
  });

  it('a command that exits is started again after a growing delay, and its source says why it is not Ready', async () => {
    write('crash.js', `console.log('starting'); process.exit(3);`);
    write(
      'source.yaml',
      `apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: { name: crasher, namespace: default }
spec:
  template:
    spec:
      containers: [{ name: crash, image: node, command: [node, crash.js] }]
  sink: { uri: "${subscriber.url}/" }
`,
    );
    await start();
    const restarts = await eventually(
      () => {
        const got = lines.filter(
          (l) => l.startsWith('✗  Deployment') && l.includes('container crash exited with code 3'),
        );
        return got.length >= 2 ? got : undefined;
      },
      20_000,
      'two restarts',
    );
    expect(restarts[0]).toContain('starting it again in 1.0 s');
    expect(restarts[1]).toContain('starting it again in 2.0 s');
    expect(
      lines.filter((l) => l === '│  default/crasher-deployment crash: starting').length,
    ).toBeGreaterThanOrEqual(2);
    await eventually(
      () =>
        lines.find((l) => /^…  ContainerSource default\/crasher Ready=False \(CrashLoopBackOff\)/.test(l)),
      10_000,
      'the source not Ready with the reason',
    );
  });

  it('an ApiServerSource sends add, update and delete of the folder resources it watches, through a broker', async () => {
    write('broker.yaml', brokerAndTrigger);
    write(
      'apiserversource.yaml',
      `apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata: { name: pings, namespace: default }
spec:
  mode: Resource
  resources:
    - apiVersion: sources.knative.dev/v1
      kind: PingSource
      selector: { matchLabels: { watched: "yes" } }
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
`,
    );
    const ping = (schedule: string) => `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: nightly, namespace: default, labels: { watched: "yes" } }
spec:
  schedule: "${schedule}"
  sink: { uri: "http://127.0.0.1:1/" }
`;
    write('existing.yaml', ping('0 1 * * *').replace('nightly', 'existing'));
    const running = await start();
    await eventually(
      () => lines.find((l) => l.startsWith('✓  ApiServerSource default/pings Ready')),
      15_000,
      'the source Ready',
    );
    const named = (type: string) =>
      subscriber.requests.filter(
        (r) => r.headers['ce-name'] === 'nightly' && String(r.headers['ce-type']).endsWith(type),
      );
    write('ping.yaml', ping('0 2 * * *'));
    await running.runtime.reload();
    await eventually(() => named('add').length >= 1 || undefined, 10_000, 'the add');
    write('ping.yaml', ping('0 3 * * *'));
    await running.runtime.reload();
    await eventually(
      () => named('update').some((r) => r.body.toString().includes('0 3 * * *')) || undefined,
      10_000,
      'an update',
    );
    unlinkSync(join(dir, 'ping.yaml'));
    await running.runtime.reload();
    await eventually(() => named('delete').length >= 1 || undefined, 10_000, 'the delete');
    const of = (type: string) =>
      named(type).filter(
        (r: RecordedRequest) => r.headers['ce-type'] === `dev.knative.apiserver.resource.${type}`,
      );
    // Status writes are updates too, as in a cluster; the first of each type is checked.
    const added = of('add');
    expect(added).toHaveLength(1);
    for (const r of [added[0], of('update')[0], of('delete')[0]]) {
      expect(r?.headers).toMatchObject({
        'ce-source': running.service.url,
        'ce-subject': '/apis/sources.knative.dev/v1/namespaces/default/pingsources/nightly',
        'ce-kind': 'PingSource',
        'ce-apiversion': 'sources.knative.dev/v1',
        'ce-name': 'nightly',
        'ce-namespace': 'default',
        'content-type': 'application/json',
      });
      const data = JSON.parse(r?.body.toString() ?? '{}') as { kind?: string; metadata?: { name?: string } };
      expect(data).toMatchObject({ kind: 'PingSource', metadata: { name: 'nightly' } });
    }
    expect(
      (JSON.parse(added[0]?.body.toString() ?? '{}') as { spec: { schedule: string } }).spec.schedule,
    ).toBe('0 2 * * *');
    // What existed at start is not reported as added (its status being written is an update, as in a cluster).
    expect(
      subscriber.requests.some(
        (r) => r.headers['ce-name'] === 'existing' && String(r.headers['ce-type']).endsWith('add'),
      ),
    ).toBe(false);
  });
});
