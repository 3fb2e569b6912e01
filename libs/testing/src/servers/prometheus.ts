import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { freePorts, startInstalled, makeServerDir, removeServerDir, ServerProcess } from './process';

// A real Prometheus server on loopback, scraping the targets a test names and evaluating its rule
// files, installed by tools/test-servers/prometheus on first use (Debian's package unpacked into the
// user cache, or built from the Go module proxy).

/** A scrape target: `http://127.0.0.1:8080` (path /metrics) or with its path, and an optional job name. */
export type ScrapeTarget = string | { url: string; job?: string };

/** One series of an instant query result. */
export interface PromSample {
  metric: Record<string, string>;
  /** The sample value (NaN and ±Inf parsed as numbers). */
  value: number;
}

/** What Prometheus' query API answered. */
export type PromQueryResult =
  | { resultType: 'vector'; result: PromSample[] }
  | { resultType: 'scalar'; result: PromSample[] }
  | { resultType: 'matrix'; result: { metric: Record<string, string>; values: [number, string][] }[] };

/** An alert as `/api/v1/alerts` lists it. */
export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

/** A PromQL expression Prometheus refused (its error type and message as the API gave them). */
export class PromQueryError extends Error {
  constructor(
    readonly expr: string,
    readonly errorType: string,
    readonly detail: string,
  ) {
    super(`${errorType}: ${detail} (in ${expr})`);
    this.name = 'PromQueryError';
  }
}

/** A running Prometheus started by startPrometheus. */
export interface PrometheusServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The version line of `prometheus --version`, e.g. `2.42.0+ds`. */
  readonly version: string;
  /** The server's temp folder: prometheus.yml, the rule files' copies, data/ and prometheus.log. */
  readonly dir: string;
  /** Evaluates an instant query now (or at `time`, seconds since the epoch); rejects with PromQueryError. */
  query(expr: string, time?: number): Promise<PromQueryResult>;
  /** The series of an instant vector query (a scalar is one series without labels). */
  vector(expr: string): Promise<PromSample[]>;
  /** Polls `expr` until it returns at least one series (and `accept` agrees); rejects after `timeoutMs`. */
  waitFor(
    expr: string,
    timeoutMs?: number,
    accept?: (samples: PromSample[]) => boolean,
  ): Promise<PromSample[]>;
  /** Alerts pending or firing now. */
  alerts(): Promise<PromAlert[]>;
  /** Polls until an alert named `name` fires; resolves with it. */
  waitForAlert(name: string, timeoutMs?: number): Promise<PromAlert>;
  /** The rule groups as `/api/v1/rules` lists them (health and lastError per rule). */
  rules(): Promise<
    { name: string; rules: { name: string; health: string; lastError?: string; query: string }[] }[]
  >;
  /** Runs promtool (beside the prometheus binary) with `args`; resolves with its output and exit code. */
  promtool(args: string[]): Promise<{ code: number; output: string }>;
  /** Stops the server (SIGTERM) and removes its folder. */
  stop(): Promise<void>;
  /** The last `lines` lines of the server's log. */
  logTail(lines?: number): string;
}

/** Options of startPrometheus. */
export interface PrometheusOptions {
  /** What to scrape, every `scrapeIntervalMs`. */
  scrapeTargets: readonly ScrapeTarget[];
  /** Rule files (Prometheus' `groups:` format) to evaluate every `evaluationIntervalMs`. */
  ruleFiles?: readonly string[];
  /** Default 1000 ms. */
  scrapeIntervalMs?: number;
  /** Default 1000 ms. */
  evaluationIntervalMs?: number;
  /** How long one start may take once installed. Default 30 s. */
  readyTimeoutMs?: number;
}

/** Turns a target URL into Prometheus' static target (host:port) and metrics path. */
function parseTarget(target: ScrapeTarget, index: number): { job: string; host: string; path: string } {
  const { url, job } = typeof target === 'string' ? { url: target, job: undefined } : target;
  const parsed = new URL(url.includes('://') ? url : `http://${url}`);
  if (parsed.protocol !== 'http:')
    throw new Error(`scrape target ${url}: only http targets are supported (got ${parsed.protocol})`);
  return {
    job: job ?? `target-${index}`,
    host: parsed.host,
    path: parsed.pathname === '/' ? '/metrics' : parsed.pathname,
  };
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  return (await res.json()) as T;
}

function sampleValue(v: [number, string]): number {
  return Number(v[1]);
}

