import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSubscriber, eventually, type TestSubscriber } from '@eventing/testing';
import { runStandalone } from './main';
import { optionsFrom } from './options';

// One resource never takes the process down; addresses never shadow each other; statuses report what
// was checked; deleting a trigger never freezes later edits. Real process-level server, real subscribers.

const options = (configDir: string) =>
  optionsFrom(['--config', configDir, '--port', '0', '--max-body-bytes', '65536', '--log-format', 'json']);

const ce = (id: string, type = 'com.example.test') => ({
  'ce-specversion': '1.0',
  'ce-id': id,
  'ce-source': '/hardening',
  'ce-type': type,
  'content-type': 'application/json',
});

const broker = (namespace: string, name = 'default', extra = '') => `---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${name}, namespace: ${namespace} }
${extra}`;
const trigger = (namespace: string, name: string, broker: string, uri: string, extra = '') => `---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  broker: ${broker}
  subscriber: { uri: "${uri}" }
${extra}`;

/** Every namespace that looks like a reserved path segment, each with a broker and a channel. */
const RESERVED = ['channels', 'metrics', 'healthz', 'readyz', 'sinks', 'default'];

describe('standalone hardening', () => {
  let dir: string;
  let lines: string[];
  let sink: TestSubscriber;
  let hung: TestSubscriber;
  let app: Awaited<ReturnType<typeof runStandalone>>;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    dir = mkdtempSync(join(tmpdir(), 'hardening-'));
    sink = await startSubscriber();
    hung = await startSubscriber(() => ({ status: 202, delayMs: 120_000 }));
    let yaml = '';
    for (const ns of RESERVED) {
      yaml += broker(ns) + trigger(ns, 'all', 'default', `${sink.url}/${ns}`);
      yaml += `---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: { name: default, namespace: ${ns} }
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: { name: to-sink, namespace: ${ns} }
spec:
  channel: { apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: default }
  subscriber: { uri: "${sink.url}/channel-${ns}" }
`;
    }
    writeFileSync(join(dir, 'reserved.yaml'), yaml);
    // 1: an invalid schedule combination is refused as spec.schedule; the rest of the folder runs.
    writeFileSync(
      join(dir, 'ping.yaml'),
      `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: paris-tokyo, namespace: default }
spec:
  schedule: "CRON_TZ=Europe/Paris * * * * *"
  timezone: Asia/Tokyo
  sink: { uri: "${sink.url}/ping" }
`,
    );
    // 7: comment-only (null) delivery and config, as upstream's own docs write them.
    writeFileSync(
      join(dir, 'nulls.yaml'),
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: nulls
  namespace: default
  labels:
spec:
  config:
    # the default config
  delivery:
    # no delivery settings
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: nulls, namespace: default }
spec:
  broker: nulls
  filter:
  delivery: null
  subscriber: { uri: "${sink.url}/nulls" }
status:
  conditions: "not validated on create"
`,
    );
    // 6: a class and a channel kind this process does not serve.
    writeFileSync(
      join(dir, 'unsupported.yaml'),
      broker(
        'default',
        'kafka',
        `metadata:\n  annotations: { eventing.knative.dev/broker.class: Kafka }\n`,
      ).replace(
        /metadata: \{ name: kafka, namespace: default \}\nmetadata:\n/,
        'metadata:\n  name: kafka\n  namespace: default\n',
      ) +
        `---
apiVersion: messaging.knative.dev/v1
kind: Channel
metadata: { name: durable, namespace: default }
spec:
  channelTemplate: { apiVersion: messaging.knative.dev/v1beta1, kind: KafkaChannel }
`,
    );
    lines = [];
    app = await runStandalone(options(dir), (l) => lines.push(l));
  });

  afterAll(async () => {
    await app?.service.close();
    await Promise.all([sink, hung].map((s) => s?.close()));
    rmSync(dir, { recursive: true, force: true });
    process.off('unhandledRejection', onUnhandled);
  });

  it('1: an invalid PingSource schedule is reported with its field path and the rest keeps running', async () => {
    expect(lines.find((l) => l.includes('ping.yaml'))).toMatch(
      /ping\.yaml: PingSource default\/paris-tokyo: spec\.schedule: /,
    );
    expect(
      (await fetch(`${app.service.url}/default/default`, { method: 'POST', headers: ce('p1') })).status,
    ).toBe(202);
    // On a live edit the same resource is reported again, and nothing rejects unhandled.
    writeFileSync(
      join(dir, 'ping.yaml'),
      `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: paris-tokyo, namespace: default }
spec:
  schedule: "CRON_TZ=Europe/Paris */5 * * * *"
  timezone: Asia/Tokyo
  sink: { uri: "${sink.url}/ping" }
`,
    );
    await eventually(
      () => lines.filter((l) => l.includes('ping.yaml')).length >= 2,
      5_000,
      'the edit reported',
    );
    expect(unhandled).toEqual([]);
    expect((await fetch(`${app.service.url}/healthz`)).status).toBe(200);
  });

  it('2: brokers and channels in namespaces named like reserved segments are served at the URL they print', async () => {
    for (const ns of RESERVED) {
      const brokerLine = lines.find((l) => l.startsWith(`✓  Broker ${ns}/default Ready`));
      const channelLine = lines.find((l) => l.startsWith(`✓  InMemoryChannel ${ns}/default Ready`));
      expect(brokerLine).toBeDefined();
      expect(channelLine).toBeDefined();
      const brokerUrl = brokerLine!.split(/\s+/).pop()!;
      const channelUrl = channelLine!.split(/\s+/).pop()!;
      expect(brokerUrl).toBe(`${app.service.url}/${ns}/default`);
      expect(channelUrl).not.toBe(brokerUrl);
      expect((await fetch(brokerUrl, { method: 'POST', headers: ce(`b-${ns}`) })).status).toBe(202);
      expect((await fetch(channelUrl, { method: 'POST', headers: ce(`c-${ns}`) })).status).toBe(202);
    }
    await eventually(
      () => RESERVED.every((ns) => sink.requests.some((r) => r.headers['ce-id'] === `c-${ns}`)),
      5_000,
      'every channel event delivered',
    );
    for (const ns of RESERVED) {
      const viaBroker = sink.requests.find((r) => r.headers['ce-id'] === `b-${ns}`);
      expect(viaBroker?.url).toBe(`/${ns}`);
      const viaChannel = sink.requests.find((r) => r.headers['ce-id'] === `c-${ns}`);
      expect(viaChannel?.url).toBe(`/channel-${ns}`);
    }
    // The admin endpoints are still themselves.
    expect(await (await fetch(`${app.service.url}/metrics`)).text()).toMatch(/mt_broker_ingress_event_count/);
    expect((await fetch(`${app.service.url}/readyz`)).status).toBe(200);
  });

  it('7: comment-only and null fields are dropped, status on create is ignored, and the resources are Ready', async () => {
    expect(lines).toContain(`✓  Broker default/nulls Ready  ${app.service.url}/default/nulls`);
    expect(lines.some((l) => l.startsWith('✓  Trigger default/nulls Ready'))).toBe(true);
    expect(
      (await fetch(`${app.service.url}/default/nulls`, { method: 'POST', headers: ce('n1') })).status,
    ).toBe(202);
    await eventually(() => sink.requests.find((r) => r.url === '/nulls'), 5_000, 'the event via nulls');
  });

  it('6: a broker class and a channel kind this process does not serve are not Ready and say which', async () => {
    const kafka = lines.find((l) => l.includes('Broker default/kafka'));
    expect(kafka).toMatch(/Ready=False \(BrokerClassNotSupported\): broker class "Kafka" is not served here/);
    expect(
      (await fetch(`${app.service.url}/default/kafka`, { method: 'POST', headers: ce('k1') })).status,
    ).toBe(404);
    const durable = lines.find((l) => l.includes('Channel default/durable'));
    expect(durable).toMatch(/Ready=False \(ChannelKindNotSupported\): .*KafkaChannel is not served here/);
  });

  it('4: deleting a trigger whose subscriber never answers counts its events and does not freeze later edits', async () => {
    writeFileSync(join(dir, 'hung.yaml'), trigger('default', 'hung', 'default', hung.url));
    await eventually(
      () => lines.some((l) => l.startsWith('✓  Trigger default/hung Ready')),
      5_000,
      'hung Ready',
    );
    for (let i = 0; i < 5; i++)
      expect(
        (await fetch(`${app.service.url}/default/default`, { method: 'POST', headers: ce(`h${i}`) })).status,
      ).toBe(202);
    await hung.waitFor(5);
    unlinkSync(join(dir, 'hung.yaml'));
    await eventually(() => lines.includes('-  Trigger default/hung removed'), 5_000, 'hung removed');
    // A later edit applies at once although the deleted trigger's deliveries never answered.
    writeFileSync(join(dir, 'later.yaml'), trigger('default', 'later', 'default', `${sink.url}/later`));
    await eventually(
      () => lines.some((l) => l.startsWith('✓  Trigger default/later Ready')),
      5_000,
      'later Ready',
    );
    const metrics = await (await fetch(`${app.service.url}/metrics`)).text();
    expect(metrics).toMatch(
      /eventing_events_discarded_total\{namespace="default",kind="Trigger",name="hung",reason="trigger_deleted"\} 5\n/,
    );
  });

  it('5: label values from clients are bounded: random types fold past the cap, unknown paths never become labels', async () => {
    const url = `${app.service.url}/default/default`;
    for (let i = 0; i < 300; i++) {
      expect((await fetch(url, { method: 'POST', headers: ce(`t${i}`, `random.type.${i}`) })).status).toBe(
        202,
      );
      // An unknown broker, with a valid event (404) and with a broken one (400).
      await fetch(`${app.service.url}/ns${i}/nobody${i}`, { method: 'POST', headers: ce(`u${i}`) });
      await fetch(`${app.service.url}/ns${i}/nobody${i}`, {
        method: 'POST',
        headers: { 'ce-specversion': '1.0' },
      });
    }
    const metrics = await (await fetch(`${app.service.url}/metrics`)).text();
    const types = new Set(
      [
        ...metrics.matchAll(
          /^mt_broker_ingress_event_count\{[^}]*namespace_name="default"[^}]*event_type="([^"]*)"/gm,
        ),
      ].map((m) => m[1]),
    );
    expect(types.size).toBeLessThanOrEqual(101);
    expect(types.has('other')).toBe(true);
    expect(metrics).not.toMatch(/nobody\d/);
    expect(metrics).toMatch(
      /eventing_metric_label_overflow_total\{metric="mt_broker_ingress_event_count"\} [1-9]/,
    );
  });
});
