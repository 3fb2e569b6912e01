import { setDefaultsParallel, setDefaultsSequence, type Resource } from '@eventing/api';
import type { ApplyReport } from '@eventing/contract';
import { Controller, type ContractBody } from '../controller/controller';
import { MemoryResourceStore } from '../store/memory-store';

const channelUrl = (ns: string, name: string) => `http://ingress.local/_channels/${ns}/${name}`;
const fn = (name: string) => ({ uri: `http://${name}.fn.local/` });

/** A data plane that serves whatever it is given, and remembers each contract. */
function sink() {
  const published: ContractBody[] = [];
  return {
    published,
    publish(body: ContractBody): Promise<ApplyReport> {
      published.push(body);
      const served = new Set<string>();
      for (const e of [
        ...body.brokers,
        ...body.triggers,
        ...(body.channels ?? []),
        ...(body.subscriptions ?? []),
      ])
        served.add(e.uid);
      return Promise.resolve({ generation: published.length, served, failed: new Map() });
    },
  };
}

function running(store: MemoryResourceStore) {
  const contract = sink();
  const controller = new Controller(store, {
    ingressUrl: (ns, name) => `http://ingress.local/${ns}/${name}`,
    channelUrl,
    addressBook: { lookup: () => undefined },
    contract,
  });
  controller.start();
  return { controller, contract };
}

const sequence = (steps: object[]): Resource =>
  setDefaultsSequence({
    apiVersion: 'flows.knative.dev/v1',
    kind: 'Sequence',
    metadata: { name: 'seq', namespace: 'default' },
    spec: { steps, reply: fn('end') },
  }) as Resource;

const ready = (r: Resource | undefined) =>
  (r?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.find(
    (c) => c.type === 'Ready',
  )?.status;

/** `<subscription name>: <channel> -> <subscriber> => <reply>` for every subscription in a contract. */
const wiring = (body: ContractBody | undefined) =>
  (body?.subscriptions ?? [])
    .map((s) => `${s.name}: ${s.channel.name} -> ${s.subscriberUri} => ${s.replyUri ?? '-'}`)
    .sort();

describe('Sequence and Parallel through the controller loop (2.14)', () => {
  it('a Sequence turns Ready and its chain is in the contract; inserting a step rewires it in place', async () => {
    const store = new MemoryResourceStore();
    store.apply(sequence([fn('a'), fn('b')]));
    const { controller, contract } = running(store);
    await controller.idle();
    const seq = () => store.get('flows.knative.dev', 'Sequence', 'default', 'seq');
    expect(ready(seq())).toBe('True');
    expect((seq()?.status as { address?: { url?: string } }).address?.url).toBe(
      channelUrl('default', 'seq-kn-sequence-0'),
    );
    const last = () => contract.published.at(-1);
    expect(
      last()
        ?.channels?.map((c) => c.name)
        .sort(),
    ).toEqual(['seq-kn-sequence-0', 'seq-kn-sequence-1']);
    expect(wiring(last())).toEqual([
      `seq-kn-sequence-0: seq-kn-sequence-0 -> http://a.fn.local/ => ${channelUrl('default', 'seq-kn-sequence-1')}`,
      'seq-kn-sequence-1: seq-kn-sequence-1 -> http://b.fn.local/ => http://end.fn.local/',
    ]);
    const uids = new Map(last()?.subscriptions?.map((s) => [s.name, s.uid]));

    // Nothing changed: no new contract.
    const publishes = contract.published.length;
    controller.requeueAll();
    await controller.idle();
    expect(contract.published.length).toBe(publishes);

    store.apply(sequence([fn('a'), fn('x'), fn('b')]));
    await controller.idle();
    expect(ready(seq())).toBe('True');
    expect(wiring(last())).toEqual([
      `seq-kn-sequence-0: seq-kn-sequence-0 -> http://a.fn.local/ => ${channelUrl('default', 'seq-kn-sequence-1')}`,
      `seq-kn-sequence-1: seq-kn-sequence-1 -> http://x.fn.local/ => ${channelUrl('default', 'seq-kn-sequence-2')}`,
      'seq-kn-sequence-2: seq-kn-sequence-2 -> http://b.fn.local/ => http://end.fn.local/',
    ]);
    for (const s of last()?.subscriptions ?? []) if (uids.has(s.name)) expect(s.uid).toBe(uids.get(s.name));

    store.apply(sequence([fn('a')]));
    await controller.idle();
    expect(wiring(last())).toEqual([
      'seq-kn-sequence-0: seq-kn-sequence-0 -> http://a.fn.local/ => http://end.fn.local/',
    ]);
    expect(store.list('InMemoryChannel', 'messaging.knative.dev').map((c) => c.metadata.name)).toEqual([
      'seq-kn-sequence-0',
    ]);

    store.remove('flows.knative.dev', 'Sequence', 'default', 'seq');
    await controller.idle();
    expect(last()?.channels).toEqual([]);
    expect(last()?.subscriptions).toEqual([]);
    await controller.stop();
  });

  it('a Parallel turns Ready; filters reply into branch channels, subscribers reply to the branch or global reply', async () => {
    const store = new MemoryResourceStore();
    store.apply(
      setDefaultsParallel({
        apiVersion: 'flows.knative.dev/v1',
        kind: 'Parallel',
        metadata: { name: 'par', namespace: 'default' },
        spec: {
          branches: [{ filter: fn('f0'), subscriber: fn('s0'), reply: fn('r0') }, { subscriber: fn('s1') }],
          reply: fn('global'),
        },
      }) as Resource,
    );
    const { controller, contract } = running(store);
    await controller.idle();
    expect(ready(store.get('flows.knative.dev', 'Parallel', 'default', 'par'))).toBe('True');
    expect(wiring(contract.published.at(-1))).toEqual([
      'par-kn-parallel-0: par-kn-parallel-0 -> http://s0.fn.local/ => http://r0.fn.local/',
      'par-kn-parallel-1: par-kn-parallel-1 -> http://s1.fn.local/ => http://global.fn.local/',
      `par-kn-parallel-filter-0: par-kn-parallel -> http://f0.fn.local/ => ${channelUrl('default', 'par-kn-parallel-0')}`,
      `par-kn-parallel-filter-1: par-kn-parallel -> ${channelUrl('default', 'par-kn-parallel-1')} => -`,
    ]);
    await controller.stop();
  });
});
