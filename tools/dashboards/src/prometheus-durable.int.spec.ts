import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildApps,
  spawnStandalone,
  startPrometheus,
  withKafka,
  withNats,
  type AppProcess,
  type PrometheusServer,
} from '@eventing/testing';
import { alertRules } from './alerts';
import { DASHBOARDS } from './dashboards';
import { ruleFileText } from './render';
import { dashboardQueries, type AlertSettings } from './spec';

// The backlog panels and the growing-backlog alert for consumers on durable stores: standalone on a
// real Kafka and nats-server, scraped by a real Prometheus, with a Trigger of a Kafka-class broker,
// a Trigger of a broker on NatsJetStreamChannel and Subscriptions of a KafkaChannel and a
// NatsJetStreamChannel whose subscriber never answers.

const TEST_ALERTS: Partial<AlertSettings> = {
  window: '20s',
  for: () => '1s',
  backlogThreshold: 5,
  jobs: 'eventing-.*',
};
const VARIABLES: [RegExp, string][] = [
  [/\$__rate_interval/g, '20s'],
  [/\$namespace/g, '.*'],
  [/\$job/g, '.*'],
];
/** A namespace of this run only: the stores outlive it (topics, consumer groups, streams). */
const NS = `backlog-${Date.now().toString(36)}`;
const STUCK = [
  { kind: 'Trigger', name: 'kafka-class-stuck', via: `/${NS}/kafka-class` },
  { kind: 'Trigger', name: 'on-jetstream-stuck', via: `/${NS}/on-jetstream` },
  { kind: 'Subscription', name: 'orders-stuck', via: `/_channels/${NS}/orders` },
  { kind: 'Subscription', name: 'payments-stuck', via: `/_channels/${NS}/payments` },
];

function resources(hung: string): string {
  return [
    `apiVersion: v1
kind: ConfigMap
metadata: { name: jetstream-channel, namespace: ${NS} }
data:
  channel-template-spec: |
    apiVersion: messaging.knative.dev/v1alpha1
    kind: NatsJetStreamChannel`,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: kafka-class
  namespace: ${NS}
  annotations: { eventing.knative.dev/broker.class: Kafka }`,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: on-jetstream, namespace: ${NS} }
spec:
  config: { apiVersion: v1, kind: ConfigMap, name: jetstream-channel, namespace: ${NS} }`,
    `apiVersion: messaging.knative.dev/v1beta1
kind: KafkaChannel
metadata: { name: orders, namespace: ${NS} }
spec: { numPartitions: 2, replicationFactor: 1 }`,
    `apiVersion: messaging.knative.dev/v1alpha1
kind: NatsJetStreamChannel
metadata: { name: payments, namespace: ${NS} }`,
    ...['kafka-class', 'on-jetstream'].map(
      (broker) => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${broker}-stuck, namespace: ${NS} }
spec:
  broker: ${broker}
  subscriber: { uri: "${hung}" }`,
    ),
    ...[
      ['orders', 'KafkaChannel'],
      ['payments', 'NatsJetStreamChannel'],
    ].map(
      ([channel, kind]) => `apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: { name: ${channel}-stuck, namespace: ${NS} }
spec:
  channel: { apiVersion: messaging.knative.dev/v1, kind: ${kind}, name: ${channel} }
  subscriber: { uri: "${hung}" }`,
    ),
  ].join('\n---\n');
}

/** Starts standalone as deployed and resolves once it serves. */
function startStandalone(args: string[]): Promise<AppProcess> {
  return spawnStandalone(
    [...['--no-watch', '--log-format', 'json', '--log-level', 'error'], ...['--max-in-flight', '5', ...args]],
    {},
    60_000,
  );
}

let sent = 0;
async function send(url: string): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': `d-${++sent}`,
      'ce-source': '/dashboards-durable-test',
      'ce-type': 'com.example.backlog',
      'content-type': 'application/json',
    },
    body: '{}',
  }).catch(() => undefined);
  await res?.arrayBuffer();
}

describe('backlog panels and alert on durable stores, on a real Prometheus', () => {
  const kafka = withKafka();
  const nats = withNats();
  const dir = mkdtempSync(join(tmpdir(), 'dashboards-durable-'));
  let prometheus: PrometheusServer;
  let standalone: AppProcess;
  let hung: Server;
  let traffic: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    buildApps('standalone');
    // A subscriber that never answers: every delivery to it stays in flight.
    hung = createServer((req) => req.resume());
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', () => r()));
    const hungUrl = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/`;
    writeFileSync(join(dir, 'resources.yaml'), resources(hungUrl));
    standalone = await startStandalone([
      ...['--config', dir, '--kafka-bootstrap', kafka.bootstrap, '--nats-url', nats.url],
    ]);
    const rules = join(dir, 'rules.yml');
    writeFileSync(rules, ruleFileText(alertRules(TEST_ALERTS)));
    prometheus = await startPrometheus({
      scrapeTargets: [{ url: standalone.url, job: 'eventing-standalone' }],
      ruleFiles: [rules],
    });
    // Two events a second for each stuck consumer: their backlogs grow for as long as the test runs.
    traffic = setInterval(() => {
      for (const s of STUCK) void send(`${standalone.url}${s.via}`);
    }, 500);
  }, 600_000);

  afterAll(async () => {
    if (traffic) clearInterval(traffic);
    standalone?.kill('SIGKILL');
    await prometheus?.stop();
    hung?.closeAllConnections();
    hung?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  const substitute = (expr: string) => VARIABLES.reduce((e, [re, value]) => e.replace(re, value), expr);

  it('the backlog panels show every stuck Trigger and Subscription, growing past what is in flight', async () => {
    const panels = DASHBOARDS.flatMap((d) =>
      dashboardQueries(d).filter((q) => q.query.expr.includes('eventing_consumer_backlog')),
    ).map((q) => substitute(q.query.expr));
    expect(panels.length).toBeGreaterThan(0);
    const waiting = new Set(STUCK.map((s) => s.name));
    const until = Date.now() + 120_000;
    while (waiting.size > 0 && Date.now() < until) {
      for (const expr of panels)
        for (const sample of await prometheus.vector(expr))
          // Beyond the 5 deliveries each may have in flight: the rest waits in the store.
          if (sample.metric['namespace'] === NS && sample.value > 10) waiting.delete(sample.metric['name']!);
      if (waiting.size > 0) await new Promise((r) => setTimeout(r, 1_000));
    }
    expect([...waiting]).toEqual([]);
  }, 180_000);

  it('EventingBacklogGrowing fires for stuck consumers on durable stores', async () => {
    const fired = new Set<string>();
    const until = Date.now() + 120_000;
    while (fired.size < STUCK.length && Date.now() < until) {
      for (const a of await prometheus.alerts())
        if (
          a.state === 'firing' &&
          a.labels['alertname'] === 'EventingBacklogGrowing' &&
          a.labels['namespace'] === NS &&
          STUCK.some((s) => s.kind === a.labels['kind'] && s.name === a.labels['name'])
        )
          fired.add(a.labels['name']!);
      if (fired.size < STUCK.length) await new Promise((r) => setTimeout(r, 1_000));
    }
    expect([...fired].sort()).toEqual(STUCK.map((s) => s.name).sort());
  }, 180_000);
});
