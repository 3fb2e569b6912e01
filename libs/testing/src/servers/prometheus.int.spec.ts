import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PromQueryError, startPrometheus, type PrometheusServer } from './prometheus';

// The Prometheus harness against a real server: scrape a small exposition, query it, fire an alert
// from a rule file, refuse a broken query, and run promtool.

const START_TIMEOUT = 600_000; // includes a first install (seconds from Debian, minutes from Go)

describe('Prometheus harness', () => {
  let prometheus: PrometheusServer;
  let target: Server;
  let requests = 0;
  let failures = 0;
  const dir = mkdtempSync(join(tmpdir(), 'prom-harness-'));
  const rules = join(dir, 'rules.yml');
  const bad = join(dir, 'bad.yml');

  beforeAll(async () => {
    target = createServer((req, res) => {
      requests++;
      failures += 3;
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(
        [
          '# TYPE harness_requests_total counter',
          `harness_requests_total{path="/metrics"} ${requests}`,
          '# TYPE harness_failures_total counter',
          `harness_failures_total ${failures}`,
          '',
        ].join('\n'),
      );
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
    writeFileSync(
      rules,
      [
        'groups:',
        '  - name: harness',
        '    rules:',
        '      - alert: FailuresRising',
        '        expr: rate(harness_failures_total[5s]) > 0',
        '        for: 1s',
        '        labels: { severity: warning }',
        '        annotations: { summary: "failures are rising" }',
        '',
      ].join('\n'),
    );
    writeFileSync(
      bad,
      'groups:\n  - name: bad\n    rules:\n      - alert: Broken\n        expr: rate(x[1m]\n',
    );
    prometheus = await startPrometheus({
      scrapeTargets: [{ url: `http://127.0.0.1:${(target.address() as AddressInfo).port}`, job: 'harness' }],
      ruleFiles: [rules],
    });
  }, START_TIMEOUT);

  afterAll(async () => {
    await prometheus?.stop();
    target?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('scrapes the target and answers queries on it', async () => {
    const [sample] = await prometheus.waitFor('harness_requests_total', 30_000);
    expect(sample!.metric).toMatchObject({ job: 'harness', path: '/metrics' });
    expect(sample!.value).toBeGreaterThan(0);
    const up = await prometheus.vector('up{job="harness"}');
    expect(up.map((s) => s.value)).toEqual([1]);
    expect(prometheus.version).toMatch(/^\d+\.\d+/);
  }, 60_000);

  it('fires an alert of its rule files', async () => {
    const alert = await prometheus.waitForAlert('FailuresRising', 60_000);
    expect(alert.labels['severity']).toBe('warning');
    expect(alert.annotations['summary']).toBe('failures are rising');
    const groups = await prometheus.rules();
    expect(groups[0]!.rules[0]).toMatchObject({ name: 'FailuresRising', health: 'ok' });
  }, 90_000);

  it('rejects a query Prometheus cannot parse with its error', async () => {
    const refused = await prometheus.query('rate(harness_requests_total[1m]').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PromQueryError);
    expect((refused as PromQueryError).errorType).toBe('bad_data');
    expect((refused as PromQueryError).detail).toMatch(/unclosed left parenthesis/);
  });

  it('runs promtool: good rules pass, broken ones fail with the reason', async () => {
    expect(await prometheus.promtool(['check', 'rules', rules])).toMatchObject({ code: 0 });
    const broken = await prometheus.promtool(['check', 'rules', bad]);
    expect(broken.code).not.toBe(0);
    expect(broken.output).toMatch(/unclosed left parenthesis/);
  });
});
