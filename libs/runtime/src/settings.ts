import { ConfigError } from './env';
import type { LogLevel } from './logger';

// A service's settings as one table of data: environment variable, default, what it means. The
// service reads its environment through the table, its README prints the table, and a Helm chart can
// render the same rows as values and env entries.

interface Row<K extends string> {
  /** The property of the settings object. */
  readonly key: K;
  /** The environment variable. */
  readonly env: string;
  /** What it does, for a README or a chart (Markdown). */
  readonly description: string;
}

/** A whole number within `[min, max]`. */
export interface IntSetting<K extends string = string> extends Row<K> {
  readonly kind: 'int';
  readonly default: number;
  readonly min: number;
  readonly max?: number;
}

/** Free text; with `pattern`, a value must match it (`expected` says what, in errors). */
export interface TextSetting<K extends string = string> extends Row<K> {
  readonly kind: 'text';
  readonly default: string;
  readonly pattern?: string;
  readonly expected?: string;
}

/** A comma-separated list, required: there is no default. */
export interface ListSetting<K extends string = string> extends Row<K> {
  readonly kind: 'list';
  readonly default?: undefined;
}

/** `debug`, `info`, `warn` or `error`. */
export interface LogLevelSetting<K extends string = string> extends Row<K> {
  readonly kind: 'log-level';
  readonly default: LogLevel;
}

export type Setting<K extends string = string> =
  IntSetting<K> | TextSetting<K> | ListSetting<K> | LogLevelSetting<K>;

type ValueOf<S> = S extends { kind: 'int' }
  ? number
  : S extends { kind: 'list' }
    ? string[]
    : S extends { kind: 'log-level' }
      ? LogLevel
      : string;

/** The settings object a table reads into: one property per row, typed by its kind. */
export type SettingsOf<T extends readonly Setting[]> = { [S in T[number] as S['key']]: ValueOf<S> };

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** A whole-number row (`min` default 0). */
export function intSetting<K extends string>(
  key: K,
  env: string,
  defaultValue: number,
  description: string,
  range: { min?: number; max?: number } = {},
): IntSetting<K> {
  return { key, env, kind: 'int', default: defaultValue, min: range.min ?? 0, max: range.max, description };
}

/** A text row, optionally checked against `pattern`. */
export function textSetting<K extends string>(
  key: K,
  env: string,
  defaultValue: string,
  description: string,
  check: { pattern: string; expected: string } | Record<string, never> = {},
): TextSetting<K> {
  return { key, env, kind: 'text', default: defaultValue, description, ...check };
}

/** A required comma-separated list row. */
export function listSetting<K extends string>(key: K, env: string, description: string): ListSetting<K> {
  return { key, env, kind: 'list', description };
}

/** A log-level row. */
export function logLevelSetting<K extends string>(
  key: K,
  env: string,
  defaultValue: LogLevel,
  description: string,
): LogLevelSetting<K> {
  return { key, env, kind: 'log-level', default: defaultValue, description };
}

/** The same row with another default or description (a service's own wording). */
export function withSetting<S extends Setting>(
  row: S,
  change: Partial<Pick<S, 'default' | 'description'>>,
): S {
  return { ...row, ...change };
}

/**
 * Reads a table's settings from the environment: an unset or empty variable takes its default. Throws
 * one ConfigError naming every variable that is wrong or missing, and what it expects.
 */
