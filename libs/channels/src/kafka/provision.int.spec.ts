import { Admin, ConfigResourceTypes } from '@platformatic/kafka';
import { withKafka } from '@eventing/testing';
import { KafkaChannelBackend } from './kafka-backend';
import { KafkaTopicProvisioner } from './provision';

// The control plane's side of Kafka topics, on a real broker: created with the resource's
// partitions, replication and retention, kept as they are when they exist, deleted; and a data plane
// told not to create topics (CREATE_STORES=false) waits for the control plane's topic instead.

describe('KafkaTopicProvisioner', () => {
  const kafka = withKafka();
  let admin: Admin;
  let provisioner: KafkaTopicProvisioner;

  beforeAll(() => {
    admin = new Admin({ clientId: 'provision-test', bootstrapBrokers: [kafka.bootstrap] });
    provisioner = new KafkaTopicProvisioner({ bootstrap: [kafka.bootstrap] });
  });
  afterAll(async () => {
    await provisioner?.close();
    await admin?.close();
  });

  const retentionOf = async (topic: string) => {
    const [described] = await admin.describeConfigs({
      resources: [
        { resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: ['retention.ms'] },
      ],
    });
    return described?.configs.find((c) => c.name === 'retention.ms')?.value;
  };
  /** Kafka deletes a topic in the background: the controller may list it for a moment after the delete. */
  const gone = async (topic: string) => {
    const until = Date.now() + 30_000;
    while ((await admin.listTopics()).includes(topic)) {
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 200));
    }
    return true;
  };
  const partitionsOf = async (topic: string) =>
    (await admin.metadata({ topics: [topic], forceUpdate: true })).topics.get(topic)?.partitions.length;

  it('creates a channel topic with the settings given, keeps it when ensured again, and deletes it', async () => {
    const ref = { namespace: 'prov', name: 'orders' };
    const topic = 'knative-messaging-kafka.prov.orders';
    await provisioner.ensure(ref, { numPartitions: 3, replicationFactor: 1, retentionMs: 3_600_000 });
    expect(await partitionsOf(topic)).toBe(3);
    expect(await retentionOf(topic)).toBe('3600000');
    // An existing topic is kept as it is (upstream keeps it too).
    await provisioner.ensure(ref, { numPartitions: 5 });
    expect(await partitionsOf(topic)).toBe(3);
    await provisioner.remove(ref);
    expect(await gone(topic)).toBe(true);
    // Removing what is gone is fine.
    await provisioner.remove(ref);
  });

  it('names a Kafka-class broker topic from its settings', async () => {
    const ref = { namespace: 'prov', name: 'b-kne-trigger' };
    await provisioner.ensure(ref, { topic: 'knative-broker-prov-b' });
    expect(await admin.listTopics()).toContain('knative-broker-prov-b');
    await provisioner.remove(ref, { topic: 'knative-broker-prov-b' });
    expect(await gone('knative-broker-prov-b')).toBe(true);
  });

  it('a backend that does not create topics refuses a missing one with the reason, and uses the provisioned one', async () => {
    const backend = new KafkaChannelBackend({ bootstrap: [kafka.bootstrap], createStores: false });
    const ref = { namespace: 'prov', name: 'later' };
    try {
      await expect(backend.ensureChannel(ref)).rejects.toThrow(
        /topic knative-messaging-kafka\.prov\.later of channel prov\/later is not there yet \(the control plane creates it\)/,
      );
      expect(await admin.listTopics()).not.toContain('knative-messaging-kafka.prov.later');
      await provisioner.ensure(ref, { numPartitions: 2 });
      await backend.ensureChannel(ref);
      const appended = await backend.append(
        ref,
        {
          attributes: { specversion: '1.0', id: '1', source: '/provision', type: 'test' },
          data: Buffer.from('x'),
        },
        {},
      );
      expect(appended).toEqual({ ok: true });
    } finally {
      await backend.close();
      await provisioner.remove(ref);
    }
  }, 30_000);
});
