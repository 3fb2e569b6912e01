import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Setting } from '@eventing/runtime';
import { eventually } from './subscriber';

// Runs an app as it is deployed: bundled by tools/build/build.mjs, started as `node dist/apps/<app>/main.js`
// with its settings in the environment.

const root = join(__dirname, '../../..');

/** Bundles the named apps into dist/apps. */
export function buildApps(...apps: string[]): void {
  execFileSync(process.execPath, [join(root, 'tools/build/build.mjs'), '--quiet', ...apps], { cwd: root });
}

/** A running app process. */
export interface AppProcess {
  /** `http://127.0.0.1:<port>` it listens on. */
  url: string;
  readonly pid: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `dist/apps/<app>/main.js` on a free port and resolves once it listens. */
export function spawnApp(app: string, env: Record<string, string>): Promise<AppProcess> {
  return spawnBundled(app, [], { PORT: '0', ...env }, /listening on (http:\/\/[\d.:]+)/, 20_000);
}

/**
 * Starts `dist/apps/standalone/main.js --port 0` with `args` (and only PATH and `env` in its
 * environment) and resolves once it serves.
 */
export function spawnStandalone(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<AppProcess> {
  return spawnBundled(
    'standalone',
    ['--port', '0', ...args],
    env,
    /serving on (http:\/\/[\d.:]+)/,
    timeoutMs,
  );
}

/** Starts a bundled app; resolves once its output matches `ready`, whose first group is its URL. */
async function spawnBundled(
  app: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs: number,
): Promise<AppProcess> {
  const child = spawn(process.execPath, [`dist/apps/${app}/main.js`, ...args], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    const url = await eventually(
      () => {
        if (gone) throw new Error(`${app} exited before listening:\n${out}`);
        return ready.exec(out)?.[1];
      },
      timeoutMs,
      `${app} to listen`,
    );
    return {
      url,
      pid: child.pid!,
      output: () => out,
      exited,
      kill: (signal = 'SIGKILL') => child.kill(signal),
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** Writes a contract document as a mounted ConfigMap changes: a whole new file, renamed into place. */
export function writeContract(path: string, contract: object): void {
  writeFileSync(`${path}.tmp`, JSON.stringify({ version: 1, brokers: [], triggers: [], ...contract }));
  renameSync(`${path}.tmp`, path);
}

/** Resolves once GET /readyz answers 200. */
export async function waitReady(url: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > until) throw new Error(`${url}/readyz answered ${status} for ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Binary-mode CloudEvent headers. */
export const ce = (id: string, type = 'test.event', extra: Record<string, string> = {}) => ({
  'ce-specversion': '1.0',
  'ce-id': id,
  'ce-source': '/test',
  'ce-type': type,
  'content-type': 'text/plain',
  ...extra,
});

/** A service as libs/runtime's defineService makes it: its settings table and how it reads them. */
export interface ServiceWithSettings {
  name: string;
  settings: readonly Setting[];
  fromEnv(env: NodeJS.ProcessEnv): object;
  /** The table as its README prints it. */
  settingsMarkdown(): string;
}

/**
 * Registers the tests of a service's settings table: its README prints the table as the service reads
 * it, unset variables take the defaults, and every bad or missing one is named.
 */
export function describeServiceSettings(service: ServiceWithSettings, readme: string): void {
  describe(`${service.name} settings`, () => {
    const required = Object.fromEntries(
      service.settings.filter((s) => s.kind === 'list').map((s) => [s.env, 'one, two']),
    );
    it('README.md lists them as the service reads them', () => {
      expect(readFileSync(readme, 'utf8')).toContain(service.settingsMarkdown());
    });
    it('takes the defaults for what is unset', () => {
      const read = service.fromEnv(required) as Record<string, unknown>;
      for (const s of service.settings)
        expect([s.env, read[s.key]]).toEqual([s.env, s.kind === 'list' ? ['one', 'two'] : s.default]);
    });
    it('names every variable that is wrong or missing', () => {
      const bad = Object.fromEntries(
        service.settings
          .filter((s) => s.kind === 'int' || s.kind === 'log-level' || (s.kind === 'text' && s.pattern))
          .map((s) => [s.env, s.kind === 'log-level' ? 'loud' : 'x y']),
      );
      const named = service.settings.filter((s) => s.kind === 'list' || s.env in bad).map((s) => s.env);
      let message = '';
      try {
        service.fromEnv(bad);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(named.length).toBeGreaterThan(0);
      for (const env of named) expect(message).toContain(env);
    });
  });
}
