import { allKinds } from '@eventing/api';
import { withKube, type KubectlOptions } from '@eventing/testing';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

// The chart's CRDs (charts/eventing/crds, generated from libs/api) on a real kube-apiserver, read the
// way users read them: kubectl explain, kubectl get with printer columns, short names and categories
// (CONFORMANCE 1.1 columns and categories, 4.10 the `sources` category).

const CRD_DIR = join(__dirname, '..', '..', '..', 'charts', 'eventing', 'crds');
const NS = `crds-${randomBytes(3).toString('hex')}`;

type Json = Record<string, unknown>;

const kube = withKube();

/** Runs kubectl in the test namespace. */
const inNs = (args: string[], options?: KubectlOptions) => kube.kubectl(['-n', NS, ...args], options);

/** Polls `check` until it stops throwing; rethrows its last error after `timeoutMs`. */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((done) => setTimeout(done, 250));
    }
  }
}

/** The header words of every table kubectl printed (one table per resource type). */
function headers(stdout: string): string[][] {
  const lines = stdout.split('\n');
  return lines.filter((line) => line.startsWith('NAME ')).map((line) => line.trim().split(/\s+/));
}

/** The rows of a kubectl table, keyed by column name (cells split on runs of 2+ spaces). */
function rows(stdout: string): Record<string, string>[] {
  const [head, ...body] = stdout.trimEnd().split('\n');
  const starts = [...(head ?? '').matchAll(/\S+/g)].map((m) => [m[0], m.index] as const);
  return body.map((line) =>
    Object.fromEntries(
      starts.map(([name, at], i) => [name, line.slice(at, starts[i + 1]?.[1] ?? line.length).trim()]),
    ),
  );
}

/** Collapses whitespace, as kubectl explain wraps descriptions over lines. */
const flat = (text: string) => text.replace(/\s+/g, ' ');

const crds = readdirSync(CRD_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => parse(readFileSync(join(CRD_DIR, f), 'utf8')) as Json);

function crdOf(kind: string): Json {
  const crd = crds.find((c) => ((c['spec'] as Json)['names'] as Json)['kind'] === kind);
  if (crd === undefined) throw new Error(`no CRD for ${kind} in ${CRD_DIR}`);
  return crd;
}

/** The schema node at `path` (dot-separated properties) of the first version of a kind's CRD. */
function schemaAt(kind: string, path: string): Json {
  const version = ((crdOf(kind)['spec'] as Json)['versions'] as Json[])[0] as Json;
  let node = (version['schema'] as Json)['openAPIV3Schema'] as Json;
  for (const key of path.split('.')) node = (node['properties'] as Record<string, Json>)[key] as Json;
  return node;
}

const ADDRESS = (host: string) => ({ address: { url: `http://${host}` } });
const READY = { conditions: [{ type: 'Ready', status: 'True', reason: 'AllGood' }] };

/** One object of each kind, with the status a controller would write. */
const OBJECTS: { kind: string; apiVersion: string; name: string; spec: Json; status: Json }[] = [
  {
    kind: 'Broker',
    apiVersion: 'eventing.knative.dev/v1',
    name: 'default',
    spec: {},
    status: { ...ADDRESS('broker-ingress.knative-eventing.svc.cluster.local/ns/default'), ...READY },
  },
  {
    kind: 'Trigger',
    apiVersion: 'eventing.knative.dev/v1',
    name: 'orders',
    spec: { broker: 'default', subscriber: { uri: 'http://orders.example.com/' } },
    status: { subscriberUri: 'http://orders.example.com/', ...READY },
  },
  {
    kind: 'Channel',
    apiVersion: 'messaging.knative.dev/v1',
    name: 'ch1',
    spec: { channelTemplate: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' } },
    status: { ...ADDRESS('ch1-kn-channel.ns.svc.cluster.local'), ...READY },
  },
  {
    kind: 'InMemoryChannel',
    apiVersion: 'messaging.knative.dev/v1',
    name: 'imc1',
    spec: {},
    status: { ...ADDRESS('imc1-kn-channel.ns.svc.cluster.local'), ...READY },
  },
  {
    kind: 'KafkaChannel',
    apiVersion: 'messaging.knative.dev/v1beta1',
    name: 'kc1',
    spec: {},
    status: { ...ADDRESS('kc1-kn-channel.ns.svc.cluster.local'), ...READY },
  },
  {
    kind: 'NatsJetStreamChannel',
    apiVersion: 'messaging.knative.dev/v1alpha1',
    name: 'js1',
    spec: {},
    status: { ...ADDRESS('js1-kn-jsm-channel.ns.svc.cluster.local'), ...READY },
  },
  {
    kind: 'Subscription',
    apiVersion: 'messaging.knative.dev/v1',
    name: 'sub1',
    spec: {
      channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'ch1' },
      subscriber: { uri: 'http://sub.example.com/' },
    },
    status: READY,
  },
  {
    kind: 'PingSource',
    apiVersion: 'sources.knative.dev/v1',
    name: 'ping1',
    spec: { schedule: '*/5 * * * *', sink: { uri: 'http://sink.example.com/' } },
    status: { sinkUri: 'http://sink.example.com/', ...READY },
  },
];

