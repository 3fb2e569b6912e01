import { buildConsumerConfig, buildStreamConfig, consumerUpdate, streamDifferences } from './config';

const DEFAULTS = { ackWaitMs: 30_000, maxAckPending: 10 };

describe('buildStreamConfig', () => {
  it('without settings: the channel subject, Limits retention, Old discard, File storage (upstream defaults), no limits', () => {
    expect(buildStreamConfig('KN_NS__C', 'ns.c._knative')).toEqual({
      name: 'KN_NS__C',
      subjects: ['ns.c._knative'],
      retention: 'limits',
      discard: 'old',
      storage: 'file',
      max_msgs: -1,
      max_bytes: -1,
      max_msg_size: -1,
      max_age: 0,
      num_replicas: 1,
    });
  });

  it('maps every NatsJetStreamChannel stream setting; Go durations become nanoseconds, zero values stay unset', () => {
    expect(
      buildStreamConfig('S', 'ns.c._knative', {
        additionalSubjects: ['extra.>', 'ns.c._knative'],
        retention: 'Work',
        maxConsumers: 0,
        maxMsgs: 1000,
        maxBytes: 1 << 20,
        discard: 'New',
        maxAge: '1h30m',
        maxMsgSize: 4096,
        storage: 'Memory',
        replicas: 3,
        noAck: false,
        duplicateWindow: '2m',
        placement: { cluster: 'east', tags: ['ssd'] },
        sources: [{ name: 'OTHER', optStartSeq: 5, filterSubject: 'x.>' }],
      }),
    ).toEqual({
      name: 'S',
      subjects: ['ns.c._knative', 'extra.>'],
      retention: 'workqueue',
      discard: 'new',
      storage: 'memory',
      max_msgs: 1000,
      max_bytes: 1 << 20,
      max_msg_size: 4096,
      num_replicas: 3,
      max_age: 5400e9,
      duplicate_window: 120e9,
      placement: { cluster: 'east', tags: ['ssd'] },
      sources: [{ name: 'OTHER', opt_start_seq: 5, filter_subject: 'x.>' }],
    });
  });

  it('refuses a duration Go would refuse, naming the field', () => {
    expect(() => buildStreamConfig('S', 's', { maxAge: '10' })).toThrow(/stream\.config\.maxAge: "10"/);
  });

  it('streamDifferences names the wanted fields the running stream lacks', () => {
    const wanted = buildStreamConfig('S', 's', { maxMsgs: 10 });
    expect(streamDifferences({ ...wanted, sealed: false, sources: [] }, wanted)).toEqual([]);
    expect(streamDifferences({ ...wanted, max_msgs: 5 }, wanted)).toEqual(['max_msgs']);
    expect(streamDifferences({ ...wanted, no_ack: true }, wanted)).toEqual(['no_ack']);
  });
});

describe('buildConsumerConfig', () => {
  it('a durable pull consumer: explicit acks, deliver New, MaxAckPending and AckWait from the backend, no MaxDeliver', () => {
    expect(buildConsumerConfig('KN_SUB_X', undefined, DEFAULTS)).toEqual({
      name: 'KN_SUB_X',
      durable_name: 'KN_SUB_X',
      ack_policy: 'explicit',
      deliver_policy: 'new',
      replay_policy: 'instant',
      ack_wait: 30e9,
      max_ack_pending: 10,
      max_deliver: -1,
    });
  });

  it('takes the template where it says something', () => {
    expect(
      buildConsumerConfig(
        'KN_SUB_X',
        {
          deliverPolicy: 'ByStartSequence',
          optStartSeq: 42,
          ackWait: '2s',
          maxDeliver: 5,
          filterSubject: 'ns.c._knative',
          replayPolicy: 'Original',
          rateLimitBPS: 1000,
          sampleFrequency: '30%',
          maxAckPending: 100,
        },
        DEFAULTS,
      ),
    ).toMatchObject({
      deliver_policy: 'by_start_sequence',
      opt_start_seq: 42,
      ack_wait: 2e9,
      max_deliver: 5,
      filter_subject: 'ns.c._knative',
      replay_policy: 'original',
      rate_limit_bps: 1000,
      sample_freq: '30%',
      max_ack_pending: 100,
    });
  });

  it('consumerUpdate: only the fields JetStream lets change, only when they differ', () => {
    const wanted = buildConsumerConfig('KN_SUB_X', undefined, DEFAULTS);
    expect(consumerUpdate({ ...wanted }, wanted)).toBeUndefined();
    expect(consumerUpdate({ ...wanted, max_ack_pending: 3, deliver_policy: 'all' as never }, wanted)).toEqual(
      {
        max_ack_pending: 10,
      },
    );
  });
});
