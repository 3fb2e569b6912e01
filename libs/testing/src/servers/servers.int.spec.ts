import { AckPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  Admin,
  Consumer as PlatformaticConsumer,
  Producer as PlatformaticProducer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { startKafka, type KafkaServer } from './kafka';
import { startNats, type NatsServer } from './nats';

// Smoke test of the harnesses and the clients: real Kafka and nats-server, one message each way with
// every client, then a crash (SIGKILL) and restart that must keep what was acknowledged.

const START_TIMEOUT = 300_000; // includes the first install on a fresh machine
const TEST_TIMEOUT = 60_000;

describe('Kafka harness with kafkajs and @platformatic/kafka', () => {
  let kafka: KafkaServer;
  beforeAll(async () => {
    kafka = await startKafka();
  }, START_TIMEOUT);
  afterAll(() => kafka?.stop(), 30_000);

  const kafkajs = () =>
    new Kafka({ clientId: 'smoke', brokers: [kafka.bootstrap], logLevel: logLevel.NOTHING });

  async function kafkajsReadOne(topic: string, groupId: string): Promise<string> {
    const consumer = kafkajs().consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    try {
      return await new Promise<string>((done, fail) => {
        consumer
          .run({ eachMessage: async ({ message }) => done(message.value?.toString() ?? '') })
          .catch(fail);
      });
    } finally {
      await consumer.disconnect();
    }
  }

  async function platformaticReadOne(topic: string, groupId: string): Promise<string> {
    const consumer = new PlatformaticConsumer({
      clientId: 'smoke',
      groupId,
      bootstrapBrokers: [kafka.bootstrap],
      deserializers: stringDeserializers,
    });
    try {
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: true });
      for await (const message of stream) {
        await stream.close();
        return message.value;
      }
      throw new Error(`no message on ${topic}`);
    } finally {
      await consumer.close(true);
    }
  }

  it(
    'kafkajs creates a topic, produces with acks=all and consumes the message',
    async () => {
      const admin = kafkajs().admin();
      await admin.connect();
      await admin.createTopics({
        topics: [{ topic: 'smoke-kafkajs', numPartitions: 3 }],
        waitForLeaders: true,
      });
      await admin.disconnect();
      const producer = kafkajs().producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      await producer.send({
        topic: 'smoke-kafkajs',
        acks: -1,
        messages: [{ key: 'k', value: 'from kafkajs' }],
      });
      await producer.disconnect();
      expect(await kafkajsReadOne('smoke-kafkajs', 'smoke-kafkajs-1')).toBe('from kafkajs');
    },
    TEST_TIMEOUT,
  );

  it(
    '@platformatic/kafka creates a topic, produces with acks=all and consumes the message',
    async () => {
      const admin = new Admin({ clientId: 'smoke', bootstrapBrokers: [kafka.bootstrap] });
      await admin.createTopics({ topics: ['smoke-platformatic'], partitions: 3, replicas: 1 });
      await admin.close();
      const producer = new PlatformaticProducer({
        clientId: 'smoke',
        bootstrapBrokers: [kafka.bootstrap],
        serializers: stringSerializers,
        acks: -1,
      });
      await producer.send({
        messages: [{ topic: 'smoke-platformatic', key: 'k', value: 'from platformatic' }],
      });
      await producer.close();
      expect(await platformaticReadOne('smoke-platformatic', 'smoke-platformatic-1')).toBe(
        'from platformatic',
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'keeps acknowledged messages through a crash and restart on the same address',
    async () => {
      const bootstrap = kafka.bootstrap;
      kafka.kill();
      await kafka.restart();
      expect(kafka.bootstrap).toBe(bootstrap);
      expect(await kafkajsReadOne('smoke-kafkajs', 'smoke-kafkajs-2')).toBe('from kafkajs');
      expect(await platformaticReadOne('smoke-platformatic', 'smoke-platformatic-2')).toBe(
        'from platformatic',
      );
    },
    TEST_TIMEOUT,
  );
});

describe('NATS harness with @nats-io/jetstream', () => {
  let nats: NatsServer;
  let nc: Awaited<ReturnType<typeof connect>> | undefined;
  beforeAll(async () => {
    nats = await startNats();
  }, START_TIMEOUT);
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  }, 30_000);

  it(
    'publishes with an ack and consumes through a durable consumer',
    async () => {
      nc = await connect({ servers: nats.url });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'SMOKE', subjects: ['smoke.>'], storage: StorageType.File });
      await jsm.consumers.add('SMOKE', { durable_name: 'reader', ack_policy: AckPolicy.Explicit });
      const js = jetstream(nc);
      const ack = await js.publish('smoke.one', 'from jetstream', { msgID: 'one' });
      expect(ack).toMatchObject({ stream: 'SMOKE', seq: 1, duplicate: false });
      const consumer = await js.consumers.get('SMOKE', 'reader');
      const msg = await consumer.next({ expires: 5_000 });
      expect(msg?.string()).toBe('from jetstream');
      await msg?.ackAck();
      await nc.close();
      nc = undefined;
    },
    TEST_TIMEOUT,
  );

  it(
    'keeps the stream, its message and the durable consumer through a crash and restart',
    async () => {
      const url = nats.url;
      nats.kill();
      await nats.restart();
      expect(nats.url).toBe(url);
      nc = await connect({ servers: nats.url });
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info('SMOKE')).state.messages).toBe(1);
      // The durable survives; its ack floor may not (nats-server writes consumer state asynchronously,
      // so a crash can roll acks back and redeliver: at-least-once).
      expect((await jsm.consumers.info('SMOKE', 'reader')).config.durable_name).toBe('reader');
      const replay = await jetstream(nc).consumers.get('SMOKE'); // ordered, from the start
      expect((await replay.next({ expires: 5_000 }))?.string()).toBe('from jetstream');
    },
    TEST_TIMEOUT,
  );
});
