import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { dirname, join } from 'node:path';
import {
  freePorts,
  installServer,
  startInstalled,
  makeServerDir,
  removeServerDir,
  ServerProcess,
} from './process';

// A real Kubernetes control plane on loopback: etcd, kube-apiserver and (optionally)
// kube-controller-manager, with the matching kubectl, built from the Go module proxy by
// tools/test-servers/kube on first use (Go on PATH; ~7 min cold). No scheduler and no kubelet, so Pods
// never run; everything the API server does on its own works (CRDs, RBAC, admission webhooks, watches,
// server-side apply, dry-run), and the controller manager adds namespace deletion, garbage collection by
// ownerReferences and default ServiceAccounts.
//
// The admin is a bearer token in the group system:masters, which RBAC lets do anything; other
// identities (ServiceAccounts, `--as`) go through RBAC as in a real cluster.

/** The result of one kubectl run. */
export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Options of one kubectl run. */
export interface KubectlOptions {
  /** Written to kubectl's stdin (for `-f -`). */
  input?: string;
  /** Resolve with a non-zero exit code instead of rejecting. */
  allowFail?: boolean;
}

/** Runs the v1.34 kubectl against one server. */
export type Kubectl = (args: string[], options?: KubectlOptions) => Promise<KubectlResult>;

/** What a test needs to talk to a control plane, whether it started it or shares one. */
export interface KubeAccess {
  /** A kubeconfig file (JSON) with admin credentials: `KubeConfig.loadFromFile()`, `kubectl --kubeconfig`. */
  readonly kubeconfig: string;
  /** `https://127.0.0.1:<port>`, the API server. */
  readonly server: string;
  /** Runs kubectl v1.34 with `--kubeconfig`; rejects on a non-zero exit unless `allowFail`. */
  readonly kubectl: Kubectl;
}

/** A running control plane started by startKube. */
export interface KubeServer extends KubeAccess {
  /** The Kubernetes release, e.g. `v1.34.10`. */
  readonly version: string;
  readonly port: number;
  /** The admin's bearer token (also in the kubeconfig). */
  readonly token: string;
  /** The PEM of the CA that signed the API server's serving certificate (also in the kubeconfig). */
  readonly ca: string;
  /** `http://127.0.0.1:<port>`: etcd's client URL. */
  readonly etcd: string;
  /** The temp folder: kubeconfig.json, the logs, pki/, etcd/. */
  readonly dir: string;
  /**
   * SIGKILLs kube-apiserver and starts it again on the same port, certificates and etcd (after
   * `downtimeMs`, default 0); resolves once it is ready. Every open watch is cut, as in an API server
   * rollout.
   */
  restartApiServer(options?: { downtimeMs?: number }): Promise<void>;
  /** The last `lines` lines of one component's log. */
  logTail(component: 'etcd' | 'kube-apiserver' | 'kube-controller-manager', lines?: number): string;
  /** Stops every process and removes the temp folder. */
  stop(): Promise<void>;
}

/** Options of startKube. */
export interface KubeOptions {
  /**
   * Also run kube-controller-manager with the controllers that need no nodes: namespace deletion,
   * garbage collection (ownerReferences, foreground/background cascades), default ServiceAccounts,
   * ServiceAccount tokens and `kube-root-ca.crt`. Default false.
   */
  controllerManager?: boolean;
  /** How long one start of each component may take once built. Default 60 s. */
  readyTimeoutMs?: number;
}

/** The controllers of kube-controller-manager that do something without nodes or a cloud. */
const CONTROLLERS = [
  'namespace-controller',
  'garbage-collector-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
];

interface HttpGetOptions {
  ca?: string;
  token?: string;
  insecure?: boolean;
}

/** Resolves with the status code of GET `url` (0 when there is no answer). */
function statusOf(url: string, { ca, token, insecure }: HttpGetOptions = {}): Promise<number> {
  return new Promise((done) => {
    const headers = token ? { authorization: `Bearer ${token}` } : undefined;
    const onResponse = (res: { statusCode?: number; resume(): void }) => {
      res.resume();
      done(res.statusCode ?? 0);
    };
    const req = url.startsWith('https:')
      ? httpsGet(url, { timeout: 2_000, headers, ca, rejectUnauthorized: !insecure }, onResponse)
      : httpGet(url, { timeout: 2_000, headers }, onResponse);
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(0));
  });
}

