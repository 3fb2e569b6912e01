import { Admin } from '@platformatic/kafka';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createServer } from 'node:net';
import { CONTRACT_KEY, contractConfigMapName } from '@eventing/contract';
import {
  buildApps,
  startKube,
  withKafka,
  withNats,
  type AppProcess,
  type KubeServer,
} from '@eventing/testing';
import { applyCrds, getJson, startController, SYSTEM_NAMESPACE, until } from './cluster-harness';

// Durable stores are the controller's to create and delete in a cluster (CONFORMANCE 2.13): a
// KafkaChannel gets upstream's finalizer and its topic before it enters the contract, `kubectl
// delete` removes the topic and then the object, and a Kafka that cannot be reached keeps the
// channel not Ready with the reason and out of the contract. Real kube-apiserver, real Kafka.

jest.setTimeout(300_000);

const FINALIZER = 'kafkachannels.messaging.knative.dev';
/** No data-plane service runs here: the controller only names their URLs. */
const NOWHERE = {
  ingress: { url: 'http://127.0.0.1:9' },
  imc: { url: 'http://127.0.0.1:9' },
  filter: { url: 'http://127.0.0.1:9' },
};

const kafkaChannel = (name: string) => `apiVersion: messaging.knative.dev/v1beta1
kind: KafkaChannel
metadata:
  name: ${name}
  namespace: default
spec:
  numPartitions: 2
  replicationFactor: 1
`;

interface KafkaChannelObject {
  metadata: { finalizers?: string[]; deletionTimestamp?: string };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the controller provisions Kafka topics and JetStream streams', () => {
  const kafka = withKafka();
  const nats = withNats();
  let kube: KubeServer;
  let admin: Admin;
  let nc: Awaited<ReturnType<typeof connect>>;
  let jsm: JetStreamManager;
  let controller: AppProcess | undefined;

  const topics = () => admin.listTopics({ includeInternals: false });
  const channelsInContract = async () => {
    const cm = await getJson<{ data?: Record<string, string> }>(kube, [
      'configmap',
      contractConfigMapName('kafka-channel-dispatcher'),
      '-n',
      SYSTEM_NAMESPACE,
    ]);
    const text = cm?.data?.[CONTRACT_KEY];
    return text === undefined
      ? undefined
      : ((JSON.parse(text) as { channels?: { name: string }[] }).channels ?? []);
  };
  const channel = (name: string) =>
    getJson<KafkaChannelObject>(kube, ['kafkachannel', name, '-n', 'default']);
  const explained = async <T>(promise: Promise<T>): Promise<T> => {
    try {
      return await promise;
    } catch (err) {
      const tail = controller?.output().split('\n').slice(-30).join('\n');
      throw new Error(`${(err as Error).message}\n--- controller output ---\n${tail}`);
    }
  };

