import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildApps,
  spawnApp,
  spawnStandalone,
  startPrometheus,
  writeContract,
  type AppProcess,
  type PrometheusServer,
} from '@eventing/testing';
import { alertRules } from './alerts';
import { DASHBOARDS } from './dashboards';
import { OUTPUT_DIR } from './generate';
import { ruleFileText } from './render';
import { dashboardQueries, type AlertSettings } from './spec';

// Real traffic through standalone (and an imc-dispatcher process), scraped by a real Prometheus:
// every dashboard query and alert expression evaluates, the main panels return data, and the alerts
// fire when provoked — a dead subscriber (dead letters, dropped and held events), a subscriber that
// never answers (a growing backlog, then a full queue and 503s at ingress), a contract that does not
// parse, a stopped dispatcher, and a KafkaChannel whose Kafka is unreachable (its reconciles fail). Alert windows and `for:` are shortened; the production rules are
// checked with promtool.

const ROOT = join(__dirname, '../../..');
const TEST_ALERTS: Partial<AlertSettings> = {
  window: '20s',
  for: () => '1s',
  backlogThreshold: 5,
  ingress5xxRatio: 0.01,
  jobs: 'eventing-.*',
};
/** What Grafana substitutes for the dashboard variables. */
const VARIABLES: [RegExp, string][] = [
  [/\$__rate_interval/g, '20s'],
  [/\$namespace/g, '.*'],
  [/\$job/g, '.*'],
];

interface Subscriber {
  url: string;
  received: number;
  server: Server;
}

/** A subscriber answering 202 (or never, when `hang`). */
async function subscriber(hang = false): Promise<Subscriber> {
  const s = { url: '', received: 0, server: undefined as unknown as Server };
  s.server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    s.received++;
    if (!hang) res.writeHead(202).end();
  });
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', () => r()));
  s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}/`;
  return s;
}

function resources(ok: string, hung: string, dead: string, dls: string): string {
  const trigger = (name: string, type: string, subscriber: string, delivery?: string) => `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${name}, namespace: default }
spec:
  broker: default
  filter: { attributes: { type: ${type} } }
  subscriber: { uri: "${subscriber}" }
