import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelMessage } from '@eventing/channels';
import { KafkaChannelBackend } from '@eventing/channels/kafka';
import { eventually, withKafka } from '@eventing/testing';
import { buildApps, ce, spawnApp, waitReady, writeContract, type AppProcess } from '@eventing/testing';

// kafka-broker-receiver as deployed (the bundled process, settings in the environment) against a real
// Kafka: what it answers 202 is in the broker's topic, read back here with the channels library.
jest.setTimeout(120_000);

const kafka = withKafka();
// A Kafka-class broker, as the control plane writes it: in a topic of its own, named as upstream's.
const broker = (
  uid: string,
  name: string,
  extra: object = {
    store: 'kafka',
    storeSettings: { numPartitions: 2, topic: `knative-broker-kbr-${name}` },
  },
) => ({
  uid,
  namespace: 'kbr',
  name,
  ...extra,
});

describe('kafka-broker-receiver process', () => {
  let dir: string;
  let contractPath: string;
  let app: AppProcess;
  let reader: KafkaChannelBackend;
  const stored: ChannelMessage[] = [];

  const post = (path: string, id: string, extra: Record<string, string> = {}) =>
    fetch(`${app.url}${path}`, { method: 'POST', headers: ce(id, 'test.event', extra), body: `body-${id}` });

  beforeAll(async () => {
    buildApps('kafka-broker-receiver');
    dir = mkdtempSync(join(tmpdir(), 'kbr-'));
    contractPath = join(dir, 'contract.json');
    // Reads the topic upstream's Kafka broker would: knative-broker-<namespace>-<name>.
    reader = new KafkaChannelBackend({
      bootstrap: [kafka.bootstrap],
      clientId: 'kbr-test-reader',
      topicName: (ref) => `knative-broker-${ref.namespace}-${ref.name}`,
    });
    app = await spawnApp('kafka-broker-receiver', {
      CONTRACT_PATH: contractPath,
      KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrap,
    });
  });

  afterAll(async () => {
    app?.kill('SIGKILL');
    await reader?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns ready once the contract is applied, with the broker topics in place', async () => {
    expect((await fetch(`${app.url}/readyz`)).status).toBe(503);
    writeContract(contractPath, {
      generation: 1,
      brokers: [broker('b1', 'orders'), broker('b2', 'in-memory', {})],
    });
    await waitReady(app.url, 60_000);
    // The receiver made the topic (a consumer of a topic that does not exist cannot start).
    await reader.subscribe(
      { namespace: 'kbr', name: 'orders' },
      { id: 'probe', maxInFlight: 8 },
      async (m) => {
        stored.push(m);
        return 'ack';
      },
    );
  });

  it('answers 202 once the event is in the broker topic, with the broker extensions stamped', async () => {
    for (let i = 0; i < 20; i++)
      expect((await post('/kbr/orders', `r${i}`, { 'x-request-id': `req-${i}` })).status).toBe(202);
    await eventually(() => stored.length >= 20, 30_000, '20 records in the topic');
    const first = stored.find((m) => m.event.attributes.id === 'r0')!;
    expect(first.event.attributes['knativebrokerttl']).toBe('255');
    expect(String(first.event.attributes['knativearrivaltime'])).toMatch(/^\d{4}-/);
    expect(first.event.data?.toString()).toBe('body-r0');
    expect(first.headers['x-request-id']).toBe('req-0');
    expect(new Set(stored.map((m) => m.event.attributes.id)).size).toBe(20);
  });

  it.each([
    ['a broker of another store', 'POST', '/kbr/in-memory', ce('x'), 404],
    ['an unknown broker', 'POST', '/kbr/nope', ce('x'), 404],
    ['not a CloudEvent', 'POST', '/kbr/orders', { 'content-type': 'application/json' }, 400],
    ['a used-up TTL', 'POST', '/kbr/orders', ce('x', 't', { 'ce-knativebrokerttl': '1' }), 400],
    ['GET', 'GET', '/kbr/orders', {}, 405],
  ])('refuses %s', async (_what, method, path, headers, status) => {
    const res = await fetch(`${app.url}${path}`, {
      method,
      headers: headers as Record<string, string>,
      body: method === 'GET' ? undefined : '{}',
    });
    expect(res.status).toBe(status);
  });

  it('counts ingress in upstream metrics', async () => {
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(
      /mt_broker_ingress_event_count\{broker_name="orders",namespace_name="kbr",event_type="test.event",response_code="202"[^}]*\} 20/,
    );
  });

  it('applies a contract edit live', async () => {
    writeContract(contractPath, { generation: 2, brokers: [broker('b3', 'added')] });
    let status = 0;
    for (let i = 0; i < 200 && status !== 202; i++) {
      status = (await post('/kbr/added', 'a1')).status;
      if (status !== 202) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(202);
    expect((await post('/kbr/orders', 'gone')).status).toBe(404);
  });

  it('exits 0 on SIGTERM', async () => {
    app.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    expect(app.output()).toContain('SIGTERM received');
  });
});
