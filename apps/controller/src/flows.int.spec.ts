import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildApps,
  startKube,
  startSubscriber,
  withKafka,
  withNats,
  type AppProcess,
  type KubeServer,
  type RecordedRequest,
  type TestSubscriber,
} from '@eventing/testing';
import {
  applyCrds,
  getJson,
  mirrorContracts,
  readyOf,
  startChannelDispatchers,
  startController,
  startDataPlane,
  until,
} from './cluster-harness';

// Sequence and Parallel end to end against a real kube-apiserver (CONFORMANCE 2.14), on every
// channel kind: the controller creates the channels and Subscriptions a Knative user expects, the
// channel services run as local processes on the contract it writes, and real HTTP functions
// transform the event and reply. The standalone twin is apps/standalone/src/flows.spec.ts.

jest.setTimeout(300_000);

interface Kind {
  name: string;
  /**
   * The flows' channelTemplate, as YAML. Given for memory too: filling in the namespace's default
   * channel is admission's work (the webhook), which does not run here.
   */
  template: string;
  /** The channel resource kubectl lists for this template. */
  resource: string;
}

const KINDS: Kind[] = [
  {
    name: 'memory',
    template: '{ apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel }',
    resource: 'inmemorychannels',
  },
  {
    name: 'kafka',
    template:
      '{ apiVersion: messaging.knative.dev/v1beta1, kind: KafkaChannel, spec: { numPartitions: 1, replicationFactor: 1 } }',
    resource: 'kafkachannels',
  },
  {
    name: 'jetstream',
    template: '{ apiVersion: messaging.knative.dev/v1alpha1, kind: NatsJetStreamChannel }',
    resource: 'natsjetstreamchannels',
  },
];

/** The CloudEvent headers of a request, to reply with the same event. */
function ceHeaders(req: RecordedRequest): Record<string, string> {
  const out: Record<string, string> = { 'content-type': 'application/json' };
  for (const [k, v] of Object.entries(req.headers))
    if (k.startsWith('ce-') && typeof v === 'string') out[k] = v;
  return out;
}

const trailOf = (r: RecordedRequest) => (JSON.parse(r.body.toString()) as { trail: string[] }).trail;

const kafka = withKafka();
const nats = withNats();
let kube: KubeServer;
let dir: string;
let contracts: ReturnType<typeof mirrorContracts>;
let dataPlane: Awaited<ReturnType<typeof startDataPlane>>;
let channels: Awaited<ReturnType<typeof startChannelDispatchers>>;
let controller: AppProcess | undefined;
/** The functions: `/<name>` appends its name to data.trail; `/even`, `/odd` filter by type. */
let fn: TestSubscriber;
/** Where flows end: `/<flow>` per flow, `/<flow>-r0` for the reply of branch 0. */
let end: TestSubscriber;

const at = (server: TestSubscriber, path: string, id?: string) =>
  server.requests.filter((r) => r.url === path && (id === undefined || r.headers['ce-id'] === id));

const send = (url: string, id: string, type = 'com.example.flow') =>
  fetch(url, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': id,
      'ce-source': '/flows-test',
      'ce-type': type,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ id, trail: [] }),
  });

/** Adds the last output of the controller and the channel services to a failure. */
async function explained<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    const tail = (p?: AppProcess) => p?.output().split('\n').slice(-20).join('\n');
    throw new Error(
      `${(err as Error).message}\n--- controller ---\n${tail(controller)}\n--- imc-dispatcher ---\n${tail(dataPlane?.imc)}\n--- kafka-channel-dispatcher ---\n${tail(channels?.kafka)}\n--- nats-channel-dispatcher ---\n${tail(channels?.nats)}`,
    );
  }
}