/** A kubectl bound to one kubeconfig; its discovery cache sits next to the kubeconfig. */
function kubectlFor(binDir: string, kubeconfig: string): Kubectl {
  const binary = join(binDir, 'kubectl');
  const cacheDir = join(dirname(kubeconfig), 'kubectl-cache');
  return (args, options = {}) =>
    new Promise((done, fail) => {
      const child = spawn(binary, [`--kubeconfig=${kubeconfig}`, `--cache-dir=${cacheDir}`, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      child.once('error', fail);
      child.once('close', (code, signal) => {
        const result = { stdout, stderr, code: code ?? 128 };
        if (result.code === 0 || options.allowFail) return done(result);
        const why = signal ? `killed by ${signal}` : `exit ${code}`;
        fail(new Error(`kubectl ${args.join(' ')} failed (${why}):\n${stderr.trim() || stdout.trim()}`));
      });
      child.stdin.on('error', () => {
        // kubectl exited without reading its input; its exit code says why.
      });
      child.stdin.end(options.input ?? '');
    });
}

/** The API server URL of a kubeconfig written by startKube. */
function serverOf(kubeconfig: string): string {
  const config = JSON.parse(readFileSync(kubeconfig, 'utf8')) as {
    clusters: Array<{ cluster: { server: string } }>;
  };
  const server = config.clusters[0]?.cluster.server;
  if (!server) throw new Error(`${kubeconfig}: no cluster server`);
  return server;
}

/**
 * Starts etcd, kube-apiserver and, with `controllerManager`, kube-controller-manager on free loopback
 * ports in a new temp folder (building them on first use, ~7 min: give the hook a 15-minute timeout),
 * and resolves once the API server reports /readyz (and the controller manager has made the `default`
 * ServiceAccount). Stop it with `stop()`; if a test forgets, it dies with the test process.
 */
export async function startKube(options: KubeOptions = {}): Promise<KubeServer> {
  return startInstalled('kube', (binDir) => startOnce(binDir, options));
}

async function startOnce(binDir: string, options: KubeOptions): Promise<KubeServer> {
  const dir = makeServerDir('kube-');
  const timeout = options.readyTimeoutMs ?? 60_000;
  const logOf = (component: string) => join(dir, `${component}.log`);
  const run = (component: string, args: string[]) =>
    new ServerProcess(component, join(binDir, component), args, { dir, log: logOf(component) });
  let etcdProc: ServerProcess | undefined;
  let apiProc: ServerProcess | undefined;
  let kcmProc: ServerProcess | undefined;
  // Clients first, so none of them logs a lost connection for long.
  const stopAll = async () => {
    for (const proc of [kcmProc, apiProc, etcdProc]) await proc?.stop(10_000);
  };
  try {
    const [etcdPort, peerPort, port] = (await freePorts(3)) as [number, number, number];
    const etcd = `http://127.0.0.1:${etcdPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    etcdProc = run('etcd', [
      '--name=test',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcd}`,
      `--advertise-client-urls=${etcd}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=test=${peer}`,
      // A test cluster's data is thrown away: no fsync per write.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await etcdProc.waitReady(async () => (await statusOf(`${etcd}/health`)) === 200, timeout);

    const token = randomBytes(24).toString('base64url');
    const tokens = join(dir, 'tokens.csv');
    writeFileSync(tokens, `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
    const saKey = join(dir, 'sa.key');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    const apiArgs = [
      `--etcd-servers=${etcd}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      // Made on first start (a self-signed CA and a serving certificate for 127.0.0.1) and kept, so a
      // restart serves the same certificate.
      `--cert-dir=${join(dir, 'pki')}`,
      `--token-auth-file=${tokens}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${saKey}`,
      `--service-account-signing-key-file=${saKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      // Pods never run here; without this a Pod would wait for its namespace's default ServiceAccount.
      '--disable-admission-plugins=ServiceAccount',
      '--allow-privileged=true',
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      '--v=1',
    ];
    const server = `https://127.0.0.1:${port}`;
    const launchApiServer = async () => {
      const proc = run('kube-apiserver', apiArgs);
      await proc.waitReady(
        async () => (await statusOf(`${server}/readyz`, { token, insecure: true })) === 200,
        timeout,
      );
      return proc;
    };
    apiProc = await launchApiServer();

    const ca = readFileSync(join(dir, 'pki', 'apiserver.crt'), 'utf8');
    const kubeconfig = join(dir, 'kubeconfig.json');
    writeFileSync(
      kubeconfig,
      JSON.stringify(
        {
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [
            {
              name: 'test',
              cluster: { server, 'certificate-authority-data': Buffer.from(ca).toString('base64') },
            },
          ],
          users: [{ name: 'admin', user: { token } }],
          contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin' } }],
          'current-context': 'test',
        },
        null,
        2,
      ) + '\n',
      { mode: 0o600 },
    );

    if (options.controllerManager) {
      kcmProc = run('kube-controller-manager', [
        `--kubeconfig=${kubeconfig}`,
        `--controllers=${CONTROLLERS.join(',')}`,
        `--service-account-private-key-file=${saKey}`,
        `--root-ca-file=${join(dir, 'pki', 'apiserver.crt')}`,
        '--leader-elect=false',
        '--secure-port=0',
        '--v=1',
      ]);
      // The serviceaccount controller makes `default` in every namespace once its informers synced.
      const defaultSa = `${server}/api/v1/namespaces/default/serviceaccounts/default`;
      await kcmProc.waitReady(async () => (await statusOf(defaultSa, { ca, token })) === 200, timeout);
    }

    return {
      kubeconfig,
      server,
      kubectl: kubectlFor(binDir, kubeconfig),
      version: `v${/kube-v([0-9.]+)/.exec(binDir)?.[1] ?? 'unknown'}`,
      port,
      token,
      ca,
      etcd,
      dir,
      restartApiServer: async ({ downtimeMs = 0 } = {}) => {
        const old = apiProc;
        old?.kill();
        await old?.exited;
        if (downtimeMs > 0) await new Promise((done) => setTimeout(done, downtimeMs));
        apiProc = await launchApiServer();
      },
      logTail: (component, lines = 40) => {
        try {
          return readFileSync(logOf(component), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
        } catch {
          return '';
        }
      },
      stop: async () => {
        await stopAll();
        removeServerDir(dir);
      },
    };
  } catch (err) {
    await stopAll();
    removeServerDir(dir);
    throw err;
  }
}

/** The `KNATIVE_TEST_KUBECONFIG` a Jest globalSetup sets to share one control plane with every test file. */
export const SHARED_KUBE_ENV = 'KNATIVE_TEST_KUBECONFIG';

/**
 * For a test file, called at describe level: registers beforeAll/afterAll hooks and returns the access
 * to the control plane shared by the Jest run (libs/testing/src/servers/jest-global-setup.ts, which
 * runs kube-controller-manager too) when there is one, else to one started for this file and stopped
 * after it. Tests on a shared control plane use namespaces of their own and must not restart it: watch-
 * cut tests call startKube() themselves.
 */
export function withKube(options: KubeOptions = {}, startTimeoutMs = 900_000): KubeAccess {
  let server: KubeServer | undefined;
  let access: KubeAccess | undefined;
  beforeAll(async () => {
    const shared = process.env[SHARED_KUBE_ENV];
    if (shared) {
      const binDir = await installServer('kube');
      access = { kubeconfig: shared, server: serverOf(shared), kubectl: kubectlFor(binDir, shared) };
      return;
    }
    server = await startKube(options);
    access = server;
  }, startTimeoutMs);
  afterAll(() => server?.stop(), 60_000);
  const started = (): KubeAccess => {
    if (access === undefined) throw new Error('withKube(): use it in a test or hook, once started');
    return access;
  };
  return {
    get kubeconfig() {
      return started().kubeconfig;
    },
    get server() {
      return started().server;
    },
    kubectl: (args, kubectlOptions) => started().kubectl(args, kubectlOptions),
  };
}
