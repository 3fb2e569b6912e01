import Ajv, { type ValidateFunction } from 'ajv';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { METRIC_LIST } from '@eventing/observability';
import { alertRules } from './alerts';
import { DASHBOARDS } from './dashboards';
import { OUTPUT_DIR, renderAll } from './generate';
import { dashboardJson } from './render';
import { dashboardQueries } from './spec';

const ROOT = join(__dirname, '../../..');
/** Grafana's schemas: the workspace's shared copy beside the checkout, or where GRAFANA_SCHEMAS says. */
const SCHEMAS = process.env['GRAFANA_SCHEMAS'] ?? join(ROOT, '../shared/schemas/grafana');

/** Grafana's JSON schemas (grafana-foundation-sdk v0.0.18, copied to ../shared/schemas/grafana). */
function schemaValidators(): { dashboard: ValidateFunction; part(ref: string): ValidateFunction } {
  if (!existsSync(join(SCHEMAS, 'dashboard.jsonschema.json')))
    throw new Error(
      `Grafana's JSON schemas are not at ${SCHEMAS}: check out the repository beside the shared folder (../shared/schemas/grafana) or set GRAFANA_SCHEMAS to a folder holding dashboard.jsonschema.json`,
    );
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('date-time', true);
  // The schemas of what the dashboards use (heatmap's has an enum with a duplicate item, which Ajv refuses).
  for (const name of ['dashboard', 'timeseries', 'stat', 'prometheus'])
    ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, `${name}.jsonschema.json`), 'utf8')), name);
  return { dashboard: ajv.getSchema('dashboard')!, part: (ref) => ajv.compile({ $ref: ref }) };
}

/** Metric names a PromQL expression reads: identifiers before `{`, `[` or `)`, grouping clauses left out. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const m of bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=[{[)])/g)) names.add(m[1]!);
  return [...names];
}

/** A series name is ours when the catalogue has it (histogram series with their suffixes), or the process's. */
function known(name: string): boolean {
  if (/^(process|nodejs)_/.test(name) || name === 'up') return true;
  return METRIC_LIST.some(
    (m) =>
      m.name === name ||
      (m.type === 'histogram' && [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`].includes(name)),
  );
}

describe('dashboards', () => {
  it('the committed files under charts/eventing/dashboards are what the generator writes', () => {
    // The generator runs as `nx run dashboards:generate` runs it (Prettier cannot run inside Jest).
    const fresh = mkdtempSync(join(tmpdir(), 'dashboards-fresh-'));
    try {
      execFileSync(process.execPath, [join(ROOT, 'tools/dashboards/run.mjs'), '--out', fresh], {
        stdio: 'pipe',
      });
      const dir = join(ROOT, ...OUTPUT_DIR);
      const list = (d: string) =>
        ['grafana', 'configmaps', 'alerts'].flatMap((sub) =>
          existsSync(join(d, sub)) ? readdirSync(join(d, sub)).map((f) => `${sub}/${f}`) : [],
        );
      const expected = list(fresh);
      expect(expected.sort()).toEqual([...renderAll().keys()].sort());
      const stale = [
        ...expected.filter(
          (f) =>
            !existsSync(join(dir, f)) ||
            readFileSync(join(dir, f), 'utf8') !== readFileSync(join(fresh, f), 'utf8'),
        ),
        ...list(dir).filter((f) => !expected.includes(f)),
      ];
      if (stale.length > 0)
        throw new Error(
          `charts/eventing/dashboards is stale: run npx nx run dashboards:generate (differs: ${stale.join(', ')})`,
        );
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it("validate against Grafana's dashboard, panel and Prometheus query schemas", () => {
    const v = schemaValidators();
    const errors: string[] = [];
    const check = (what: string, validate: ValidateFunction, value: unknown) => {
      if (!validate(value))
        errors.push(`${what}: ${v.dashboard.errors ? '' : ''}${JSON.stringify(validate.errors)}`);
    };
    const options = {
      timeseries: v.part('timeseries#/definitions/Options'),
      stat: v.part('stat#/definitions/Options'),
    };
    const custom = { timeseries: v.part('timeseries#/definitions/FieldConfig') };
    const query = v.part('prometheus');
    for (const d of DASHBOARDS) {
      const json = dashboardJson(d);
      check(d.uid, v.dashboard, json);
      for (const p of json['panels'] as {
        type: string;
        title: string;
        options?: unknown;
        fieldConfig?: { defaults: { custom?: unknown } };
        targets?: unknown[];
      }[]) {
        if (p.type === 'row') continue;
        const type = p.type as 'timeseries' | 'stat';
        check(`${d.uid} "${p.title}" options`, options[type], p.options);
        if (type === 'timeseries')
          check(
            `${d.uid} "${p.title}" fieldConfig.custom`,
            custom.timeseries,
            p.fieldConfig?.defaults.custom,
          );
        for (const t of p.targets ?? []) check(`${d.uid} "${p.title}" target`, query, t);
      }
    }
    expect(errors).toEqual([]);
  });

  it('the schema check catches a broken dashboard (it is not vacuous)', () => {
    const v = schemaValidators();
    const json = dashboardJson(DASHBOARDS[0]!);
    expect(v.dashboard({ ...json, refresh: 30 })).toBe(false);
    expect(v.dashboard({ ...json, unknownField: true })).toBe(false);
    const { templating: _dropped, ...withoutTemplating } = json;
    expect(v.dashboard(withoutTemplating)).toBe(false);
  });

  it('every panel and alert reads only metrics the project exposes', () => {
    const unknown: string[] = [];
    for (const d of DASHBOARDS)
      for (const { panel, query } of dashboardQueries(d))
        for (const name of metricNames(query.expr))
          if (!known(name)) unknown.push(`${d.uid} "${panel.title}": ${name}`);
    for (const a of alertRules())
      for (const name of metricNames(a.expr)) if (!known(name)) unknown.push(`${a.alert}: ${name}`);
    expect(unknown).toEqual([]);
  });

  it('uids, panel titles and alert names are unique, and the ConfigMaps carry the sidecar label', () => {
    const files = renderAll();
    expect(new Set(DASHBOARDS.map((d) => d.uid)).size).toBe(DASHBOARDS.length);
    for (const d of DASHBOARDS) {
      const titles = d.rows.flatMap((r) => r.panels.map((p) => p.title));
      expect(new Set(titles).size).toBe(titles.length);
      const cm = parse(files.get(`configmaps/${d.uid}.yaml`)!) as {
        metadata: { labels: Record<string, string> };
        data: Record<string, string>;
      };
      expect(cm.metadata.labels['grafana_dashboard']).toBe('1');
      expect(JSON.parse(cm.data[`${d.uid}.json`]!)).toEqual(dashboardJson(d));
    }
    const names = alertRules().map((a) => a.alert);
    expect(new Set(names).size).toBe(names.length);
  });

  it('docs/observability.md names every metric, dashboard, panel and alert', () => {
    const doc = readFileSync(join(ROOT, 'docs/observability.md'), 'utf8');
    const missing = [
      ...METRIC_LIST.map((m) => m.name),
      ...DASHBOARDS.flatMap((d) => [d.title, ...d.rows.flatMap((r) => r.panels.map((p) => p.title))]),
      ...alertRules().map((a) => a.alert),
    ].filter((name) => !doc.includes(name));
    expect(missing).toEqual([]);
  });
});