${delivery ? `  delivery:\n${delivery}` : ''}`;
  const retry = (deadLetter?: string) =>
    `    retry: 1\n    backoffPolicy: linear\n    backoffDelay: PT0.05S\n${deadLetter ? `    deadLetterSink: { uri: "${deadLetter}" }\n` : ''}`;
  return [
    `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: { name: default, namespace: default }`,
    trigger('orders', 'order', ok),
    trigger('dead-lettered', 'die', dead, retry(dls)),
    trigger('dropped', 'drop', dead, retry()),
    trigger('held', 'hold', dead, retry(dead)),
    trigger('hung', 'hang', hung),
    `apiVersion: messaging.knative.dev/v1\nkind: InMemoryChannel\nmetadata: { name: ch, namespace: default }`,
    `apiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata: { name: sub, namespace: default }\nspec:\n  channel: { apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: ch }\n  subscriber: { uri: "${ok}" }`,
    `apiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata: { name: sub-dead, namespace: default }\nspec:\n  channel: { apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: ch }\n  subscriber: { uri: "${dead}" }\n  delivery:\n${retry(dls)}`,
    // Standalone's Kafka is unreachable: creating this channel's topic fails, and so its reconciles.
    `apiVersion: messaging.knative.dev/v1beta1\nkind: KafkaChannel\nmetadata: { name: unreachable, namespace: default }\nspec: { numPartitions: 1, replicationFactor: 1 }`,
  ].join('\n---\n');
}

/** Starts standalone as deployed and resolves once it serves. */
function startStandalone(dir: string, args: string[]): Promise<AppProcess> {
  return spawnStandalone([
    ...['--config', dir, '--no-watch', '--log-format', 'json', '--log-level', 'error'],
    ...['--queue-capacity', '40', '--max-in-flight', '5', ...args],
  ]);
}

let sent = 0;
/** POSTs one binary-mode CloudEvent; resolves with the status. */
async function send(url: string, type: string): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': `e-${++sent}`,
      'ce-source': '/dashboards-test',
      'ce-type': type,
      'content-type': 'application/json',
    },
    body: '{}',
  }).catch(() => undefined);
  await res?.arrayBuffer();
  return res?.status ?? 0;
}

describe('dashboards and alerts on a real Prometheus with real traffic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dashboards-int-'));
  let prometheus: PrometheusServer;
  let standalone: AppProcess;
  let dispatcher: AppProcess;
  let contractPath: string;
  const subscribers: Subscriber[] = [];
  let traffic: NodeJS.Timeout | undefined;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    buildApps('standalone', 'imc-dispatcher');
    const [ok, hung, dls] = [await subscriber(), await subscriber(true), await subscriber()];
    subscribers.push(ok, hung, dls);
    // A port nothing listens on: every delivery to it is refused.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const closed = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const dead = `http://127.0.0.1:${closed}/`;
    const config = join(dir, 'config');
    rmSync(config, { recursive: true, force: true });
    mkdirSync(config);
    writeFileSync(join(config, 'resources.yaml'), resources(ok.url, hung.url, dead, dls.url));
    standalone = await startStandalone(config, ['--kafka-bootstrap', `127.0.0.1:${closed}`]);
    contractPath = join(dir, 'contract.json');
    writeContract(contractPath, { generation: 1 });
    dispatcher = await spawnApp('imc-dispatcher', { CONTRACT_PATH: contractPath, LOG_LEVEL: 'error' });
    const rules = join(dir, 'rules.yml');
    writeFileSync(rules, ruleFileText(alertRules(TEST_ALERTS)));
    prometheus = await startPrometheus({
      scrapeTargets: [
        { url: standalone.url, job: 'eventing-standalone' },
        { url: dispatcher.url, job: 'eventing-imc-dispatcher' },
      ],
      ruleFiles: [rules],
    });
    // Steady traffic: orders to a live subscriber and a channel, events for the dead subscriber (with
    // and without a dead-letter sink, and with a dead one), events nobody wants, and two a second for
    // the subscriber that never answers, whose queue grows and then fills (503).
    let tick = 0;
    traffic = setInterval(() => {
      tick++;
      const broker = `${standalone.url}/default/default`;
      const types = ['order', 'order', 'order', 'die', 'drop', 'nobody.wants.this'];
      if (tick % 10 === 0) types.push('hold');
      if (tick % 5 === 0) types.push('hang');
      for (const type of types)
        void send(broker, type).then((s) => statuses.set(s, (statuses.get(s) ?? 0) + 1));
      void send(`${standalone.url}/_channels/default/ch`, 'order');
    }, 100);
  }, 600_000);

  afterAll(async () => {
    if (traffic) clearInterval(traffic);
    standalone?.kill('SIGKILL');
    dispatcher?.kill('SIGKILL');
    await prometheus?.stop();
    for (const s of subscribers) {
      s.server.closeAllConnections();
      s.server.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  const substitute = (expr: string) => VARIABLES.reduce((e, [re, value]) => e.replace(re, value), expr);

  it('every panel query of every dashboard evaluates, and the main panels return data', async () => {
    await prometheus.waitFor('eventing_events_accepted_total', 30_000);
    const pending = new Map<string, string>();
    for (const d of DASHBOARDS)
      for (const { panel, query } of dashboardQueries(d)) {
        const expr = substitute(query.expr);
        await prometheus.query(expr); // rejects with Prometheus' error if it does not evaluate
        if (panel.main) pending.set(`${d.uid} "${panel.title}": ${expr}`, expr);
      }
    const until = Date.now() + 90_000;
    while (pending.size > 0 && Date.now() < until) {
      for (const [key, expr] of pending) if ((await prometheus.vector(expr)).length > 0) pending.delete(key);
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 1_000));
    }
    expect([...pending.keys()]).toEqual([]);
  }, 180_000);

  it('the latency panels (histogram quantiles) return data: ingress and deliveries are timed', async () => {
    const pending = new Map<string, string>();
    for (const d of DASHBOARDS)
      for (const { panel, query } of dashboardQueries(d))
        if (query.expr.includes('histogram_quantile') && !/source|reconcile|apply/i.test(query.expr))
          pending.set(`${d.uid} "${panel.title}"`, substitute(query.expr));
    expect(pending.size).toBeGreaterThan(0);
    const until = Date.now() + 90_000;
    while (pending.size > 0 && Date.now() < until) {
      for (const [key, expr] of pending) {
        const samples = await prometheus.vector(expr);
        if (samples.some((v) => Number.isFinite(v.value))) pending.delete(key);
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 1_000));
    }
    expect([...pending.keys()]).toEqual([]);
  }, 180_000);

  it('every alert expression evaluates, and the rules load healthy', async () => {
    for (const a of alertRules(TEST_ALERTS)) await prometheus.query(a.expr);
    const groups = await prometheus.rules();
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name).sort()).toEqual(
      alertRules()
        .map((a) => a.alert)
        .sort(),
    );
    expect(rules.filter((r) => r.health === 'err')).toEqual([]);
  });

  /** Polls the alerts until each of `names` was seen firing; resolves with the labels each fired with. */
  async function firing(names: string[], timeoutMs: number): Promise<Record<string, Record<string, string>>> {
    const seen: Record<string, Record<string, string>> = {};
    const until = Date.now() + timeoutMs;
    while (names.some((n) => !(n in seen)) && Date.now() < until) {
      for (const a of await prometheus.alerts())
        if (a.state === 'firing' && names.includes(a.labels['alertname']!))
          seen[a.labels['alertname']!] ??= a.labels;
      await new Promise((r) => setTimeout(r, 250));
    }
    return seen;
  }

  it('the alerts fire when provoked', async () => {
    const traffic = await firing(
      [
        'EventingDeadLettersRising',
        'EventingEventsDropped',
        'EventingDeliveriesHeld',
        'EventingBacklogGrowing',
        'EventingIngress5xx',
        'EventingReconcileErrors',
      ],
      120_000,
    );
    expect(Object.keys(traffic).sort()).toEqual([
      'EventingBacklogGrowing',
      'EventingDeadLettersRising',
      'EventingDeliveriesHeld',
      'EventingEventsDropped',
      'EventingIngress5xx',
      'EventingReconcileErrors',
    ]);
    expect(traffic['EventingDeadLettersRising']).toMatchObject({
      kind: expect.stringMatching(/Trigger|Subscription/),
    });
    expect(traffic['EventingEventsDropped']).toMatchObject({
      kind: 'Trigger',
      name: 'dropped',
      severity: 'critical',
    });
    expect(traffic['EventingDeliveriesHeld']).toMatchObject({ kind: 'Trigger', name: 'held' });
    // The broker's pending deliveries and the backlog of its slow triggers (held, hung) all grow:
    // whichever fires first names a Broker or a Trigger of this test.
    expect(traffic['EventingBacklogGrowing']).toMatchObject({
      kind: expect.stringMatching(/^(Broker|Trigger)$/),
      name: expect.stringMatching(/^(default|held|hung)$/),
    });
    expect(traffic['EventingIngress5xx']).toMatchObject({
      broker_name: 'default',
      namespace_name: 'default',
    });
    expect(statuses.get(503)).toBeGreaterThan(0);
    // Standalone runs the controller: its reconciles of the KafkaChannel fail for as long as Kafka is
    // unreachable (standalone's /metrics has the controller's metrics too).
    expect(traffic['EventingReconcileErrors']).toMatchObject({ kind: 'KafkaChannel', severity: 'warning' });
    const errors = await prometheus.vector(
      'eventing_controller_reconciles_total{job="eventing-standalone",kind="KafkaChannel",outcome="error"}',
    );
    expect(errors.map((e) => e.value)).toEqual([expect.any(Number)]);
    expect(errors[0]!.value).toBeGreaterThan(1);

    // A contract that does not parse: the dispatcher keeps the last good one and counts the failure.
    writeFileSync(`${contractPath}.tmp`, '{ this is not json');
    renameSync(`${contractPath}.tmp`, contractPath);
    const contract = await firing(['EventingContractApplyFailures'], 60_000);
    expect(contract['EventingContractApplyFailures']).toMatchObject({ reason: 'contract_rejected' });

    // A stopped dispatcher.
    dispatcher.kill('SIGKILL');
    const down = await firing(['EventingTargetDown'], 60_000);
    expect(down['EventingTargetDown']).toMatchObject({ job: 'eventing-imc-dispatcher' });
  }, 300_000);

  /** The annotations Prometheus renders for an alert, given its labels and its value as the templates print it. */
  function annotations(name: string, labels: Record<string, string>, value = '') {
    const spec = alertRules().find((a) => a.alert === name)!;
    const render = (t: string) =>
      t
        .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l] ?? '')
        .replace(/\{\{ \$value[^}]*\}\}/g, value);
    return { summary: render(spec.summary), description: render(spec.description), runbook: spec.action };
  }

  it('promtool accepts the generated rule file and its production windows behave as documented', async () => {
    const production = join(ROOT, ...OUTPUT_DIR, 'alerts', 'rules.yml');
    expect(await prometheus.promtool(['check', 'rules', production])).toMatchObject({ code: 0 });
    const tests = join(dir, 'rules.test.yml');
    writeFileSync(
      tests,
      JSON.stringify({
        rule_files: [production],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [
              {
                series:
                  'eventing_delivery_outcomes_total{namespace="ns",kind="Trigger",name="t",outcome="dead_lettered"}',
                values: '0+6x30',
              },
              { series: 'up{job="eventing-imc-dispatcher",instance="a"}', values: '1 1 0x10' },
              {
                series:
                  'mt_broker_ingress_event_count{namespace_name="ns",broker_name="b",response_code="202",response_code_class="2xx"}',
                values: '0+60x30',
              },
              {
                series:
                  'mt_broker_ingress_event_count{namespace_name="ns",broker_name="b",response_code="503",response_code_class="5xx"}',
                values: '0+30x30',
              },
            ],
            alert_rule_test: [
              // Dead letters must go on for 10 minutes before the alert fires.
              { eval_time: '8m', alertname: 'EventingDeadLettersRising', exp_alerts: [] },
              {
                eval_time: '20m',
                alertname: 'EventingDeadLettersRising',
                exp_alerts: [
                  {
                    exp_labels: { severity: 'warning', namespace: 'ns', kind: 'Trigger', name: 't' },
                    exp_annotations: annotations(
                      'EventingDeadLettersRising',
                      { namespace: 'ns', kind: 'Trigger', name: 't' },
                      '100m',
                    ),
                  },
                ],
              },
              { eval_time: '4m', alertname: 'EventingTargetDown', exp_alerts: [] },
              {
                eval_time: '9m',
                alertname: 'EventingTargetDown',
                exp_alerts: [
                  {
                    exp_labels: { severity: 'critical', job: 'eventing-imc-dispatcher', instance: 'a' },
                    exp_annotations: annotations('EventingTargetDown', {
                      job: 'eventing-imc-dispatcher',
                      instance: 'a',
                    }),
                  },
                ],
              },
              {
                eval_time: '20m',
                alertname: 'EventingIngress5xx',
                exp_alerts: [
                  {
                    exp_labels: { severity: 'critical', namespace_name: 'ns', broker_name: 'b' },
                    exp_annotations: annotations(
                      'EventingIngress5xx',
                      { namespace_name: 'ns', broker_name: 'b' },
                      '33.33%',
                    ),
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const run = await prometheus.promtool(['test', 'rules', tests]);
    expect({ code: run.code, output: run.code === 0 ? '' : run.output }).toEqual({ code: 0, output: '' });
  });
});
