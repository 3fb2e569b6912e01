import { spawn, type ChildProcess } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { isDeepStrictEqual } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import {
  SinkBindingConditionSet,
  parseApiServerAdapterConfig,
  type Condition,
  type EnvVar,
  type Resource,
  type SinkBinding,
} from '@eventing/api';
import { KubeClient, ListWatch } from '@eventing/kube';
import {
  APISERVER_ADAPTER_LABEL,
  APISERVER_ADAPTER_LABEL_VALUE,
  applyBindings,
  podSpecOf,
  sinkEnvOf,
  type MemoryResourceStore,
  type PodContainer,
  type StoreEvent,
  type SubjectObject,
} from '@eventing/reconciler';
import type { Logger } from '@eventing/runtime';
import { SourceClient, parseCeOverrides } from '@eventing/source-runtime';
import {
  ApiServerAdapter,
  ListWatchFeed,
  StoreFeed,
  discoverTargets,
  type KubeObjectLike,
  type ObjectFeed,
} from '@eventing/sources';

/** Options of the runner of Deployments in standalone mode. */
export interface DeploymentRunnerOptions {
  store: MemoryResourceStore;
  /** Relative commands and working directories are taken from here (the folder of YAML). */
  configDir: string;
  log: Logger;
  /** Where a container's output lines and the runner's notes are printed. */
  print: (line: string) => void;
  /** The `source` of events of ApiServerSources watching the folder: this process's URL. */
  apiServerUrl: () => string;
  /** ApiServerSources watch this kubeconfig's cluster instead of the folder. */
  kubeconfig?: string;
  /** Called after the runner wrote a status (a Deployment's availability, a binding's): Ready may have changed. */
  onStatus?: () => void;
  /** First wait before a container that exited is started again; doubles up to `restartMaxMs`. Default 1 s. */
  restartInitialMs?: number;
  /** Longest wait between restarts. Default 30 s. */
  restartMaxMs?: number;
  /** A container running this long has its backoff reset. Default 10 s. */
  stableAfterMs?: number;
}

const APPS = 'apps';
const SOURCES = 'sources.knative.dev';
/** Longest output line forwarded; the rest of a longer line is cut. */
const MAX_LINE = 4096;

/** What runs for one Deployment: its adapter in this process, or its containers' commands. */
interface Unit {
  fingerprint: string;
  stop(): Promise<void>;
}

/** One container's command, as it is run. */
interface ProcessSpec {
  container: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/**
 * Standalone mode's stand-in for a kubelet, for the Deployments sources own (CONFORMANCE 4.2–4.4).
 * A ContainerSource's Deployment has each container's `command` run as a supervised child process
 * with the container's environment (K_SINK, K_CE_OVERRIDES… and what the SinkBindings selecting the
 * Deployment add), restarted with a growing delay when it exits, its output forwarded; an
 * ApiServerSource's adapter Deployment runs its adapter in this process. Each Deployment's status
 * says whether it runs (`Available`), as a cluster's would, and each SinkBinding whether it is applied.
 */
export class DeploymentRunner {
  private readonly units = new Map<string, Unit>();
  private readonly unwatch: (() => void)[] = [];
  private readonly client = new SourceClient({ resourceGroup: 'apiserversources.sources.knative.dev' });
  private running = false;

  constructor(private readonly options: DeploymentRunnerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const { store } = this.options;
    this.unwatch.push(store.watch('Deployment', APPS, (e) => this.onDeployment(e)));
    this.unwatch.push(store.watch('SinkBinding', SOURCES, () => this.onBindings()));
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const off of this.unwatch.splice(0)) off();
    const units = [...this.units.values()];
    this.units.clear();
    await Promise.all(units.map((u) => u.stop()));
    await this.client.close();
  }

  private onDeployment(event: StoreEvent): void {
    const key = keyOf(event.resource);
    if (event.type === 'delete') {
      const unit = this.units.get(key);
      this.units.delete(key);
      void unit?.stop();
      this.markBindings();
      return;
    }
    this.plan(event.resource);
    // A Deployment that appears or goes changes whether a binding naming it applies.
    if (event.type === 'upsert' && event.resource.status === undefined) this.markBindings();
  }

