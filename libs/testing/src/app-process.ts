import { execFileSync, spawn } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
export async function spawnApp(app: string, env: Record<string, string>): Promise<AppProcess> {
  const child = spawn(process.execPath, [`dist/apps/${app}/main.js`], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', ...env },
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
        return /listening on (http:\/\/[\d.:]+)/.exec(out)?.[1];
      },
      20_000,
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
