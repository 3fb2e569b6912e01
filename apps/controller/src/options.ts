import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { StoreKind } from '@eventing/contract';

/** Everything the controller is told, from flags or the environment (flags win). */
export interface ControllerSettings {
  /** Path of a kubeconfig; empty: in-cluster service account, as kubectl. */
  kubeconfig: string;
  /** Where the controller's ConfigMaps, Lease and contract live. */
  systemNamespace: string;
  /** Stores the installed data plane serves. */
  stores: StoreKind[];
  brokerIngressUrl: string;
  brokerFilterUrl: string;
  kafkaBrokerUrl: string;
  imcUrl: string;
  kafkaChannelUrl: string;
  natsChannelUrl: string;
  /**
   * `host:port` of Kafka brokers; given, the controller creates and deletes the topics of
   * KafkaChannels and Kafka-class Brokers (empty: the data plane creates them).
   */
  kafkaBootstrap: string[];
  /** NATS server URLs; given, the controller creates and deletes NatsJetStreamChannels' streams. */
  natsUrls: string[];
  clusterDomain: string;
  leaderElection: boolean;
  leaseName: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  identity: string;
  /** Port of /healthz, /readyz and /metrics. */
  port: number;
  workers: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

interface Flag {
  name: string;
  env: string;
  help: string;
  default: (s: Partial<ControllerSettings>) => string;
}

const FLAGS: Flag[] = [
  {
    name: 'kubeconfig',
    env: 'KUBECONFIG',
    help: 'kubeconfig file; empty: the in-cluster service account',
    default: () => '',
  },
  {
    name: 'namespace',
    env: 'SYSTEM_NAMESPACE',
    help: 'system namespace (ConfigMaps, Lease, contract)',
    default: () => 'knative-eventing',
  },
  {
    name: 'stores',
    env: 'STORES',
    help: 'stores the data plane serves: memory, kafka, jetstream (comma-separated)',
    default: () => 'memory',
  },
  {
    name: 'cluster-domain',
    env: 'CLUSTER_DOMAIN',
    help: 'cluster DNS domain of Service addresses',
    default: () => 'cluster.local',
  },
  {
    name: 'broker-ingress-url',
    env: 'BROKER_INGRESS_URL',
    help: 'base URL of broker-ingress',
    default: (s) => svc('broker-ingress', s),
  },
  {
    name: 'broker-filter-url',
    env: 'BROKER_FILTER_URL',
    help: 'base URL of broker-filter',
    default: (s) => svc('broker-filter', s),
  },
  {
    name: 'kafka-broker-url',
    env: 'KAFKA_BROKER_URL',
    help: 'base URL of the Kafka broker receiver',
    default: (s) => svc('kafka-broker-ingress', s),
  },
  {
    name: 'imc-url',
    env: 'IMC_URL',
    help: 'base URL of imc-dispatcher',
    default: (s) => svc('imc-dispatcher', s),
  },
  {
    name: 'kafka-channel-url',
    env: 'KAFKA_CHANNEL_URL',
    help: 'base URL of kafka-channel-dispatcher',
    default: (s) => svc('kafka-channel-ingress', s),
  },
  {
    name: 'nats-channel-url',
    env: 'NATS_CHANNEL_URL',
    help: 'base URL of nats-channel-dispatcher',
    default: (s) => svc('nats-channel-dispatcher', s),
  },
  {
    name: 'kafka-bootstrap',
    env: 'KAFKA_BOOTSTRAP_SERVERS',
    help: 'Kafka brokers (host:port, comma-separated): create and delete topics',
    default: () => '',
  },
  {
    name: 'nats-url',
    env: 'NATS_URL',
    help: 'NATS servers (comma-separated): create and delete streams',
    default: () => '',
  },
  {
    name: 'leader-election',
    env: 'LEADER_ELECTION',
    help: 'elect a leader among replicas (true|false)',
    default: () => 'true',
  },
  {
    name: 'lease-name',
    env: 'LEASE_NAME',
    help: 'name of the Lease replicas elect a leader on',
    default: () => 'eventing-controller',
  },
  {
    name: 'lease-duration',
    env: 'LEASE_DURATION_MS',
    help: 'ms a lease lasts without renewal',
    default: () => '15000',
  },
  {
    name: 'renew-deadline',
    env: 'RENEW_DEADLINE_MS',
    help: 'ms the leader tries to renew before giving up',
    default: () => '10000',
  },
  {
    name: 'retry-period',
    env: 'RETRY_PERIOD_MS',
    help: 'ms between attempts to acquire or renew',
    default: () => '2000',
  },
  {
    name: 'identity',
    env: 'POD_NAME',
    help: 'this replica in the Lease (a random suffix is added)',
    default: () => hostname(),
  },
  {
    name: 'port',
    env: 'PORT',
    help: 'port of /healthz, /readyz and /metrics (0: any free port)',
    default: () => '8080',
  },
  { name: 'workers', env: 'WORKERS', help: 'resources reconciled at once', default: () => '4' },
  { name: 'log-level', env: 'LOG_LEVEL', help: 'debug | info | warn | error', default: () => 'info' },
];

function svc(name: string, s: Partial<ControllerSettings>): string {
  return `http://${name}.${s.systemNamespace ?? 'knative-eventing'}.svc.${s.clusterDomain ?? 'cluster.local'}`;
}

/** A flag or environment value that cannot be used; the message says which and what is allowed. */
export class SettingsError extends Error {}

export const USAGE = [
  'Usage: eventing-controller [flags]',
  '',
  'Reconciles Knative Eventing resources on a Kubernetes API server and writes the data-plane',
  'contract into ConfigMaps of the system namespace. Runs in a cluster with its service account,',
  'or outside one with a kubeconfig, as kubectl does.',
  '',
  'Flags (each also read from the environment variable shown):',
  ...FLAGS.map((f) => `  --${f.name.padEnd(20)} ${f.env.padEnd(20)} ${f.help}`),
  '  --help                                    print this and exit',
].join('\n');

/** Reads settings from argv (`--flag value` or `--flag=value`) over the environment. */
export function readSettings(argv: readonly string[], env: NodeJS.ProcessEnv): ControllerSettings | 'help' {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return 'help';
    if (!arg.startsWith('--'))
      throw new SettingsError(`unexpected argument '${arg}': flags start with -- (see --help)`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (!FLAGS.some((f) => f.name === name)) throw new SettingsError(`unknown flag --${name} (see --help)`);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new SettingsError(`--${name} needs a value`);
    given.set(name, value);
  }
  const partial: Partial<ControllerSettings> = {};
  const raw = (name: string): string => {
    const flag = FLAGS.find((f) => f.name === name) as Flag;
    return given.get(name) ?? env[flag.env] ?? flag.default(partial);
  };
  const int = (name: string, min: number): number => {
    const v = Number(raw(name));
    if (!Number.isSafeInteger(v) || v < min)
      throw new SettingsError(`--${name} must be an integer ≥ ${min}, got '${raw(name)}'`);
    return v;
  };
  partial.systemNamespace = raw('namespace');
  partial.clusterDomain = raw('cluster-domain');
  const stores = raw('stores')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of stores)
    if (!['memory', 'kafka', 'jetstream'].includes(s))
      throw new SettingsError(`--stores: '${s}' is not a store (memory, kafka, jetstream)`);
  const logLevel = raw('log-level');
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel))
    throw new SettingsError(`--log-level must be debug, info, warn or error, got '${logLevel}'`);
  const leader = raw('leader-election');
  if (leader !== 'true' && leader !== 'false')
    throw new SettingsError(`--leader-election must be true or false, got '${leader}'`);
  return {
    kubeconfig: raw('kubeconfig'),
    systemNamespace: partial.systemNamespace,
    stores: stores as StoreKind[],
    clusterDomain: partial.clusterDomain,
    brokerIngressUrl: trimSlash(raw('broker-ingress-url')),
    brokerFilterUrl: trimSlash(raw('broker-filter-url')),
    kafkaBrokerUrl: trimSlash(raw('kafka-broker-url')),
    imcUrl: trimSlash(raw('imc-url')),
    kafkaChannelUrl: trimSlash(raw('kafka-channel-url')),
    natsChannelUrl: trimSlash(raw('nats-channel-url')),
    kafkaBootstrap: list(raw('kafka-bootstrap')),
    natsUrls: list(raw('nats-url')),
    leaderElection: leader === 'true',
    leaseName: raw('lease-name'),
    leaseDurationMs: int('lease-duration', 1),
    renewDeadlineMs: int('renew-deadline', 1),
    retryPeriodMs: int('retry-period', 1),
    identity: `${raw('identity')}_${randomBytes(4).toString('hex')}`,
    port: int('port', 0),
    workers: int('workers', 1),
    logLevel: logLevel as ControllerSettings['logLevel'],
  };
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
