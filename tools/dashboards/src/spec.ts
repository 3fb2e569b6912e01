// What a dashboard and an alert are, as plain data: the dashboards, the rule files, the docs test and
// the real-Prometheus test all read these, so what is drawn, what alerts and what is checked cannot
// drift apart.

/** One PromQL query of a panel. */
export interface QuerySpec {
  expr: string;
  /** Grafana's legend format (`{{label}}`). */
  legend?: string;
}

/** One panel. */
export interface PanelSpec {
  title: string;
  /** Shown as the panel's tooltip; also listed in docs/observability.md. */
  description: string;
  kind: 'timeseries' | 'stat';
  /** Grafana unit id: `ops`, `reqps`, `short`, `s`, `bytes`, `percentunit`, `none`. */
  unit: string;
  queries: QuerySpec[];
  /**
   * A panel every install draws data for as soon as events flow (standalone included): the
   * real-Prometheus test requires it to return data. Others may stay empty until their component runs
   * (controller, sources) or their traffic happens (discards, held events).
   */
  main?: boolean;
  /** Width in Grafana's 24-column grid (default: 8 for a stat, 12 for a time series). */
  width?: number;
  /** Stack the series (time series only). */
  stacked?: boolean;
}

/** A row of panels under a title. */
export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

/** One dashboard. */
export interface DashboardSpec {
  /** Grafana uid, also the file name: `<uid>.json`. */
  uid: string;
  title: string;
  description: string;
  rows: RowSpec[];
}

/** One alerting rule. */
export interface AlertSpec {
  alert: string;
  expr: string;
  /** How long the condition must hold before the alert fires. */
  for: string;
  severity: 'warning' | 'critical';
  summary: string;
  /** What the alert means (annotation `description`). */
  description: string;
  /** What to do when it fires (annotation `runbook`, and docs/observability.md). */
  action: string;
}

/** Knobs of the alert expressions; tests shorten the windows and durations. */
export interface AlertSettings {
  /** Range of rate() and deriv() windows (default `5m`). */
  window: string;
  /** Maps each rule's production `for` to the one used (default: unchanged). */
  for: (production: string) => string;
  /** Pending deliveries or backlog above which growth alerts (default 1000). */
  backlogThreshold: number;
  /** Share of ingress requests answered 5xx that alerts (default 0.05). */
  ingress5xxRatio: number;
  /** Regular expression of the scrape jobs of this project's services (default: their names). */
  jobs: string;
}

export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  window: '5m',
  for: (production) => production,
  backlogThreshold: 1000,
  ingress5xxRatio: 0.05,
  jobs: '.*(eventing|broker-ingress|broker-filter|dispatcher|receiver|controller|webhook).*',
};

/** Every PromQL expression of a dashboard, with the panel it belongs to. */
export function dashboardQueries(d: DashboardSpec): { panel: PanelSpec; query: QuerySpec }[] {
  return d.rows.flatMap((r) => r.panels.flatMap((panel) => panel.queries.map((query) => ({ panel, query }))));
}