/** `<plural>.<group>`: how kubectl names a kind without ambiguity. */
function resourceOf(kind: string): string {
  const spec = crdOf(kind)['spec'] as Json;
  return `${String((spec['names'] as Json)['plural'])}.${String(spec['group'])}`;
}

describe('charts/eventing/crds on kube-apiserver, through kubectl (CONFORMANCE 1.1, 4.10)', () => {
  beforeAll(async () => {
    // Server-side: the largest CRDs do not fit the last-applied annotation of a client-side apply.
    await kube.kubectl(['apply', '--server-side', '--force-conflicts', '-f', CRD_DIR]);
    const names = crds.map((c) => `crd/${String((c['metadata'] as Json)['name'])}`);
    await kube.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names]);
    await kube.kubectl(['create', 'namespace', NS]);
    for (const o of OBJECTS) {
      const object = { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.name }, spec: o.spec };
      // An Established CRD can take a moment more to be served at its REST path.
      await eventually(() => inNs(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(object) }));
      const status = JSON.stringify({ status: o.status });
      await inNs(['patch', resourceOf(o.kind), o.name, '--subresource=status', '--type=merge', '-p', status]);
    }
  }, 180_000);

  it('every CRD is Established', async () => {
    const { stdout } = await kube.kubectl([
      'get',
      'crd',
      '-l',
      'knative.dev/crd-install=true',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}',
    ]);
    expect(stdout.trim().split('\n').sort()).toEqual(
      crds.map((c) => `${String((c['metadata'] as Json)['name'])}=True`).sort(),
    );
  });

  it('kubectl explain broker.spec.delivery describes every field: retry, backoffPolicy, deadLetterSink...', async () => {
    const delivery = schemaAt('Broker', 'spec.delivery');
    const fields = delivery['properties'] as Record<string, Json>;
    // OpenAPI v3 of a new CRD is published shortly after it is Established.
    const out = await eventually(async () => {
      const { stdout } = await kube.kubectl(['explain', 'broker.spec.delivery']);
      if (!flat(stdout).includes(flat(String(fields['retry']?.['description']))))
        throw new Error(`kubectl explain shows no descriptions yet:\n${stdout}`);
      return stdout;
    });
    expect(out).toMatch(/^KIND:\s+Broker$/m);
    expect(out).toMatch(/^FIELD:\s+delivery <Object>$/m);
    expect(flat(out)).toContain(flat(String(delivery['description'])));
    for (const name of ['retry', 'backoffPolicy', 'backoffDelay', 'deadLetterSink', 'timeout']) {
      expect(out).toMatch(new RegExp(`^\\s+${name}\\s+<\\w+>`, 'm'));
    }
    for (const [name, field] of Object.entries(fields)) {
      const text = String(field['description']);
      expect(text.length).toBeGreaterThan(20);
      expect({ name, explained: flat(out).includes(flat(text)) }).toEqual({ name, explained: true });
    }
    expect(flat(out)).toMatch(/backoffPolicy <string> enum: linear, exponential/);
  });

  it('kubectl explain reaches every kind and a field deep inside a shared type', async () => {
    for (const def of allKinds) {
      const { stdout } = await eventually(() => kube.kubectl(['explain', resourceOf(def.kind)]));
      const root = ((((crdOf(def.kind)['spec'] as Json)['versions'] as Json[])[0] as Json)['schema'] as Json)[
        'openAPIV3Schema'
      ] as Json;
      expect(flat(stdout)).toContain(flat(String(root['description'])));
    }
    const ref = await kube.kubectl(['explain', 'triggers.spec.delivery.deadLetterSink.ref.namespace']);
    expect(flat(ref.stdout)).toContain(
      flat(String(schemaAt('Trigger', 'spec.delivery.deadLetterSink.ref.namespace')['description'])),
    );
  });

  it.each<[string, string[]]>([
    ['brokers,triggers', ['NAME URL AGE READY REASON', 'NAME BROKER SUBSCRIBER_URI AGE READY REASON']],
    ['channels,subscriptions', ['NAME URL AGE READY REASON', 'NAME AGE READY REASON']],
    ['inmemorychannels,kafkachannels', ['NAME URL AGE READY REASON', 'NAME READY REASON URL AGE']],
    ['natsjetstreamchannels', ['NAME READY REASON URL AGE']],
    ['sources', ['NAME SINK SCHEDULE AGE READY REASON']],
  ])('kubectl get %s prints the columns %j', async (what, expected) => {
    const { stdout } = await inNs(['get', what]);
    expect(headers(stdout).map((h) => h.join(' '))).toEqual(expected);
  });

  it('the columns hold the status: URL, Ready, Reason, subscriber URI, sink and schedule', async () => {
    const broker = rows((await inNs(['get', 'brokers'])).stdout);
    expect(broker).toEqual([
      expect.objectContaining({
        NAME: 'default',
        URL: 'http://broker-ingress.knative-eventing.svc.cluster.local/ns/default',
        READY: 'True',
        REASON: 'AllGood',
      }),
    ]);
    const trigger = rows((await inNs(['get', 'triggers'])).stdout);
    expect(trigger).toEqual([
      expect.objectContaining({
        NAME: 'orders',
        BROKER: 'default',
        SUBSCRIBER_URI: 'http://orders.example.com/',
        READY: 'True',
      }),
    ]);
    const ping = rows((await inNs(['get', 'pingsources'])).stdout);
    expect(ping).toEqual([
      expect.objectContaining({
        NAME: 'ping1',
        SINK: 'http://sink.example.com/',
        SCHEDULE: '*/5 * * * *',
        READY: 'True',
      }),
    ]);
    const kc = rows((await inNs(['get', 'kc'])).stdout);
    expect(kc).toEqual([
      expect.objectContaining({
        NAME: 'kc1',
        READY: 'True',
        URL: 'http://kc1-kn-channel.ns.svc.cluster.local',
      }),
    ]);
  });

  it('kubectl get brokers -o wide adds the broker class', async () => {
    await inNs(['annotate', 'broker', 'default', 'eventing.knative.dev/broker.class=MTChannelBasedBroker']);
    const { stdout } = await inNs(['get', 'brokers', '-o', 'wide']);
    expect(headers(stdout)).toEqual([['NAME', 'URL', 'AGE', 'READY', 'REASON', 'CLASS']]);
    expect(rows(stdout)[0]?.['CLASS']).toBe('MTChannelBasedBroker');
  });

  it.each([
    ['ch', 'ch1'],
    ['imc', 'imc1'],
    ['kc', 'kc1'],
    ['natsjsmc', 'js1'],
    ['sub', 'sub1'],
  ])('the short name %s lists %s', async (short, name) => {
    const { stdout } = await inNs(['get', short, '-o', 'name']);
    expect(stdout.trim().split('/').pop()).toBe(name);
  });

  it('KafkaChannel: the API server fills in numPartitions and replicationFactor', async () => {
    const { stdout } = await inNs([
      'get',
      'kc',
      'kc1',
      '-o',
      'jsonpath={.spec.numPartitions}/{.spec.replicationFactor}',
    ]);
    expect(stdout).toBe('1/1');
  });

  it.each(['all', 'knative', 'eventing', 'messaging', 'channel', 'sources'])(
    'kubectl api-resources --categories=%s lists the kinds of that category',
    async (category) => {
      const { stdout } = await kube.kubectl(['api-resources', `--categories=${category}`, '-o', 'name']);
      const ours = stdout
        .trim()
        .split('\n')
        .filter((r) => r.includes('.knative.dev'))
        .sort();
      const expected = allKinds
        .filter((k) => k.categories.includes(category))
        .map((k) => `${k.plural}.${k.group}`)
        .sort();
      expect(ours).toEqual(expected);
      if (category === 'sources') expect(ours).toContain('pingsources.sources.knative.dev');
    },
  );

  it('kubectl get sources, messaging and eventing list the objects of their kinds', async () => {
    const names = async (category: string) =>
      (await inNs(['get', category, '-o', 'name'])).stdout.trim().split('\n').sort();
    expect(await names('sources')).toEqual(['pingsource.sources.knative.dev/ping1']);
    expect(await names('eventing')).toEqual([
      'broker.eventing.knative.dev/default',
      'trigger.eventing.knative.dev/orders',
    ]);
    expect(await names('messaging')).toEqual([
      'channel.messaging.knative.dev/ch1',
      'inmemorychannel.messaging.knative.dev/imc1',
      'kafkachannel.messaging.knative.dev/kc1',
      'natsjetstreamchannel.messaging.knative.dev/js1',
      'subscription.messaging.knative.dev/sub1',
    ]);
  });
});