export function readSettings<const T extends readonly Setting[]>(
  table: T,
  env: NodeJS.ProcessEnv,
): SettingsOf<T> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const row of table) {
    const raw = env[row.env];
    const unset = raw === undefined || raw === '';
    switch (row.kind) {
      case 'int': {
        if (unset) {
          out[row.key] = row.default;
          break;
        }
        const max = row.max ?? Number.MAX_SAFE_INTEGER;
        const n = Number(raw);
        if (!/^\d+$/.test(raw) || n < row.min || n > max)
          problems.push(`${row.env}=${raw}: expected an integer from ${row.min} to ${max}`);
        else out[row.key] = n;
        break;
      }
      case 'text': {
        const value = unset ? row.default : raw;
        if (row.pattern !== undefined && !new RegExp(row.pattern).test(value))
          problems.push(`${row.env}=${value}: expected ${row.expected ?? `a match of /${row.pattern}/`}`);
        else out[row.key] = value;
        break;
      }
      case 'list': {
        const items = (raw ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        if (items.length === 0) problems.push(`${row.env} is required: ${row.description.replace(/`/g, '')}`);
        else out[row.key] = items;
        break;
      }
      case 'log-level': {
        const level = (unset ? row.default : raw) as LogLevel;
        if (!LOG_LEVELS.includes(level))
          problems.push(`${row.env}=${level}: expected ${LOG_LEVELS.join(', ')}`);
        else out[row.key] = level;
        break;
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return out as SettingsOf<T>;
}

/** The table as Markdown (`| variable | default | meaning |`), as service READMEs print it. */
export function settingsMarkdown(table: readonly Setting[]): string {
  const rows = table.map((row) => {
    const shown = row.kind === 'list' ? 'required' : `\`${String(row.default)}\``;
    return `| \`${row.env}\` | ${shown} | ${row.description} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The rows every contract-driven data-plane service has. */
export const SERVICE_SETTINGS = [
  intSetting('port', 'PORT', 8080, 'HTTP port', { max: 65535 }),
  textSetting(
    'contractPath',
    'CONTRACT_PATH',
    '/etc/eventing/contract/contract.json',
    'the mounted contract file',
  ),
] as const;

/**
 * Eventing frames, both ways: `DELIVERY_FRAMES` for the events this service sends to our services
 * that offer frames, `ACCEPT_FRAMES` for the events it receives.
 */
export const DELIVERY_FRAMES_SETTING = textSetting(
  'deliveryFrames',
  'DELIVERY_FRAMES',
  'on',
  '`on`: events to our own services that offer eventing frames go over a few multiplexed connections per address instead of one HTTP request each; `off`: always HTTP',
  { pattern: '^(on|off)$', expected: 'on or off' },
);

/** See {@link FRAMES_SETTINGS}. */
export const ACCEPT_FRAMES_SETTING = textSetting(
  'acceptFrames',
  'ACCEPT_FRAMES',
  'on',
  '`on`: also take events over eventing frames (HTTP/1.1 Upgrade on the same port; answers carry `eventing-frames: 1`); `off`: HTTP only',
  { pattern: '^(on|off)$', expected: 'on or off' },
);

/** Both rows, for a service that receives events and sends them on. */
export const FRAMES_SETTINGS = [DELIVERY_FRAMES_SETTING, ACCEPT_FRAMES_SETTING] as const;

/** The log level row. */
export const LOG_LEVEL_SETTING = logLevelSetting(
  'logLevel',
  'LOG_LEVEL',
  'info',
  '`debug`, `info`, `warn`, `error`; logs are JSON lines on stderr',
);

/**
 * Tracing rows every service reads (the OpenTelemetry variable names; the SDK reads none itself).
 * With no endpoint, no span is made and `traceparent`/`tracestate` pass through untouched.
 */
export const TRACING_SETTINGS = [
  textSetting(
    'otlpEndpoint',
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    '',
    'OTLP/HTTP base URL spans are exported to (`<url>/v1/traces`, JSON); empty: tracing off',
    { pattern: '^(https?://.+)?$', expected: 'an http:// or https:// URL, or nothing' },
  ),
  textSetting(
    'otelServiceName',
    'OTEL_SERVICE_NAME',
    '',
    "`service.name` of the spans; empty: the service's name",
  ),
  textSetting(
    'traceSampleRatio',
    'OTEL_TRACES_SAMPLER_ARG',
    '1',
    'share of new traces sampled (0 to 1); an event whose traceparent is sampled is always traced',
    { pattern: '^(0(\\.[0-9]+)?|1(\\.0+)?|\\.[0-9]+)$', expected: 'a number from 0 to 1' },
  ),
  intSetting(
    'traceExportDelayMs',
    'OTEL_BSP_SCHEDULE_DELAY',
    5000,
    'how often buffered spans are exported (ms)',
    { min: 1 },
  ),
] as const;
