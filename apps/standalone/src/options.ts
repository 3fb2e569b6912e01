import { parseArgs } from 'node:util';
import { HEADER_ENCODINGS, type HeaderEncoding } from '@eventing/cloudevents';
import type { TracingOptions } from '@eventing/observability';
import { tracingOptions } from '@eventing/runtime';

/** Command-line settings of the standalone process. */
export interface StandaloneOptions {
  configDir: string;
  port: number;
  host: string;
  /** `<name>.<namespace>` → URL, from --service. */
  services: Map<string, string>;
  maxBodyBytes: number;
  maxTtl: number;
  /** Deliveries in flight at once per trigger or subscription. */
  maxInFlight: number;
  /** Deliveries in flight at once across all triggers and subscriptions. */
  maxInFlightTotal: number;
  /** Undelivered events held per trigger or subscription before ingress answers 503. */
  queueCapacity: number;
  /** Time a client has to send a request's headers (ms); absent means the runtime's 10 s. */
  headersTimeoutMs?: number;
  /** Time a client has to send a whole request, body included (ms); absent means the runtime's 30 s. */
  requestTimeoutMs?: number;
  /** Wait before the first redelivery of a held event (its dead-letter sink failed too); doubles each time. */
  redeliveryDelayMs?: number;
  /** Longest wait between redeliveries of a held event. */
  redeliveryMaxDelayMs?: number;
  logFormat: 'text' | 'json';
  /** Kafka bootstrap servers (`host:port`), for KafkaChannel, Kafka-backed brokers and the Kafka class. */
  kafkaBootstrap?: string[];
  /** NATS server URLs, for NatsJetStreamChannel and JetStream-backed brokers. */
  natsUrl?: string[];
  /** Least severe log level written; absent means info. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** How binary-mode deliveries write `ce-` header values; absent means 'upstream'. */
  headerEncoding?: HeaderEncoding;
  /** ApiServerSources watch this kubeconfig's cluster instead of the folder. */
  kubeconfig?: string;
  /** OTLP/HTTP base URL spans are exported to; '' turns tracing off; absent: OTEL_EXPORTER_OTLP_ENDPOINT. */
  otlpEndpoint?: string;
  watch: boolean;
}

export const USAGE = `Usage: npm start -- [--config DIR] [--port N] [options]

Runs brokers, triggers and sources described by the Knative YAML under DIR in one process.

Options:
  --config DIR            folder of resource YAML (default: examples/quickstart)
  --port N                HTTP port for broker ingress and built-in sinks (default: 8080; 0 picks a free one)
  --host ADDR             address to listen on (default: 127.0.0.1)
  --service NAME.NS=URL   address of a Service referenced by a sink or subscriber (repeatable)
  --max-body-bytes N      largest event accepted at ingress; larger ones get 413 (default: 4194304)
  --max-ttl N             broker hops before an event is dropped as a loop (default: 255)
  --max-in-flight N       deliveries in flight at once per trigger or subscription (default: 100)
  --max-in-flight-total N deliveries in flight at once in the whole process (default: 1000)
  --queue-capacity N      undelivered events held per trigger or subscription; beyond it
                          ingress answers 503 with Retry-After (default: 10000)
  --headers-timeout MS    time a client has to send a request's headers; a slower one is
                          answered 408 and disconnected (default: 10000)
  --request-timeout MS    time a client has to send a whole request, body included; a slower
                          one is answered 408 and disconnected (default: 30000; raise it
                          with --max-body-bytes)
  --redelivery-delay MS   wait before an event whose dead-letter sink also failed is tried
                          again; doubles on each try (default: 1000)
  --redelivery-max-delay MS
                          longest wait between such tries (default: 60000)
  --log-format text|json  log line format (default: text)
  --log-level LEVEL       least severe log lines written: debug, info, warn or error (default: info)
  --kafka-bootstrap HOSTS Kafka bootstrap servers (host:port, comma-separated) for KafkaChannel,
                          brokers on Kafka channels and the Kafka broker class (default: the
                          bootstrap.servers of a kafka-channel-config ConfigMap in the folder)
  --nats-url URLS         NATS servers (nats://host:port, comma-separated) for NatsJetStreamChannel
                          and brokers on it (default: the url of a config-nats ConfigMap in the folder)
  --header-encoding upstream|percent
                          how binary-mode deliveries write ce- header values: upstream writes
                          them as the Go SDK and upstream Knative do (raw UTF-8), percent
                          percent-encodes per the CloudEvents HTTP binding (default: upstream)
  --kubeconfig PATH       ApiServerSources watch the cluster of this kubeconfig instead of the
                          resources of the folder
  --otlp-endpoint URL     export OpenTelemetry spans over OTLP/HTTP to URL/v1/traces; an empty
                          URL turns tracing off (default: OTEL_EXPORTER_OTLP_ENDPOINT, else off;
                          OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER_ARG and OTEL_BSP_SCHEDULE_DELAY
                          are read as by the other services)
  --no-watch              load the folder once; do not apply later edits
  --help                  show this help`;

