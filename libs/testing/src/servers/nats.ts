import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { basename, dirname, join } from 'node:path';
import {
  freePorts,
  launchServer,
  startInstalled,
  makeServerDir,
  removeServerDir,
  ServerProcess,
  type ServerControls,
} from './process';

// A real nats-server with JetStream (file storage in a temp folder) on loopback, built from the Go
// module proxy by tools/test-servers/nats on first use (Go on PATH).

/** A running nats-server started by startNats. */
export interface NatsServer extends ServerControls {
  /** `nats://127.0.0.1:<port>`: a client's server list. */
  readonly url: string;
  readonly port: number;
  /** The nats-server release, e.g. `v2.15.2`. */
  readonly version: string;
  /** `http://127.0.0.1:<port>`: the monitoring endpoint (/healthz, /jsz, /varz). */
  readonly monitorUrl: string;
  /** The server's temp folder: nats.conf, nats.log and the JetStream store js/. */
  readonly dir: string;
}

/** Options of startNats. */
export interface NatsOptions {
  /** How long one start may take once installed. Default 30 s. */
  readyTimeoutMs?: number;
}

/** Resolves true when GET `url` answers 200. */
function answers200(url: string): Promise<boolean> {
  return new Promise((done) => {
    const req = get(url, { timeout: 1_000 }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(false));
  });
}

/**
 * Starts nats-server with JetStream on free loopback ports in a new temp folder (building it on first
 * use, which can take a minute: give the hook a long timeout) and resolves once /healthz reports it
 * healthy (JetStream on, streams and consumers restored). Stop it with `stop()`; if a test forgets, it
 * dies with the test process.
 */
export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  return startInstalled('nats', (binary) => startOnce(binary, options));
}

async function startOnce(binary: string, options: NatsOptions): Promise<NatsServer> {
  const dir = makeServerDir('nats-');
  const files = { dir, log: join(dir, 'nats.log') };
  try {
    const [port, monitorPort] = (await freePorts(2)) as [number, number];
    const config = join(dir, 'nats.conf');
    writeFileSync(
      config,
      [
        'server_name: test',
        `listen: 127.0.0.1:${port}`,
        `http: 127.0.0.1:${monitorPort}`,
        'jetstream {',
        `  store_dir: ${JSON.stringify(join(dir, 'js'))}`,
        '  max_memory_store: 256MB',
        '  max_file_store: 2GB',
        '}',
        '',
      ].join('\n'),
    );
    const monitorUrl = `http://127.0.0.1:${monitorPort}`;
    const launch = async () => {
      const proc = new ServerProcess('nats-server', binary, ['-c', config], files);
      await proc.waitReady(() => answers200(`${monitorUrl}/healthz`), options.readyTimeoutMs ?? 30_000);
      return proc;
    };
    return {
      url: `nats://127.0.0.1:${port}`,
      port,
      version: basename(dirname(dirname(binary))).replace(/^nats-server-/, ''),
      monitorUrl,
      dir,
      ...(await launchServer(launch, dir)),
    };
  } catch (err) {
    removeServerDir(dir);
    throw err;
  }
}

/** The `KNATIVE_TEST_NATS_URL` a Jest globalSetup sets to share one server with every test file. */
export const SHARED_NATS_ENV = 'KNATIVE_TEST_NATS_URL';

/**
 * For a test file, called at describe level: registers beforeAll/afterAll hooks and returns an object
 * whose `url` is the server shared by the Jest run (libs/testing/src/servers/jest-global-setup.ts)
 * when there is one, else that of a server started for this file and stopped after it. A shared server
 * must not be killed or restarted: crash tests call startNats() themselves.
 */
export function withNats(options: NatsOptions = {}, startTimeoutMs = 300_000): { readonly url: string } {
  let server: NatsServer | undefined;
  let url: string | undefined;
  beforeAll(async () => {
    url = process.env[SHARED_NATS_ENV];
    if (url) return;
    server = await startNats(options);
    url = server.url;
  }, startTimeoutMs);
  afterAll(() => server?.stop(), 30_000);
  return {
    get url(): string {
      if (url === undefined) throw new Error('withNats(): read `url` in a test or hook, once started');
      return url;
    },
  };
}
