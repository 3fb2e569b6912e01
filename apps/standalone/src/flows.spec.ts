import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually,
  sleep,
  startSubscriber,
  withKafka,
  withNats,
  type RecordedRequest,
  type TestSubscriber,
} from '@eventing/testing';
import { startQuietStandalone, type QuietStandalone } from './testing/quiet-standalone';

// Sequence and Parallel end to end in standalone, on every channel kind (CONFORMANCE 2.14): real HTTP
// functions transform the event and reply; the end of each flow records what arrives. Everything
// underneath is channels and Subscriptions, so each hop keeps channel semantics (retries, dead letters).

interface Store {
  name: string;
  /** The channelTemplate of every flow, as YAML (empty: the default InMemoryChannel). */
  template: string;
  args(): string[];
}

/** The CloudEvent headers of a request, to reply with the same event. */
function ceHeaders(req: RecordedRequest): Record<string, string> {
  const out: Record<string, string> = { 'content-type': 'application/json' };
  for (const [k, v] of Object.entries(req.headers))
    if (k.startsWith('ce-') && typeof v === 'string') out[k] = v;
  return out;
}

const trailOf = (r: RecordedRequest) => (JSON.parse(r.body.toString()) as { trail: string[] }).trail;

function flowSuite(store: Store): void {
  let dir: string;
  let lines: string[];
  /** The functions: `/<name>` appends its name to data.trail; `/bad` fails; `/even`, `/odd` filter by type. */
  let fn: TestSubscriber;
  /** Where flows end: `/<flow>` per flow, `/r0` for the reply of branch 0. */
  let end: TestSubscriber;
  let dls: TestSubscriber;
  let app: QuietStandalone['app'];

  const template = () => (store.template ? `  channelTemplate: ${store.template}\n` : '');
  const step = (name: string, extra = '') => `    - uri: "${fn.url}/${name}"\n${extra}`;
  const sequence = (name: string, steps: string[]) => `---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata: { name: ${name}, namespace: default }
spec:
${template()}  steps:
${steps.join('')}  reply: { uri: "${end.url}/${name}" }
`;
  const addressOf = (kind: string, name: string) => {
    const line = lines.filter((l) => l.includes(`${kind} default/${name} `)).at(-1) ?? '';
    const match = /^✓ {2}\S+ \S+ Ready {2}(\S+)$/.exec(line);
    if (!match) throw new Error(`${kind} ${name} is not Ready: ${line || 'not reported'}`);
    return match[1] as string;
  };
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
  const at = (server: TestSubscriber, path: string, id?: string) =>
    server.requests.filter((r) => r.url === path && (id === undefined || r.headers['ce-id'] === id));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flows-'));
    fn = await startSubscriber((req) => {
      const name = req.url.slice(1);
      if (name === 'bad') return { status: 500, body: 'this step always fails' };
      if (name === 'even' || name === 'odd')
        return req.headers['ce-type'] === `com.example.${name}`
          ? { status: 200, headers: ceHeaders(req), body: req.body }
          : { status: 200 };
      const data = JSON.parse(req.body.toString()) as { trail: string[] };
      data.trail.push(name);
      return { status: 200, headers: ceHeaders(req), body: JSON.stringify(data) };
    });
    end = await startSubscriber();
    dls = await startSubscriber();
    writeFileSync(
      join(dir, 'flows.yaml'),
      sequence('chain', [step('a'), step('b'), step('c')]) +
        sequence('failing', [
          step('a'),
          step(
            'bad',
            `      delivery: { retry: 2, backoffPolicy: linear, backoffDelay: PT0.01S, deadLetterSink: { uri: "${dls.url}/failing" } }\n`,
          ),
          step('c'),
        ]) +
        `---
apiVersion: flows.knative.dev/v1
kind: Parallel
metadata: { name: fan, namespace: default }
spec:
${template()}  branches:
    - filter: { uri: "${fn.url}/even" }
      subscriber: { uri: "${fn.url}/s0" }
      reply: { uri: "${end.url}/r0" }
    - filter: { uri: "${fn.url}/odd" }
      subscriber: { uri: "${fn.url}/s1" }
    - subscriber: { uri: "${fn.url}/s2" }
  reply: { uri: "${end.url}/fan" }
`,
    );
    writeFileSync(join(dir, 'edited.yaml'), sequence('edited', [step('a'), step('b')]));
    ({ app, lines } = await startQuietStandalone(dir, store.args()));
  }, 120_000);

  afterAll(async () => {
    await app?.service.close();
    await Promise.all([fn, end, dls].map((s) => s?.close()));
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('the flows and every channel and Subscription they own are Ready, named as upstream', () => {
    for (const [kind, name] of [
      ['Sequence', 'chain'],
      ['Sequence', 'failing'],
      ['Parallel', 'fan'],
      ['Subscription', 'chain-kn-sequence-2'],
      ['Subscription', 'fan-kn-parallel-filter-2'],
      ['Subscription', 'fan-kn-parallel-2'],
    ])
      expect(lines.filter((l) => l.includes(`${kind} default/${name} `)).at(-1)).toMatch(/^✓ /);
    expect(addressOf('Sequence', 'chain')).toBe(`${app.service.url}/_channels/default/chain-kn-sequence-0`);
    expect(addressOf('Parallel', 'fan')).toBe(`${app.service.url}/_channels/default/fan-kn-parallel`);
  });

  it('a three-step Sequence: every event goes through each step in order and reaches the reply', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `chain-${i}`);
    for (const id of ids) expect((await send(addressOf('Sequence', 'chain'), id)).status).toBe(202);
    await eventually(
      () => ids.every((id) => at(end, '/chain', id).length > 0),
      30_000,
      '10 events at the end',
    );
    for (const id of ids) {
      const [got] = at(end, '/chain', id);
      expect(trailOf(got!)).toEqual(['a', 'b', 'c']);
      expect(got!.headers['ce-source']).toBe('/flows-test');
    }
    expect(at(end, '/chain')).toHaveLength(10);
  }, 60_000);

  it('a failing step is retried per its delivery and dead-lettered there; the rest of the Sequence gets nothing', async () => {
    expect((await send(addressOf('Sequence', 'failing'), 'fail-1')).status).toBe(202);
    const dead = await eventually(() => at(dls, '/failing', 'fail-1')[0], 30_000, 'the dead letter');
    expect(at(fn, '/bad', 'fail-1')).toHaveLength(3);
    expect(dead.headers['ce-knativeerrorcode']).toBe('500');
    expect(dead.headers['ce-knativeerrordest']).toBe(`${fn.url}/bad`);
    // What the failing step was given: the first step's output.
    expect(trailOf(dead)).toEqual(['a']);
    await sleep(500);
    expect(at(fn, '/c', 'fail-1')).toHaveLength(0);
    expect(at(end, '/failing', 'fail-1')).toHaveLength(0);
  }, 60_000);

  it('a three-branch Parallel: filters pick the branches, branch and global replies get the results', async () => {
    const events = Array.from({ length: 6 }, (_, i) => ({
      id: `fan-${i}`,
      type: i % 2 === 0 ? 'com.example.even' : 'com.example.odd',
    }));
    for (const e of events) expect((await send(addressOf('Parallel', 'fan'), e.id, e.type)).status).toBe(202);
    const evens = events.filter((e) => e.type === 'com.example.even').map((e) => e.id);
    const odds = events.filter((e) => e.type === 'com.example.odd').map((e) => e.id);
    await eventually(
      () =>
        evens.every((id) => at(end, '/r0', id).length > 0) &&
        events.every((e) => at(end, '/fan', e.id).length === (odds.includes(e.id) ? 2 : 1)),
      30_000,
      'every branch result',
    );
    // Branch 0 (even filter) replies to its own reply; branch 1 (odd filter) and 2 (no filter) to the global one.
    for (const id of evens) expect(at(end, '/r0', id).map(trailOf)).toEqual([['s0']]);
    for (const id of odds)
      expect(
        at(end, '/fan', id)
          .map((r) => trailOf(r).join())
          .sort(),
      ).toEqual(['s1', 's2']);
    for (const id of evens) expect(at(end, '/fan', id).map(trailOf)).toEqual([['s2']]);
    // Every filter saw every event; the subscribers only what passed.
    for (const e of events) {
      expect(at(fn, '/even', e.id)).toHaveLength(1);
      expect(at(fn, '/odd', e.id)).toHaveLength(1);
    }
    expect(at(fn, '/s0').map((r) => r.headers['ce-id'])).toEqual(evens);
    expect(
      at(fn, '/s1')
        .map((r) => r.headers['ce-id'])
        .sort(),
    ).toEqual(odds);
    expect(at(fn, '/s2')).toHaveLength(6);
    expect(at(end, '/r0')).toHaveLength(3);
  }, 60_000);

  it('inserting a step in the middle while events flow loses none that were accepted', async () => {
    const address = addressOf('Sequence', 'edited');
    const accepted: string[] = [];
    let refused = 0;
    let sent = 0;
    const sender = (async () => {
      for (let i = 0; i < 300; i++) {
        const id = `edit-${i}`;
        const res = await send(address, id);
        sent++;
        if (res.status === 202) accepted.push(id);
        else refused++;
        if (i % 10 === 0) await sleep(5);
      }
    })();
    await eventually(() => sent >= 60, 30_000, '60 events sent');
    writeFileSync(join(dir, 'edited.yaml'), sequence('edited', [step('a'), step('x'), step('b')]));
    await app.runtime.reload();
    const editedAt = sent;
    await sender;
    expect(refused).toBe(0);
    await eventually(
      () => accepted.every((id) => at(end, '/edited', id).length > 0),
      60_000,
      `all ${accepted.length} accepted events at the end (${new Set(at(end, '/edited').map((r) => r.headers['ce-id'])).size} so far)`,
    );
    const trails = accepted.map((id) => trailOf(at(end, '/edited', id)[0]!));
    for (const t of trails) {
      expect(t[0]).toBe('a');
      expect(t.at(-1)).toBe('b');
    }
    // Before the edit the events skip x; well after it they all go through it.
    expect(trails[0]).toEqual(['a', 'b']);
    expect(trails.at(-1)).toEqual(['a', 'x', 'b']);
    expect(editedAt).toBeLessThan(300);
    expect(lines.filter((l) => l.includes('Subscription default/edited-kn-sequence-2 ')).at(-1)).toMatch(
      /^✓ /,
    );
  }, 120_000);
}

describe('standalone Sequence and Parallel', () => {
  describe('on InMemoryChannel', () => {
    flowSuite({ name: 'memory', template: '', args: () => [] });
  });

  describe('on KafkaChannel', () => {
    const kafka = withKafka();
    flowSuite({
      name: 'kafka',
      template:
        '{ apiVersion: messaging.knative.dev/v1beta1, kind: KafkaChannel, spec: { numPartitions: 1, replicationFactor: 1 } }',
      args: () => ['--kafka-bootstrap', kafka.bootstrap],
    });
  });

  describe('on NatsJetStreamChannel', () => {
    const nats = withNats();
    flowSuite({
      name: 'jetstream',
      template: '{ apiVersion: messaging.knative.dev/v1alpha1, kind: NatsJetStreamChannel }',
      args: () => ['--nats-url', nats.url],
    });
  });
});