/** Thrown for bad command-line input; the message says what to change. */
export class UsageError extends Error {}

/** Parses argv into options; throws UsageError with a message naming the flag. */
export function parseOptions(argv: string[]): StandaloneOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: 'string', default: 'examples/quickstart' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      service: { type: 'string', multiple: true, default: [] },
      'max-body-bytes': { type: 'string', default: String(4 * 1024 * 1024) },
      'max-ttl': { type: 'string', default: '255' },
      'max-in-flight': { type: 'string', default: '100' },
      'max-in-flight-total': { type: 'string', default: '1000' },
      'queue-capacity': { type: 'string', default: '10000' },
      'headers-timeout': { type: 'string', default: '10000' },
      'request-timeout': { type: 'string', default: '30000' },
      'redelivery-delay': { type: 'string', default: '1000' },
      'redelivery-max-delay': { type: 'string', default: '60000' },
      'log-format': { type: 'string', default: 'text' },
      'log-level': { type: 'string', default: 'info' },
      'kafka-bootstrap': { type: 'string' },
      'nats-url': { type: 'string' },
      'header-encoding': { type: 'string', default: 'upstream' },
      kubeconfig: { type: 'string' },
      'otlp-endpoint': { type: 'string' },
      'no-watch': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const port = integer('--port', values.port, 0, 65535);
  const headersTimeoutMs = integer('--headers-timeout', values['headers-timeout'], 1, 3_600_000);
  const requestTimeoutMs = integer('--request-timeout', values['request-timeout'], 1, 3_600_000);
  if (headersTimeoutMs > requestTimeoutMs)
    throw new UsageError(
      `--headers-timeout ${headersTimeoutMs}: must not be more than --request-timeout (${requestTimeoutMs}); the headers are part of the request`,
    );
  const services = new Map<string, string>();
  for (const entry of values.service) {
    const eq = entry.indexOf('=');
    const key = eq > 0 ? entry.slice(0, eq) : '';
    const url = eq > 0 ? entry.slice(eq + 1) : '';
    if (
      !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(key) ||
      !/^https?:\/\/./.test(url)
    ) {
      throw new UsageError(`--service ${entry}: expected NAME.NAMESPACE=http://host:port/path`);
    }
    services.set(key, url);
  }
  const logFormat = values['log-format'];
  if (logFormat !== 'text' && logFormat !== 'json')
    throw new UsageError(`--log-format ${logFormat}: expected text or json`);
  const redeliveryDelayMs = integer('--redelivery-delay', values['redelivery-delay'], 0, 3_600_000);
  const redeliveryMaxDelayMs = integer(
    '--redelivery-max-delay',
    values['redelivery-max-delay'],
    0,
    86_400_000,
  );
  if (redeliveryMaxDelayMs < redeliveryDelayMs)
    throw new UsageError(
      `--redelivery-max-delay ${redeliveryMaxDelayMs}: must not be below --redelivery-delay (${redeliveryDelayMs})`,
    );
  const logLevel = values['log-level'];
  if (logLevel !== 'debug' && logLevel !== 'info' && logLevel !== 'warn' && logLevel !== 'error')
    throw new UsageError(`--log-level ${logLevel}: expected debug, info, warn or error`);
  const kafkaBootstrap = hostList(
    '--kafka-bootstrap',
    values['kafka-bootstrap'],
    /^[^\s:/,]+:\d{1,5}$/,
    'host:port',
  );
  const natsUrl = hostList(
    '--nats-url',
    values['nats-url'],
    /^(nats|tls|ws|wss):\/\/[^\s,]+$/,
    'nats://host:port',
  );
  const headerEncoding = values['header-encoding'];
  if (!isHeaderEncoding(headerEncoding))
    throw new UsageError(`--header-encoding ${headerEncoding}: expected upstream or percent`);
  const otlpEndpoint = values['otlp-endpoint'];
  if (otlpEndpoint !== undefined && otlpEndpoint !== '' && !/^https?:\/\/[^\s]+$/.test(otlpEndpoint))
    throw new UsageError(`--otlp-endpoint ${otlpEndpoint}: expected http://host:port or https://host:port`);
  return {
    configDir: values.config,
    port,
    host: values.host,
    services,
    maxBodyBytes: integer('--max-body-bytes', values['max-body-bytes'], 1, 2 ** 31),
    maxTtl: integer('--max-ttl', values['max-ttl'], 1, 10_000),
    maxInFlight: integer('--max-in-flight', values['max-in-flight'], 1, 100_000),
    maxInFlightTotal: integer('--max-in-flight-total', values['max-in-flight-total'], 1, 1_000_000),
    queueCapacity: integer('--queue-capacity', values['queue-capacity'], 1, 10_000_000),
    headersTimeoutMs,
    requestTimeoutMs,
    redeliveryDelayMs,
    redeliveryMaxDelayMs,
    logFormat,
    logLevel,
    headerEncoding,
    ...(kafkaBootstrap ? { kafkaBootstrap } : {}),
    ...(natsUrl ? { natsUrl } : {}),
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(otlpEndpoint !== undefined ? { otlpEndpoint } : {}),
    watch: !values['no-watch'],
  };
}

