/** A bad adapter environment variable; the message names the variable and what it expects. */
export class SourceEnvError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'SourceEnvError';
  }
}

/** `ceOverrides` of a source as adapters receive it in `K_CE_OVERRIDES`. */
export interface CeOverrides {
  extensions?: Record<string, string>;
}

/**
 * What every adapter reads from its environment, as upstream's adapters do (CONFORMANCE 4.4:
 * SinkBinding and ContainerSource inject `K_SINK` and `K_CE_OVERRIDES`).
 */
export interface SourceEnv {
  /** `K_SINK`: the absolute http(s) URL events are sent to. */
  sink: string;
  /** `K_CE_OVERRIDES`: extensions set on every event; undefined when unset or empty. */
  ceOverrides: CeOverrides | undefined;
  /** `K_CA_CERTS`: PEM CA certificates to trust for an https sink. */
  caCerts: string | undefined;
  /** `K_SINK_TIMEOUT`: seconds each attempt may take; undefined (no limit of its own) when unset. */
  sinkTimeoutMs: number | undefined;
  /** `NAMESPACE` and `NAME`: the source resource this adapter runs for ('' when unset). */
  namespace: string;
  name: string;
  /** `K_COMPONENT`: the adapter's component name, for logs ('' when unset). */
  component: string;
}

const EXTENSION_NAME = /^[a-z0-9]+$/;
const REQUIRED = new Set(['id', 'source', 'specversion', 'type']);

/**
 * Parses `K_CE_OVERRIDES` (`{"extensions":{"name":"value"}}`); empty text means none. Throws
 * SourceEnvError naming the variable and the offending key.
 */
export function parseCeOverrides(
  text: string | undefined,
  variable = 'K_CE_OVERRIDES',
): CeOverrides | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SourceEnvError(
      variable,
      `not JSON (${(err as Error).message}); expected {"extensions":{"name":"value"}}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SourceEnvError(variable, 'expected a JSON object such as {"extensions":{"name":"value"}}');
  const extensions = (value as { extensions?: unknown }).extensions;
  if (extensions === undefined || extensions === null) return {};
  if (typeof extensions !== 'object' || Array.isArray(extensions))
    throw new SourceEnvError(variable, 'extensions: expected an object of string values');
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(extensions as Record<string, unknown>)) {
    if (!EXTENSION_NAME.test(key))
      throw new SourceEnvError(variable, `extensions.${key}: names are lower-case letters and digits`);
    if (REQUIRED.has(key))
      throw new SourceEnvError(variable, `extensions.${key}: may not override a required attribute`);
    if (typeof v !== 'string')
      throw new SourceEnvError(variable, `extensions.${key}: expected a string value`);
    out[key] = v;
  }
  return { extensions: out };
}

/** Reads the adapter environment; throws SourceEnvError naming the variable that is missing or wrong. */
export function readSourceEnv(env: NodeJS.ProcessEnv): SourceEnv {
  const sink = env['K_SINK'] ?? '';
  if (sink === '') throw new SourceEnvError('K_SINK', 'missing: set it to the URL events are sent to');
  let url: URL;
  try {
    url = new URL(sink);
  } catch {
    throw new SourceEnvError('K_SINK', `${sink}: expected an absolute http or https URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SourceEnvError('K_SINK', `${sink}: expected an absolute http or https URL`);
  const timeout = env['K_SINK_TIMEOUT'];
  let sinkTimeoutMs: number | undefined;
  if (timeout !== undefined && timeout !== '') {
    const seconds = Number(timeout);
    if (!/^\d+$/.test(timeout) || seconds < 0)
      throw new SourceEnvError('K_SINK_TIMEOUT', `${timeout}: expected a whole number of seconds`);
    sinkTimeoutMs = seconds > 0 ? seconds * 1000 : undefined;
  }
  return {
    sink,
    ceOverrides: parseCeOverrides(env['K_CE_OVERRIDES']),
    caCerts: env['K_CA_CERTS'] || undefined,
    sinkTimeoutMs,
    namespace: env['NAMESPACE'] ?? '',
    name: env['NAME'] ?? '',
    component: env['K_COMPONENT'] ?? '',
  };
}