/** Waits for a flow's Ready condition and returns its status.address.url. */
async function readyAddress(resource: string, name: string): Promise<string> {
  let last: unknown;
  return explained(
    until(
      async () => {
        const obj = await getJson<{
          status?: { address?: { url?: string }; conditions?: { type: string; status: string }[] };
        }>(kube, [resource, name, '-n', 'default']);
        last = obj?.status;
        const ready = obj?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
        return ready && obj?.status?.address?.url;
      },
      90_000,
      `${resource} default/${name} Ready with an address`,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; its status: ${JSON.stringify(last)}`);
    }),
  );
}

/**
 * Sends probe events until one has come all the way through: a Subscription is Ready once the
 * contract has it, while a durable channel's consumer joins its group a moment later and starts
 * at the newest offset.
 */
async function warmUp(address: string, name: string, arrived: (id: string) => boolean, type?: string) {
  let n = 0;
  await explained(
    until(
      async () => {
        const id = `${name}-probe-${n++}`;
        await send(address, id, type);
        await new Promise((r) => setTimeout(r, 1000));
        for (let i = 0; i < n; i++) if (arrived(`${name}-probe-${i}`)) return true;
        return false;
      },
      90_000,
      `a probe through ${name}`,
    ),
  );
}

beforeAll(async () => {
  buildApps(
    'controller',
    'broker-ingress',
    'imc-dispatcher',
    'broker-filter',
    'kafka-channel-dispatcher',
    'nats-channel-dispatcher',
  );
  kube = await startKube();
  await applyCrds(kube);
  dir = mkdtempSync(join(tmpdir(), 'controller-flows-'));
  contracts = mirrorContracts(kube, dir, [
    'broker-ingress',
    'imc-dispatcher',
    'broker-filter',
    'kafka-channel-dispatcher',
    'nats-channel-dispatcher',
  ]);
  [dataPlane, channels] = await Promise.all([
    startDataPlane(contracts),
    startChannelDispatchers(contracts, { kafkaBootstrap: kafka.bootstrap, natsUrl: nats.url }),
  ]);
  fn = await startSubscriber((req) => {
    const name = req.url.slice(1);
    if (name === 'even' || name === 'odd')
      return req.headers['ce-type'] === `com.example.${name}`
        ? { status: 200, headers: ceHeaders(req), body: req.body }
        : { status: 200 };
    const data = JSON.parse(req.body.toString()) as { trail: string[] };
    data.trail.push(name);
    return { status: 200, headers: ceHeaders(req), body: JSON.stringify(data) };
  });
  end = await startSubscriber();
  controller = await startController(kube, dataPlane, {
    STORES: 'memory,kafka,jetstream',
    KAFKA_CHANNEL_URL: channels.kafka.url,
    NATS_CHANNEL_URL: channels.nats.url,
    KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrap,
    NATS_URL: nats.url,
    LEADER_ELECTION: 'false',
  });
}, 1_200_000);

afterAll(async () => {
  controller?.kill();
  dataPlane?.stop();
  channels?.stop();
  await contracts?.stop();
  await Promise.all([fn, end].map((s) => s?.close()));
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(KINDS)('Sequence and Parallel on a real kube-apiserver, on $name channels', (kind) => {
  const seq = `chain-${kind.name}`;
  const par = `fan-${kind.name}`;
  const template = `  channelTemplate: ${kind.template}\n`;
  const step = (name: string) => `    - uri: "${fn.url}/${name}"\n`;

  it('a three-step Sequence: the controller creates upstream’s channels and Subscriptions, and every event carries each step’s change in order', async () => {
    await kube.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: flows.knative.dev/v1
kind: Sequence
metadata: { name: ${seq}, namespace: default }
spec:
${template}  steps:
${step('a')}${step('b')}${step('c')}  reply: { uri: "${end.url}/${seq}" }
`,
    });
    const address = await readyAddress('sequence', seq);
    const names = (
      await kube.kubectl(['get', `${kind.resource},subscriptions`, '-n', 'default', '-o', 'name'])
    ).stdout;
    for (let i = 0; i < 3; i++) {
      expect(names).toContain(`/${seq}-kn-sequence-${i}\n`);
      expect(names).toMatch(
        new RegExp(`^subscription\\.messaging\\.knative\\.dev/${seq}-kn-sequence-${i}$`, 'm'),
      );
      expect((await readyOf(kube, 'subscription', `${seq}-kn-sequence-${i}`))?.status).toBe('True');
    }
    // The Sequence's address is its first channel's.
    const first = await getJson<{ status?: { address?: { url?: string } } }>(kube, [
      kind.resource,
      `${seq}-kn-sequence-0`,
      '-n',
      'default',
    ]);
    expect(address).toBe(first?.status?.address?.url);

    await warmUp(address, seq, (id) => at(end, `/${seq}`, id).length > 0);
    const ids = Array.from({ length: 10 }, (_, i) => `${seq}-${i}`);
    for (const id of ids) expect((await send(address, id)).status).toBe(202);
    await explained(
      until(() => ids.every((id) => at(end, `/${seq}`, id).length > 0), 60_000, '10 events at the reply'),
    );
    for (const id of ids) {
      const got = at(end, `/${seq}`, id);
      expect(got).toHaveLength(1);
      expect(trailOf(got[0]!)).toEqual(['a', 'b', 'c']);
      expect(got[0]!.headers['ce-source']).toBe('/flows-test');
      // Each step saw the one before it.
      expect(trailOf(at(fn, '/b', id)[0]!)).toEqual(['a']);
      expect(trailOf(at(fn, '/c', id)[0]!)).toEqual(['a', 'b']);
    }
  });

  it('a three-branch Parallel: filters pick the branches, the branch reply and the global reply get the results', async () => {
    await kube.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: flows.knative.dev/v1
kind: Parallel
metadata: { name: ${par}, namespace: default }
spec:
${template}  branches:
    - filter: { uri: "${fn.url}/even" }
      subscriber: { uri: "${fn.url}/s0" }
      reply: { uri: "${end.url}/${par}-r0" }
    - filter: { uri: "${fn.url}/odd" }
      subscriber: { uri: "${fn.url}/s1" }
    - subscriber: { uri: "${fn.url}/s2" }
  reply: { uri: "${end.url}/${par}" }
`,
    });
    const address = await readyAddress('parallel', par);
    const names = (
      await kube.kubectl(['get', `${kind.resource},subscriptions`, '-n', 'default', '-o', 'name'])
    ).stdout
      .split('\n')
      .map((l) => l.slice(l.indexOf('/') + 1));
    expect(names).toContain(`${par}-kn-parallel`);
    for (let i = 0; i < 3; i++) {
      expect(names).toContain(`${par}-kn-parallel-${i}`); // the branch channel and the subscriber's Subscription
      expect(names).toContain(`${par}-kn-parallel-filter-${i}`);
    }
    const branchChannels = await kube.kubectl(['get', kind.resource, '-n', 'default', '-o', 'name']);
    for (let i = 0; i < 3; i++) expect(branchChannels.stdout).toContain(`/${par}-kn-parallel-${i}\n`);
    const ingress = await getJson<{ status?: { address?: { url?: string } } }>(kube, [
      kind.resource,
      `${par}-kn-parallel`,
      '-n',
      'default',
    ]);
    expect(address).toBe(ingress?.status?.address?.url);

    // Every branch has carried a probe before the events that count are sent.
    await warmUp(
      address,
      `${par}-even`,
      (id) => at(end, `/${par}-r0`, id).length > 0 && at(end, `/${par}`, id).length > 0,
      'com.example.even',
    );
    await warmUp(address, `${par}-odd`, (id) => at(end, `/${par}`, id).length === 2, 'com.example.odd');

    const events = Array.from({ length: 6 }, (_, i) => ({
      id: `${par}-${i}`,
      type: i % 2 === 0 ? 'com.example.even' : 'com.example.odd',
    }));
    for (const e of events) expect((await send(address, e.id, e.type)).status).toBe(202);
    const evens = events.filter((e) => e.type === 'com.example.even').map((e) => e.id);
    const odds = events.filter((e) => e.type === 'com.example.odd').map((e) => e.id);
    await explained(
      until(
        () =>
          evens.every((id) => at(end, `/${par}-r0`, id).length > 0) &&
          events.every((e) => at(end, `/${par}`, e.id).length === (odds.includes(e.id) ? 2 : 1)),
        60_000,
        'every branch result',
      ),
    );
    // Branch 0 (even filter) replies to its own reply; branch 1 (odd filter) and 2 (no filter) to the global one.
    for (const id of evens) expect(at(end, `/${par}-r0`, id).map(trailOf)).toEqual([['s0']]);
    for (const id of evens) expect(at(end, `/${par}`, id).map(trailOf)).toEqual([['s2']]);
    for (const id of odds) {
      expect(at(end, `/${par}-r0`, id)).toHaveLength(0);
      expect(
        at(end, `/${par}`, id)
          .map((r) => trailOf(r).join())
          .sort(),
      ).toEqual(['s1', 's2']);
    }
    // Every filter saw every event; each subscriber only what passed its filter.
    for (const e of events) {
      expect(at(fn, '/even', e.id)).toHaveLength(1);
      expect(at(fn, '/odd', e.id)).toHaveLength(1);
      expect(at(fn, '/s0', e.id)).toHaveLength(evens.includes(e.id) ? 1 : 0);
      expect(at(fn, '/s1', e.id)).toHaveLength(odds.includes(e.id) ? 1 : 0);
      expect(at(fn, '/s2', e.id)).toHaveLength(1);
    }
  });
});
