import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin } from '@platformatic/kafka';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { eventually, withKafka, withNats } from '@eventing/testing';
import { startQuietStandalone, type QuietStandalone } from './testing/quiet-standalone';

// Standalone provisions durable stores through the reconcilers, as the controller does in a cluster:
// a KafkaChannel's topic (with its partitions), a NatsJetStreamChannel's stream and a Kafka-class
// Broker's topic exist once they are Ready, and are removed when the resource leaves the folder.
// Read back from the real servers (CONFORMANCE 2.13).

const CHANNELS = `apiVersion: messaging.knative.dev/v1beta1
kind: KafkaChannel
metadata: { name: short-lived, namespace: prov }
spec: { numPartitions: 2, replicationFactor: 1 }
---
apiVersion: messaging.knative.dev/v1alpha1
kind: NatsJetStreamChannel
metadata: { name: short-lived-js, namespace: prov }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: short-lived
  namespace: prov
  annotations: { eventing.knative.dev/broker.class: Kafka }
`;
const KEPT = `apiVersion: messaging.knative.dev/v1beta1
kind: KafkaChannel
metadata: { name: kept, namespace: prov }
`;

/** Polls an asynchronous check until it holds. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('standalone provisions and removes durable stores', () => {
  const kafka = withKafka();
  const nats = withNats();
  let dir: string;
  let lines: string[];
  let admin: Admin;
  let jsm: JetStreamManager;
  let close: () => Promise<void>;
  let app: QuietStandalone['app'];

  const topics = async () => admin.listTopics({ includeInternals: false });
  const streamExists = (name: string) =>
    jsm.streams.info(name).then(
      () => true,
      (err: Error) => {
        if (/stream not found/i.test(err.message)) return false;
        throw err;
      },
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'provisioning-'));
    writeFileSync(join(dir, 'channels.yaml'), CHANNELS);
    writeFileSync(join(dir, 'kept.yaml'), KEPT);
    admin = new Admin({ clientId: 'provisioning-test', bootstrapBrokers: [kafka.bootstrap] });
    const nc = await connect({ servers: [nats.url] });
    jsm = await jetstreamManager(nc);
    close = () => nc.close();
    ({ app, lines } = await startQuietStandalone(dir, [
      ...['--kafka-bootstrap', kafka.bootstrap],
      ...['--nats-url', nats.url],
    ]));
  }, 120_000);

  afterAll(async () => {
    await app?.service.close();
    await admin?.close();
    await close?.();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('creates the topic and stream of each durable channel and broker before it is Ready', async () => {
    for (const what of [
      'KafkaChannel prov/short-lived',
      'NatsJetStreamChannel prov/short-lived-js',
      'Broker prov/short-lived',
    ])
      await eventually(
        () => lines.find((l) => l.includes(what) && l.startsWith('✓ ')),
        30_000,
        `${what} Ready`,
      );
    expect(await topics()).toEqual(
      expect.arrayContaining([
        'knative-messaging-kafka.prov.short-lived',
        'knative-messaging-kafka.prov.kept',
        'knative-broker-prov-short-lived',
      ]),
    );
    const metadata = await admin.metadata({ topics: ['knative-messaging-kafka.prov.short-lived'] });
    expect(metadata.topics.get('knative-messaging-kafka.prov.short-lived')?.partitions).toHaveLength(2);
    expect(await streamExists('KN_PROV__SHORT_LIVED_JS')).toBe(true);
  }, 60_000);

  it('removes them when their resources are deleted, and keeps the others', async () => {
    rmSync(join(dir, 'channels.yaml'));
    await app.runtime.reload();
    await until(
      async () => {
        const t = await topics();
        return (
          !t.includes('knative-messaging-kafka.prov.short-lived') &&
          !t.includes('knative-broker-prov-short-lived')
        );
      },
      30_000,
      'the topics deleted',
    );
    await until(async () => !(await streamExists('KN_PROV__SHORT_LIVED_JS')), 30_000, 'the stream deleted');
    expect(await topics()).toContain('knative-messaging-kafka.prov.kept');
  }, 60_000);
});