  /** A binding changed: every Deployment's environment is worked out again, and bindings say whether they apply. */
  private onBindings(): void {
    for (const d of this.options.store.list('Deployment', APPS)) this.plan(d);
    this.markBindings();
  }

  private bindings(): SinkBinding[] {
    return (this.options.store.list('SinkBinding', SOURCES) as SinkBinding[]).sort((a, b) =>
      (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1,
    );
  }

  /** (Re)starts what runs for a Deployment when what it would run changed. */
  private plan(deployment: Resource): void {
    if (!this.running) return;
    const key = keyOf(deployment);
    const bound = applyBindings(this.bindings(), APPS, deployment as SubjectObject) ?? deployment;
    const adapter = deployment.metadata.labels?.[APISERVER_ADAPTER_LABEL] === APISERVER_ADAPTER_LABEL_VALUE;
    const containers = podSpecOf(bound, 'Deployment')?.containers ?? [];
    const plan:
      | { kind: 'adapter'; env: Record<string, string> }
      | { kind: 'processes'; processes: ProcessSpec[] | string } = adapter
      ? { kind: 'adapter', env: envOf(containers[0], deployment) }
      : { kind: 'processes', processes: this.processes(containers, deployment) };
    const fingerprint = JSON.stringify(plan);
    const existing = this.units.get(key);
    if (existing?.fingerprint === fingerprint) return;
    void existing?.stop();
    const unit =
      plan.kind === 'adapter'
        ? this.startAdapter(deployment, plan.env, fingerprint)
        : this.startProcesses(deployment, plan.processes, fingerprint);
    this.units.set(key, unit);
  }

  private processes(containers: PodContainer[], deployment: Resource): ProcessSpec[] | string {
    const out: ProcessSpec[] = [];
    for (const [i, c] of containers.entries()) {
      const command = c['command'] as string[] | undefined;
      const name = c.name ?? `container-${i}`;
      if (command === undefined || command.length === 0)
        return `standalone mode runs a container's command: give spec.template.spec.containers[${i}].command (container ${name})`;
      const workingDir = c['workingDir'] as string | undefined;
      out.push({
        container: name,
        command: command[0] as string,
        args: [...command.slice(1), ...((c['args'] as string[] | undefined) ?? [])],
        cwd:
          workingDir && isAbsolute(workingDir)
            ? workingDir
            : resolve(this.options.configDir, workingDir ?? '.'),
        env: envOf(c, deployment),
      });
    }
    return out;
  }

  private startProcesses(deployment: Resource, processes: ProcessSpec[] | string, fingerprint: string): Unit {
    const label = `${deployment.metadata.namespace ?? 'default'}/${deployment.metadata.name ?? ''}`;
    if (typeof processes === 'string') {
      this.options.print(`✗  Deployment ${label}: ${processes}`);
      void this.setAvailable(deployment, 'False', 'NoCommand', processes);
      return { fingerprint, stop: () => Promise.resolve() };
    }
    const supervised = processes.map(
      (p) => new Supervised(p, label, this.options, (state) => this.onState(deployment, supervised, state)),
    );
    for (const s of supervised) s.start();
    return { fingerprint, stop: () => Promise.all(supervised.map((s) => s.stop())).then(() => undefined) };
  }

  /** A container started or exited: the Deployment is Available while all of them run. */
  private onState(
    deployment: Resource,
    all: Supervised[],
    changed: { running: boolean; message: string },
  ): void {
    if (!this.running) return;
    if (all.every((s) => s.isRunning))
      void this.setAvailable(
        deployment,
        'True',
        'MinimumReplicasAvailable',
        'Deployment has minimum availability.',
      );
    else if (!changed.running)
      void this.setAvailable(deployment, 'False', 'CrashLoopBackOff', changed.message);
  }

  private startAdapter(deployment: Resource, env: Record<string, string>, fingerprint: string): Unit {
    const { log, store, kubeconfig } = this.options;
    let adapter: ApiServerAdapter | undefined;
    let kube: KubeClient | undefined;
    let stopped = false;
    const fail = (message: string) => {
      log.error({ deployment: keyOf(deployment), error: message }, 'ApiServerSource adapter could not start');
      void this.setAvailable(deployment, 'False', 'AdapterFailed', message);
    };
    void (async () => {
      const config = parseApiServerAdapterConfig(env['K_SOURCE_CONFIG']);
      let feed: ObjectFeed;
      let source: string;
      if (kubeconfig !== undefined) {
        const kc = new KubeConfig();
        kc.loadFromFile(kubeconfig);
        source = apiServerOf(kubeconfig);
        const client = (kube = new KubeClient(kc, { userAgent: 'eventing-standalone' }));
        const found = await discoverTargets(config, (path) =>
          client.request('GET', path, { purpose: 'get' }),
        );
        for (const missing of found.missing)
          this.options.print(`✗  ApiServerSource adapter ${keyOf(deployment)}: ${missing}`);
        feed = new ListWatchFeed(
          found.targets,
          (target, onEvent) =>
            new ListWatch(
              client,
              target,
              (e) => onEvent({ type: e.type, object: e.object as KubeObjectLike }),
              { logger: log },
            ),
        );
      } else {
        source = this.options.apiServerUrl();
        // The folder's resources, as the in-process store holds them.
        feed = new StoreFeed(
          {
            watch: (kind, group, handler) =>
              store.watch(kind, group, (e) =>
                handler({ type: e.type, resource: e.resource as KubeObjectLike }),
              ),
          },
          config,
        );
      }
      if (stopped) return;
      adapter = new ApiServerAdapter({
        config,
        source,
        feed,
        log,
        sink: this.client.sink({
          namespace: deployment.metadata.namespace ?? 'default',
          name: env['NAME'] ?? '',
          uri: env['K_SINK'] ?? '',
          ceOverrides: parseCeOverrides(env['K_CE_OVERRIDES']),
        }),
      });
      await adapter.start();
      if (!stopped)
        await this.setAvailable(
          deployment,
          'True',
          'MinimumReplicasAvailable',
          'Deployment has minimum availability.',
        );
    })().catch((err: Error) => fail(err.message));
    return {
      fingerprint,
      stop: async () => {
        stopped = true;
        await adapter?.stop();
        await kube?.close();
      },
    };
  }

  /** Writes the Deployment's `Available` condition (and replica counts) when it changes. */
  private async setAvailable(
    deployment: Resource,
    status: 'True' | 'False',
    reason: string,
    message: string,
  ): Promise<void> {
    const { store } = this.options;
    const current = store.get(
      APPS,
      'Deployment',
      deployment.metadata.namespace ?? '',
      deployment.metadata.name ?? '',
    );
    if (current === undefined || current.metadata.uid !== deployment.metadata.uid) return;
    const previous = (current.status as { conditions?: Condition[] } | undefined)?.conditions?.find(
      (c) => c.type === 'Available',
    );
    if (previous?.status === status && previous.reason === reason && previous.message === message) return;
    const ready = status === 'True' ? 1 : 0;
    await this.writeStatus(current, {
      observedGeneration: current.metadata.generation ?? 1,
      replicas: 1,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: 1 - ready,
      conditions: [
        {
          type: 'Available',
          status,
          reason,
          message,
          lastTransitionTime:
            previous?.status === status ? previous.lastTransitionTime : new Date().toISOString(),
        },
      ],
    });
  }

  private async writeStatus(resource: Resource, status: unknown): Promise<void> {
    await this.options.store.updateStatus(resource, status);
    this.options.onStatus?.();
  }

  /**
   * SinkBindingAvailable for each binding whose sink is resolved: standalone mode binds Deployments
   * (those ContainerSources own), by setting the environment of the processes it runs.
   */
  private markBindings(): void {
    const { store } = this.options;
    const set = SinkBindingConditionSet;
    for (const b of this.bindings()) {
      if (sinkEnvOf(b) === undefined) continue;
      const subject = b.spec.subject;
      const namespace = subject.namespace ?? b.metadata.namespace ?? 'default';
      let outcome: { ok: true } | { ok: false; reason: string; message: string } = { ok: true };
      if (subject.kind !== 'Deployment' || !subject.apiVersion.startsWith('apps/'))
        outcome = {
          ok: false,
          reason: 'SubjectUnavailable',
          message: `standalone mode binds Deployments (a ContainerSource's), not ${subject.kind}`,
        };
      else if (subject.name && store.get(APPS, 'Deployment', namespace, subject.name) === undefined)
        outcome = {
          ok: false,
          reason: 'SubjectMissing',
          message: `Deployment ${namespace}/${subject.name} not found`,
        };
      const conds = b.status?.conditions ?? [];
      const next = outcome.ok
        ? set.markTrue(set.initialize(conds), 'SinkBindingAvailable')
        : set.markFalse(set.initialize(conds), 'SinkBindingAvailable', outcome.reason, outcome.message);
      const strip = (c: Condition | undefined) =>
        c === undefined ? undefined : { ...c, lastTransitionTime: '' };
      if (
        isDeepStrictEqual(
          strip(set.get(conds, 'SinkBindingAvailable')),
          strip(set.get(next, 'SinkBindingAvailable')),
        )
      )
        continue;
      void this.writeStatus(b, { ...b.status, conditions: next });
    }
  }
}

/** The API server URL of a kubeconfig's current cluster (the `source` of what ApiServerSources see there). */
export function apiServerOf(kubeconfig: string): string {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return (kc.getCurrentCluster()?.server ?? '').replace(/\/+$/, '');
}

/** A container's environment: its `env` values (a missing value is empty), and the downward API's namespace and name. */
function envOf(container: PodContainer | undefined, deployment: Resource): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of (container?.env ?? []) as EnvVar[]) {
    const field = (e.valueFrom as { fieldRef?: { fieldPath?: string } } | undefined)?.fieldRef?.fieldPath;
    if (field === 'metadata.namespace') env[e.name] = deployment.metadata.namespace ?? 'default';
    else if (field === 'metadata.name') env[e.name] = deployment.metadata.name ?? '';
    else if (e.valueFrom === undefined) env[e.name] = e.value ?? '';
  }
  return env;
}

