import { CONTRACT_VERSION, type Contract } from './contract';
import { contractForRole } from './roles';

const policy = { retry: 0, backoffPolicy: 'exponential' as const, backoffDelayMs: 0 };
const contract: Contract = {
  version: CONTRACT_VERSION,
  generation: 7,
  brokers: [
    { uid: 'b1', namespace: 'ns', name: 'mem', channelAddress: 'http://imc/ns/mem-kne-trigger' },
    { uid: 'b2', namespace: 'ns', name: 'kb', store: 'kafka' },
  ],
  triggers: [
    {
      uid: 't1',
      namespace: 'ns',
      name: 't1',
      broker: 'mem',
      subscriberUri: 'http://s',
      policy,
      format: 'binary',
    },
    {
      uid: 't2',
      namespace: 'ns',
      name: 't2',
      broker: 'kb',
      subscriberUri: 'http://s',
      policy,
      format: 'binary',
    },
  ],
  channels: [
    { uid: 'c1', namespace: 'ns', name: 'mem-kne-trigger' },
    { uid: 'c2', namespace: 'ns', name: 'kc', store: 'kafka' },
    { uid: 'c3', namespace: 'ns', name: 'jc', store: 'jetstream' },
  ],
  subscriptions: ['mem-kne-trigger', 'kc', 'jc'].map((name, i) => ({
    uid: `s${i}`,
    namespace: 'ns',
    name: `s${i}`,
    channel: { namespace: 'ns', name },
    subscriberUri: 'http://f',
    policy,
    format: 'binary' as const,
  })),
};
const names = (list: { name: string }[] | undefined) => (list ?? []).map((e) => e.name);

describe('contractForRole', () => {
  it.each([
    ['broker-ingress', ['mem'], [], [], []],
    ['broker-filter', [], ['t1'], [], []],
    ['imc-dispatcher', [], [], ['mem-kne-trigger'], ['s0']],
    ['kafka-channel-dispatcher', [], [], ['kc'], ['s1']],
    ['nats-channel-dispatcher', [], [], ['jc'], ['s2']],
    ['kafka-broker', ['kb'], ['t2'], [], []],
  ] as const)('%s gets its share only', (role, brokers, triggers, channels, subscriptions) => {
    const share = contractForRole(contract, role);
    expect(share.generation).toBe(7);
    expect(names(share.brokers)).toEqual(brokers);
    expect(names(share.triggers)).toEqual(triggers);
    expect(names(share.channels)).toEqual(channels);
    expect(names(share.subscriptions)).toEqual(subscriptions);
  });
});