/**
 * Starts Prometheus on a free loopback port in a new temp folder (installing it on first use: seconds
 * from the Debian package, minutes when built from Go) and resolves once `/-/ready` answers. The first
 * scrape lands a few seconds after start: use `waitFor`, never a fixed sleep. Stop it with `stop()`;
 * if a test forgets, it dies with the test process.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  return startInstalled('prometheus', (binary) => startOnce(binary, options));
}

async function startOnce(binary: string, options: PrometheusOptions): Promise<PrometheusServer> {
  const dir = makeServerDir('prometheus-');
  const files = { dir, log: join(dir, 'prometheus.log') };
  try {
    const [port] = (await freePorts(1)) as [number];
    const rules = (options.ruleFiles ?? []).map((file, i) => {
      const copy = join(dir, `rules-${i}.yml`);
      writeFileSync(copy, readFileSync(file));
      return copy;
    });
    const jobs = new Map<string, { path: string; hosts: string[] }>();
    options.scrapeTargets.forEach((t, i) => {
      const { job, host, path } = parseTarget(t, i);
      const entry = jobs.get(job) ?? { path, hosts: [] };
      entry.hosts.push(host);
      jobs.set(job, entry);
    });
    const seconds = (ms: number | undefined) => `${(ms ?? 1000) / 1000}s`;
    // JSON is YAML: Prometheus reads this file as it is.
    const config = {
      global: {
        scrape_interval: seconds(options.scrapeIntervalMs),
        scrape_timeout: seconds(Math.min(options.scrapeIntervalMs ?? 1000, 10_000)),
        evaluation_interval: seconds(options.evaluationIntervalMs),
      },
      rule_files: rules,
      scrape_configs: [...jobs].map(([job, { path, hosts }]) => ({
        job_name: job,
        metrics_path: path,
        static_configs: [{ targets: hosts }],
      })),
    };
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const url = `http://127.0.0.1:${port}`;
    const proc = new ServerProcess(
      'prometheus',
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      files,
    );
    await proc.waitReady(
      () =>
        fetch(`${url}/-/ready`).then(
          (r) => r.ok,
          () => false,
        ),
      options.readyTimeoutMs ?? 30_000,
    );
    const version = await promtoolOrServer(binary, ['--version']).then(
      ({ output }) => /version (\S+)/.exec(output)?.[1] ?? 'unknown',
    );

    const query = async (expr: string, time?: number): Promise<PromQueryResult> => {
      const params = new URLSearchParams({ query: expr });
      if (time !== undefined) params.set('time', String(time));
      const body = await getJson<{
        status: string;
        data?: { resultType: string; result: unknown };
        errorType?: string;
        error?: string;
      }>(`${url}/api/v1/query?${params}`);
      if (body.status !== 'success' || body.data === undefined)
        throw new PromQueryError(expr, body.errorType ?? 'error', body.error ?? JSON.stringify(body));
      const { resultType, result } = body.data;
      if (resultType === 'scalar')
        return { resultType, result: [{ metric: {}, value: sampleValue(result as [number, string]) }] };
      if (resultType === 'vector')
        return {
          resultType,
          result: (result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({
            metric: s.metric,
            value: sampleValue(s.value),
          })),
        };
      return { resultType: 'matrix', result: result as never };
    };
    const vector = async (expr: string): Promise<PromSample[]> => {
      const r = await query(expr);
      if (r.resultType === 'matrix')
        throw new PromQueryError(expr, 'bad_data', 'a range vector, not an instant one');
      return r.result;
    };
    const poll = async <T>(
      what: string,
      timeoutMs: number,
      attempt: () => Promise<T | undefined>,
    ): Promise<T> => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = await attempt();
        if (found !== undefined) return found;
        if (Date.now() > until)
          throw new Error(`prometheus: ${what} within ${timeoutMs} ms\n${proc.logTail(20)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const alerts = async () =>
      (await getJson<{ data: { alerts: PromAlert[] } }>(`${url}/api/v1/alerts`)).data.alerts;

    return {
      url,
      port,
      version,
      dir,
      query,
      vector,
      waitFor: (expr, timeoutMs = 30_000, accept = () => true) =>
        poll(`no data for ${expr}`, timeoutMs, async () => {
          const samples = await vector(expr);
          return samples.length > 0 && accept(samples) ? samples : undefined;
        }),
      alerts,
      waitForAlert: (name, timeoutMs = 60_000) =>
        poll(`alert ${name} did not fire`, timeoutMs, async () =>
          (await alerts()).find((a) => a.labels['alertname'] === name && a.state === 'firing'),
        ),
      rules: async () =>
        (
          await getJson<{ data: { groups: Awaited<ReturnType<PrometheusServer['rules']>> } }>(
            `${url}/api/v1/rules`,
          )
        ).data.groups,
      promtool: (args) => promtoolOrServer(join(dirname(binary), 'promtool'), args),
      stop: async () => {
        await proc.stop();
        removeServerDir(dir);
      },
      logTail: (lines) => proc.logTail(lines),
    };
  } catch (err) {
    removeServerDir(dir);
    throw err;
  }
}

/** Runs a short-lived Prometheus tool; resolves with its combined output and exit code. */
function promtoolOrServer(binary: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, output }));
  });
}