function keyOf(r: {
  apiVersion: string;
  kind: string;
  metadata: { namespace?: string; name?: string };
}): string {
  return `${r.kind}/${r.apiVersion}/${r.metadata.namespace ?? 'default'}/${r.metadata.name ?? ''}`;
}

/** One container's command, kept running: restarted with a doubling delay when it exits, its output printed. */
class Supervised {
  private child: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopping = false;
  private exited: Promise<void> = Promise.resolve();
  isRunning = false;

  constructor(
    private readonly spec: ProcessSpec,
    private readonly label: string,
    private readonly options: DeploymentRunnerOptions,
    private readonly onState: (state: { running: boolean; message: string }) => void,
  ) {}

  start(): void {
    if (this.stopping) return;
    const { spec } = this;
    const started = Date.now();
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let done!: () => void;
    this.exited = new Promise((r) => (done = r));
    const prefix = `│  ${this.label} ${spec.container}: `;
    for (const stream of [child.stdout, child.stderr])
      if (stream)
        createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) =>
          this.options.print(prefix + line.slice(0, MAX_LINE)),
        );
    let ended = false;
    const end = (why: string) => {
      if (ended) return;
      ended = true;
      this.isRunning = false;
      this.child = undefined;
      done();
      if (this.stopping) return;
      if (Date.now() - started >= (this.options.stableAfterMs ?? 10_000)) this.failures = 0;
      const initial = this.options.restartInitialMs ?? 1_000;
      const delay = Math.min(this.options.restartMaxMs ?? 30_000, initial * 2 ** this.failures++);
      const message = `container ${spec.container} ${why}; starting it again in ${(delay / 1000).toFixed(1)} s`;
      this.options.print(`✗  Deployment ${this.label}: ${message}`);
      this.onState({ running: false, message });
      this.timer = setTimeout(() => this.start(), delay);
      this.timer.unref();
    };
    child.once('spawn', () => {
      this.isRunning = true;
      this.onState({ running: true, message: '' });
    });
    child.once('error', (err) => end(`could not run ${spec.command}: ${err.message}`));
    child.once('exit', (code, signal) =>
      end(signal ? `was killed by ${signal}` : `exited with code ${code}`),
    );
  }

  /** Stops the container: SIGTERM, then SIGKILL after 5 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (child === undefined) return;
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    kill.unref();
    await this.exited;
    clearTimeout(kill);
  }
}