const isHeaderEncoding = (s: string): s is HeaderEncoding =>
  (HEADER_ENCODINGS as readonly string[]).includes(s);

/** A comma-separated list of addresses, each checked against `pattern`; undefined when not given. */
function hostList(
  flag: string,
  text: string | undefined,
  pattern: RegExp,
  shape: string,
): string[] | undefined {
  if (text === undefined) return undefined;
  const list = text
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  const bad = list.find((h) => !pattern.test(h));
  if (list.length === 0 || bad !== undefined)
    throw new UsageError(
      `${flag} ${text}: expected ${shape}[,${shape}...]${bad ? ` ('${bad}' is not one)` : ''}`,
    );
  return list;
}

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new UsageError(`${flag} ${text}: expected an integer from ${min} to ${max}`);
  return n;
}

/**
 * How standalone traces: the OTEL_* variables every service reads (libs/runtime), with
 * `--otlp-endpoint` in place of OTEL_EXPORTER_OTLP_ENDPOINT when given. Throws a ConfigError naming
 * a variable that is wrong.
 */
export function standaloneTracing(options: StandaloneOptions, env: NodeJS.ProcessEnv): TracingOptions {
  return tracingOptions(
    'standalone',
    options.otlpEndpoint === undefined ? env : { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint },
  );
}

/** The options a command line of only `args` gives, for embedding standalone (tests, tools). */
export function optionsFrom(args: string[]): StandaloneOptions {
  const options = parseOptions(args);
  if (options === 'help') throw new UsageError('--help is not an option set');
  return options;
}