  beforeAll(async () => {
    buildApps('controller');
    kube = await startKube();
    await applyCrds(kube);
    admin = new Admin({ clientId: 'controller-provisioning-test', bootstrapBrokers: [kafka.bootstrap] });
    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);
  }, 1_200_000);

  afterAll(async () => {
    controller?.kill();
    await admin?.close();
    await nc?.close();
    await kube?.stop();
  });

  it('a KafkaChannel gets the finalizer and its topic before the contract; kubectl delete removes the topic, then the object', async () => {
    controller = await startController(kube, NOWHERE, {
      STORES: 'memory,kafka,jetstream',
      KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrap,
      NATS_URL: nats.url,
      LEADER_ELECTION: 'false',
      PORT: '0',
    });
    await kube.kubectl(['apply', '-f', '-'], { input: kafkaChannel('orders') });
    const ready = await explained(
      until(
        async () => {
          const c = await channel('orders');
          return c?.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True' && c;
        },
        60_000,
        'KafkaChannel default/orders Ready',
      ),
    );
    expect(ready.metadata.finalizers).toContain(FINALIZER);
    expect(ready.status?.conditions?.find((c) => c.type === 'TopicReady')?.status).toBe('True');
    expect(await topics()).toContain('knative-messaging-kafka.default.orders');
    const metadata = await admin.metadata({ topics: ['knative-messaging-kafka.default.orders'] });
    expect(metadata.topics.get('knative-messaging-kafka.default.orders')?.partitions).toHaveLength(2);
    await explained(
      until(
        async () => (await channelsInContract())?.some((c) => c.name === 'orders'),
        30_000,
        'orders in the contract',
      ),
    );

    // kubectl waits until the object is gone, which the finalizer holds until the topic is deleted.
    await kube.kubectl(['delete', 'kafkachannel', 'orders', '-n', 'default', '--timeout=60s']);
    expect(await channel('orders')).toBeUndefined();
    expect(await topics()).not.toContain('knative-messaging-kafka.default.orders');
    await explained(
      until(
        async () => (await channelsInContract())?.every((c) => c.name !== 'orders'),
        30_000,
        'orders out of the contract',
      ),
    );
  });

  it('a NatsJetStreamChannel gets its finalizer and stream; kubectl delete removes the stream, then the object', async () => {
    const streamExists = (name: string) =>
      jsm.streams.info(name).then(
        () => true,
        (err: Error) => {
          if (/stream not found/i.test(err.message)) return false;
          throw err;
        },
      );
    await kube.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: messaging.knative.dev/v1alpha1
kind: NatsJetStreamChannel
metadata:
  name: payments
  namespace: default
`,
    });
    const ready = await explained(
      until(
        async () => {
          const c = await getJson<KafkaChannelObject>(kube, [
            'natsjetstreamchannel',
            'payments',
            '-n',
            'default',
          ]);
          return c?.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True' && c;
        },
        60_000,
        'NatsJetStreamChannel default/payments Ready',
      ),
    );
    expect(ready.metadata.finalizers).toContain('natsjetstreamchannels.messaging.knative.dev');
    expect((await jsm.streams.info('KN_DEFAULT__PAYMENTS')).config.subjects).toEqual([
      'default.payments._knative',
    ]);
    await kube.kubectl(['delete', 'natsjetstreamchannel', 'payments', '-n', 'default', '--timeout=60s']);
    expect(await streamExists('KN_DEFAULT__PAYMENTS')).toBe(false);
  });

  it('a Kafka-class Broker deleted while the controller is down has its topic removed by the next one, then goes', async () => {
    await kube.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: orders-broker
  namespace: default
  annotations:
    eventing.knative.dev/broker.class: Kafka
`,
    });
    const topic = 'knative-broker-default-orders-broker';
    const broker = await explained(
      until(
        async () => {
          const b = await getJson<KafkaChannelObject>(kube, ['broker', 'orders-broker', '-n', 'default']);
          return b?.metadata.finalizers?.includes('kafka.eventing') && (await topics()).includes(topic) && b;
        },
        60_000,
        'the broker finalizer and topic',
      ),
    );
    expect(broker.metadata.finalizers).toContain('kafka.eventing');
    const settings = {
      STORES: 'memory,kafka,jetstream',
      KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrap,
      NATS_URL: nats.url,
    };
    controller?.kill();
    await kube.kubectl(['delete', 'broker', 'orders-broker', '-n', 'default', '--wait=false']);
    // Held by the finalizer while nobody removes the topic.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const held = await getJson<KafkaChannelObject>(kube, ['broker', 'orders-broker', '-n', 'default']);
    expect(held?.metadata.deletionTimestamp).toBeDefined();
    expect(await topics()).toContain(topic);
    controller = await startController(kube, NOWHERE, { ...settings, LEADER_ELECTION: 'false', PORT: '0' });
    await explained(
      until(
        async () => (await getJson(kube, ['broker', 'orders-broker', '-n', 'default'])) === undefined,
        60_000,
        'the broker gone',
      ),
    );
    expect(await topics()).not.toContain(topic);
  });

  it('a Kafka that cannot be reached keeps the KafkaChannel not Ready with the reason, and out of the contract', async () => {
    controller?.kill();
    controller = await startController(kube, NOWHERE, {
      STORES: 'memory,kafka',
      KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${await closedPort()}`,
      LEADER_ELECTION: 'false',
      PORT: '0',
    });
    await kube.kubectl(['apply', '-f', '-'], { input: kafkaChannel('unreachable') });
    const failed = await explained(
      until(
        async () => {
          const c = await channel('unreachable');
          const topic = c?.status?.conditions?.find((x) => x.type === 'TopicReady');
          return topic?.status === 'False' && { c, topic };
        },
        60_000,
        'TopicReady False',
      ),
    );
    expect(failed.topic.reason).toBe('TopicNotPresentOrInvalid');
    expect(failed.topic.message).toMatch(/cannot create topic knative-messaging-kafka\.default\.unreachable/);
    expect(failed.c?.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('False');
    // Retried with backoff: still not in the contract a while later.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect((await channelsInContract()) ?? []).not.toContainEqual(
      expect.objectContaining({ name: 'unreachable' }),
    );
  });
});
