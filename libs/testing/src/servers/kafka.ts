import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import {
  acceptsTcp,
  freePorts,
  launchServer,
  startInstalled,
  makeServerDir,
  removeServerDir,
  ServerProcess,
  type ServerControls,
} from './process';

// A real single-node Apache Kafka (KRaft, combined broker + controller) on loopback, from the jars
// tools/test-servers/kafka installs from Maven Central on first use (Java 17+ and Maven on PATH).

/** A running Kafka broker started by startKafka. */
export interface KafkaServer extends ServerControls {
  /** `127.0.0.1:<port>`, the PLAINTEXT listener: a client's broker list. */
  readonly bootstrap: string;
  readonly port: number;
  /** The Kafka release, e.g. `4.1.1`. */
  readonly version: string;
  /** The broker's temp folder: server.properties, broker.log and data/. */
  readonly dir: string;
}

/** Options of startKafka. */
export interface KafkaOptions {
  /** How long one start may take once installed (JVM start, log recovery, metadata). Default 60 s. */
  readyTimeoutMs?: number;
  /** Broker heap in MiB. Default 512. */
  heapMb?: number;
  /** Extra `key=value` lines for server.properties. */
  properties?: Record<string, string | number | boolean>;
}

const execFileAsync = promisify(execFile);

function javaBinary(): string {
  const home = process.env['JAVA_HOME'];
  return home ? join(home, 'bin', 'java') : 'java';
}

function serverProperties(
  port: number,
  controllerPort: number,
  dataDir: string,
  extra: KafkaOptions['properties'],
) {
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': dataDir,
    'num.partitions': 1,
    'default.replication.factor': 1,
    // One partition for the internal topics: the first consumer group does not create 50.
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // No 3 s delay before the first group rebalance; fewer threads on small CI machines.
    'group.initial.rebalance.delay.ms': 0,
    'num.network.threads': 2,
    'num.io.threads': 2,
    'num.recovery.threads.per.data.dir': 1,
    // After a crash the restarted controller still holds the old broker's registration and refuses the
    // new one until that session expires (default 9 s); a shorter session makes crash tests quicker.
    'broker.heartbeat.interval.ms': 500,
    'broker.session.timeout.ms': 3000,
    // Code under test must create its topics.
    'auto.create.topics.enable': false,
    ...extra,
  };
  return Object.entries(props)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}

const LOG4J2 = [
  'appender.console.type=Console',
  'appender.console.name=STDOUT',
  'appender.console.layout.type=PatternLayout',
  'appender.console.layout.pattern=[%d] %p %m (%c)%n',
  'rootLogger.level=info',
  'rootLogger.appenderRef.stdout.ref=STDOUT',
  '',
].join('\n');

/** Resolves true once the broker answers a metadata request listing itself. */
async function answersMetadata(bootstrap: string): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'test-harness',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Starts a single-node Kafka on free loopback ports in a new temp folder (installing the jars on
 * first use, which can take a minute: give the hook a long timeout) and resolves once it answers
 * metadata requests. Stop it with `stop()`; if a test forgets, it dies with the test process.
 */
export async function startKafka(options: KafkaOptions = {}): Promise<KafkaServer> {
  return startInstalled('kafka', (home) => startOnce(home, options));
}

async function startOnce(home: string, options: KafkaOptions): Promise<KafkaServer> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const dir = makeServerDir('kafka-');
  const files = { dir, log: join(dir, 'broker.log') };
  try {
    const [port, controllerPort] = (await freePorts(2)) as [number, number];
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const config = join(dir, 'server.properties');
    writeFileSync(config, serverProperties(port, controllerPort, dataDir, options.properties));
    writeFileSync(join(dir, 'log4j2.properties'), LOG4J2);
    const classpath = ['-cp', `${join(home, 'lib')}/*`];
    const logging = [
      `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`,
      `-Dkafka.logs.dir=${dir}`,
    ];
    const clusterId = newClusterId();
    try {
      await execFileAsync(javaBinary(), [
        '-Xmx256m',
        '-XX:TieredStopAtLevel=1',
        ...logging,
        ...classpath,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        config,
        '-g',
      ]);
    } catch (err) {
      const e = err as { code?: unknown; stdout?: string; stderr?: string; message: string };
      if (e.code === 'ENOENT') throw new Error('kafka: `java` (17+) is not on PATH and JAVA_HOME is not set');
      throw new Error(`kafka: formatting the storage failed: ${e.stdout ?? ''}${e.stderr ?? e.message}`);
    }
    const jvm = [
      `-Xms${Math.min(256, options.heapMb ?? 512)}m`,
      `-Xmx${options.heapMb ?? 512}m`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      ...logging,
      ...classpath,
      'kafka.Kafka',
      config,
    ];
    const bootstrap = `127.0.0.1:${port}`;
    const launch = async () => {
      const proc = new ServerProcess('kafka', javaBinary(), jvm, files);
      await proc.waitReady(
        async () => (await acceptsTcp(port)) && answersMetadata(bootstrap),
        readyTimeoutMs,
      );
      return proc;
    };
    return {
      bootstrap,
      port,
      version: basename(home).replace(/^kafka-/, ''),
      dir,
      ...(await launchServer(launch, dir)),
    };
  } catch (err) {
    removeServerDir(dir);
    throw err;
  }
}

/** The `KNATIVE_TEST_KAFKA_BOOTSTRAP` a Jest globalSetup sets to share one broker with every test file. */
export const SHARED_KAFKA_ENV = 'KNATIVE_TEST_KAFKA_BOOTSTRAP';

/**
 * For a test file, called at describe level: registers beforeAll/afterAll hooks and returns an object
 * whose `bootstrap` is the broker shared by the Jest run (libs/testing/src/servers/jest-global-setup.ts)
 * when there is one, else that of a broker started for this file and stopped after it. A shared broker
 * must not be killed or restarted: crash tests call startKafka() themselves.
 */
export function withKafka(
  options: KafkaOptions = {},
  startTimeoutMs = 300_000,
): { readonly bootstrap: string } {
  let server: KafkaServer | undefined;
  let bootstrap: string | undefined;
  beforeAll(async () => {
    bootstrap = process.env[SHARED_KAFKA_ENV];
    if (bootstrap) return;
    server = await startKafka(options);
    bootstrap = server.bootstrap;
  }, startTimeoutMs);
  afterAll(() => server?.stop(), 30_000);
  return {
    get bootstrap(): string {
      if (bootstrap === undefined)
        throw new Error('withKafka(): read `bootstrap` in a test or hook, once started');
      return bootstrap;
    },
  };
}

/**
 * A cluster id as Kafka makes them (16 random bytes, base64url). One that starts with `-` would be
 * taken for an option by kafka-storage's argument parser (1 start in 64), so draw again.
 */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
