import { checkConsumerName, checkStreamName, consumerName, publishSubject, streamName } from './naming';

describe('JetStream names, as eventing-natss gives them', () => {
  it.each([
    [{ namespace: 'default', name: 'channel' }, 'KN_DEFAULT__CHANNEL', 'default.channel._knative'],
    [
      { namespace: 'knative-eventing', name: 'my-channel' },
      'KN_KNATIVE_EVENTING__MY_CHANNEL',
      'knative-eventing.my-channel._knative',
    ],
  ])('%j: stream %s, subject %s', (ref, stream, subject) => {
    expect(streamName(ref)).toBe(stream);
    expect(publishSubject(ref)).toBe(subject);
  });

  it('a consumer per subscription uid: KN_SUB_ and the uid upper case without hyphens', () => {
    expect(consumerName('8f14e45f-ceea-467a-9575-1c6a7d3e5b2a')).toBe(
      'KN_SUB_8F14E45FCEEA467A95751C6A7D3E5B2A',
    );
  });

  it.each(['a.b', 'a b', 'a*', 'a>', 'a/b', ''])('refuses the id %j, which cannot name a consumer', (id) => {
    expect(() => consumerName(id)).toThrow(/cannot name a JetStream consumer/);
  });

  it('checks a consumer name the control plane gave (consumerGroup)', () => {
    expect(checkConsumerName('knative-trigger-ns-t')).toBe('knative-trigger-ns-t');
    expect(() => checkConsumerName('kafka.ns.t')).toThrow(
      /consumerGroup "kafka.ns.t" cannot name a JetStream consumer/,
    );
    expect(() => checkConsumerName('')).toThrow(/cannot name a JetStream consumer/);
  });

  it('checks an overridden stream name', () => {
    expect(checkStreamName('ORDERS')).toBe('ORDERS');
    expect(() => checkStreamName('orders.v1')).toThrow(/cannot name a JetStream stream/);
  });
});
