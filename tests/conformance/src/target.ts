import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startKafka, startNats, startSubscriber, sleep, type TestSubscriber } from '@eventing/testing';
import { STORE, brokerConfigYaml, serverOf } from './store';

/**
 * What the conformance suite needs from a running event mesh: where ingress listens, a way to
 * apply and delete resource YAML, and a way to know when applied resources serve traffic.
 * Brokers are at `${baseUrl}/<namespace>/<name>`, channels at `${baseUrl}/_channels/<namespace>/<name>`.
 */
export interface ConformanceTarget {
  readonly baseUrl: string;
  /** Creates or replaces the resources of one named YAML file (several documents allowed). */
  apply(name: string, yaml: string): Promise<void>;
  /** Deletes every resource `apply(name, …)` created; resolves once they are gone. */
  remove(name: string): Promise<void>;
  /** Resolves once the resource is Ready and routes traffic; rejects with what is known after `timeoutMs`. */
  waitReady(kind: string, namespace: string, name: string, timeoutMs?: number): Promise<void>;
  /** Removes what the suite applied and stops whatever the target started. */
  close(): Promise<void>;
}

/** A resource named by a YAML document. */
interface ResourceId {
  kind: string;
  namespace: string;
  name: string;
}

const ROOT = join(__dirname, '../../..');
const READY_TIMEOUT_MS = 20_000;

/**
 * The target named by the environment: `CONFORMANCE_INGRESS_URL` + `CONFORMANCE_CONFIG_DIR` for an
 * already running standalone process, otherwise a standalone process started for this suite.
 */
export async function openTarget(): Promise<ConformanceTarget> {
  const url = process.env['CONFORMANCE_INGRESS_URL'];
  const dir = process.env['CONFORMANCE_CONFIG_DIR'];
  if (url || dir) {
    if (!url || !dir)
      throw new Error('set both CONFORMANCE_INGRESS_URL and CONFORMANCE_CONFIG_DIR, or neither');
    return RunningStandaloneTarget.open(url.replace(/\/+$/, ''), dir);
  }
  return SpawnedStandaloneTarget.start();
}

/** The resources named by the documents of a YAML text. */
function resourcesOf(yaml: string): ResourceId[] {
  const out: ResourceId[] = [];
  for (const doc of parseAllDocuments(yaml)) {
    const value = doc.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null;
    // ConfigMaps configure the process; they have no Ready condition and print nothing.
    if (value?.kind && value.kind !== 'ConfigMap' && value.metadata?.name) {
      out.push({
        kind: value.kind,
        namespace: value.metadata.namespace ?? 'default',
        name: value.metadata.name,
      });
    }
  }
  return out;
}

function fileName(name: string): string {
  if (!/^[a-z0-9][-a-z0-9.]*$/.test(name))
    throw new Error(`resource file name "${name}": use lower-case letters, digits, '-' and '.'`);
  return `${name}.yaml`;
}

/**
 * Builds the standalone bundle and runs `start` while holding a lock, so that concurrent suite
 * files neither build at the same time nor start a process from a half-written bundle.
 */
async function withBuildLock<T>(start: () => Promise<T>): Promise<T> {
  const lock = join(ROOT, 'dist', '.conformance-build.lock');
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const until = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock older than two minutes was left by a crashed run.
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      const stale = age > 120_000;
      if (stale || Date.now() > until) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      await sleep(100);
    }
  }
  try {
    execFileSync(process.execPath, [join(ROOT, 'tools/build/build.mjs'), '--quiet', 'standalone'], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    return await start();
  } finally {
    rmdirSync(lock);
  }
}

/**
 * Standalone mode started by the suite: `dist/apps/standalone/main.js --config <temp dir> --port 0`.
 * Readiness and removal are read from the lines it prints (`✓  <Kind> <ns>/<name> Ready…`,
 * `-  <Kind> <ns>/<name> removed`).
 */
