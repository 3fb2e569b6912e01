import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { eventually, type AppProcess } from '@eventing/testing';

const ROOT = join(__dirname, '../../..');

/** Starts `dist/apps/standalone/main.js` with `args` and `env`, resolving once it serves. */
export async function spawnStandalone(args: string[], env: Record<string, string>): Promise<AppProcess> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'dist/apps/standalone/main.js'), '--port', '0', ...args],
    {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    const url = await eventually(
      () => {
        if (gone) throw new Error(`standalone exited before serving:\n${out}`);
        return /serving on (http:\/\/[\d.:]+)/.exec(out)?.[1];
      },
      30_000,
      'standalone to serve',
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