class SpawnedStandaloneTarget implements ConformanceTarget {
  private readonly lines: string[] = [];
  private partial = '';
  private readonly files = new Map<string, ResourceId[]>();
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    public baseUrl = '',
  ) {
    const collect = (chunk: Buffer) => {
      const text = this.partial + chunk.toString();
      const parts = text.split('\n');
      this.partial = parts.pop() ?? '';
      this.lines.push(...parts);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('exit', () => (this.exited = true));
  }

  static async start(): Promise<SpawnedStandaloneTarget> {
    const dir = mkdtempSync(join(tmpdir(), 'conformance-'));
    // On a durable store the suite starts the real server, and a ConfigMap puts its brokers on it.
    const needs = serverOf(STORE);
    const server = needs === 'kafka' ? await startKafka() : needs === 'nats' ? await startNats() : undefined;
    const storeArgs =
      server === undefined
        ? []
        : 'bootstrap' in server
          ? ['--kafka-bootstrap', server.bootstrap]
          : ['--nats-url', server.url];
    const config = brokerConfigYaml(STORE);
    if (config !== undefined) writeFileSync(join(dir, 'store-config.yaml'), config);
    return withBuildLock(async () => {
      const child = spawn(
        process.execPath,
        [
          join(ROOT, 'dist/apps/standalone/main.js'),
          ...['--config', dir, '--port', '0', '--log-format', 'json'],
          ...storeArgs,
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.once('exit', () => void server?.stop());
      // Never leave the process behind, even when the test worker dies.
      const kill = () => child.kill('SIGKILL');
      process.once('exit', kill);
      child.once('exit', () => process.off('exit', kill));
      const target = new SpawnedStandaloneTarget(child, dir);
      try {
        const line = await target.waitLine(
          (l) => /serving on (http:\/\/[^,\s]+)/.test(l),
          30_000,
          'the "serving on" line',
        );
        target.baseUrl = /serving on (http:\/\/[^,\s]+)/.exec(line)![1]!;
      } catch (err) {
        await target.close();
        throw err;
      }
      return target;
    });
  }

  async apply(name: string, yaml: string): Promise<void> {
    this.files.set(name, resourcesOf(yaml));
    writeFileSync(join(this.dir, fileName(name)), yaml);
  }

  async remove(name: string): Promise<void> {
    const resources = this.files.get(name) ?? [];
    const from = this.lines.length;
    unlinkSync(join(this.dir, fileName(name)));
    this.files.delete(name);
    for (const r of resources) {
      const removed = `-  ${r.kind} ${r.namespace}/${r.name} removed`;
      await this.waitLine(
        (l) => l === removed,
        READY_TIMEOUT_MS,
        `${r.kind} ${r.namespace}/${r.name} to be removed`,
        from,
      );
    }
  }

  async waitReady(
    kind: string,
    namespace: string,
    name: string,
    timeoutMs = READY_TIMEOUT_MS,
  ): Promise<void> {
    const ready = `✓  ${kind} ${namespace}/${name} Ready`;
    await this.waitLine((l) => l.startsWith(ready), timeoutMs, `${kind} ${namespace}/${name} to be Ready`);
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Waits for an output line; on timeout the error quotes the lines that mention the subject. */
  private async waitLine(
    match: (line: string) => boolean,
    timeoutMs: number,
    what: string,
    from = 0,
  ): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.lines.length; i++) if (match(this.lines[i]!)) return this.lines[i]!;
      if (this.exited)
        throw new Error(
          `standalone exited while waiting for ${what}; output:\n${this.lines.slice(-30).join('\n')}`,
        );
      if (Date.now() > until) {
        const subject = /\S+\/\S+/.exec(what)?.[0];
        const related = subject
          ? this.lines.filter((l) => l.includes(subject) || l.startsWith('✗'))
          : this.lines.slice(-20);
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; related output:\n${related.join('\n')}`,
        );
      }
      await sleep(20);
    }
  }
}

/**
 * A standalone process that is already running and watches `configDir`. It prints nothing we can
 * read, so readiness is proven with traffic: a probe Trigger with a fresh name and event type is
 * written into the folder *after* the resources, and events are posted until it delivers one — the
 * folder is reloaded as a whole, so everything written earlier is applied too. Brokers and channels
 * are then checked to answer at their address.
 */
class RunningStandaloneTarget implements ConformanceTarget {
  private readonly files = new Set<string>();
  private probes = 0;

  private constructor(
    public readonly baseUrl: string,
    private readonly dir: string,
    private readonly probe: TestSubscriber,
  ) {}

  static async open(baseUrl: string, dir: string): Promise<RunningStandaloneTarget> {
    return new RunningStandaloneTarget(baseUrl, dir, await startSubscriber());
  }

  async apply(name: string, yaml: string): Promise<void> {
    this.files.add(name);
    writeFileSync(join(this.dir, fileName(name)), yaml);
  }

  async remove(name: string): Promise<void> {
    this.files.delete(name);
    unlinkSync(join(this.dir, fileName(name)));
    await this.barrier(READY_TIMEOUT_MS);
  }

  async waitReady(
    kind: string,
    namespace: string,
    name: string,
    timeoutMs = READY_TIMEOUT_MS,
  ): Promise<void> {
    await this.barrier(timeoutMs);
    if (kind === 'Broker') {
      // An event whose TTL is used up is refused with 400 by an existing broker (after the lookup, so
      // nothing is delivered) and with 404 by a missing one.
      await this.until(timeoutMs, `Broker ${namespace}/${name} to answer`, async () => {
        const res = await fetch(`${this.baseUrl}/${namespace}/${name}`, {
          method: 'POST',
          headers: {
            'ce-specversion': '1.0',
            'ce-id': 'probe',
            'ce-source': '/conformance/probe',
            'ce-type': 'dev.conformance.probe',
            'ce-knativebrokerttl': '1',
          },
        });
        return res.status === 400;
      });
    }
  }

  async close(): Promise<void> {
    for (const name of this.files) unlinkSync(join(this.dir, fileName(name)));
    this.files.clear();
    rmSync(join(this.dir, fileName('zz-conformance-probe')), { force: true });
    await this.probe.close();
  }

  /** Resolves once the folder as it is now has been applied by the running process. */
  private async barrier(timeoutMs: number): Promise<void> {
    const n = ++this.probes;
    const type = `dev.conformance.probe.${process.pid}.${n}`;
    writeFileSync(
      join(this.dir, fileName('zz-conformance-probe')),
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: probe, namespace: conformance-probe }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: probe-${process.pid}-${n}, namespace: conformance-probe }
spec:
  broker: probe
  filter: { attributes: { type: ${type} } }
  subscriber: { uri: ${this.probe.url}/${n} }
`,
    );
    await this.until(timeoutMs, 'the config folder to be applied', async () => {
      if (this.probe.requests.some((r) => r.url === `/${n}`)) return true;
      await fetch(`${this.baseUrl}/conformance-probe/probe`, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': `probe-${n}`,
          'ce-source': '/conformance/probe',
          'ce-type': type,
        },
      }).catch(() => undefined);
      await sleep(100);
      return this.probe.requests.some((r) => r.url === `/${n}`);
    });
  }

  private async until(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(50);
    }
  }
}
