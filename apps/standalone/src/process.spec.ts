import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { eventually } from '@eventing/testing';

// The built program, as `npm start` runs it: flags, start-up output, probes, and exit on SIGTERM.
const root = join(__dirname, '../../..');

describe('standalone process', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'tools/build/build.mjs'), '--quiet', 'standalone'], { cwd: root });
  });

  it('starts on the quickstart, serves, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['dist/apps/standalone/main.js', '--config', 'examples/quickstart', '--port', '0'], { cwd: root });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = await eventually(() => /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1], 15_000, 'the start-up line');
      await eventually(() => out.includes('✓  PingSource default/heartbeat Ready'), 10_000, 'the resources to be ready');
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(out).toContain('SIGTERM received');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.each([
    [['--port', 'eighty'], /--port eighty: expected an integer/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--service', 'nodot=http://x'], /--service nodot=http:\/\/x: expected NAME.NAMESPACE=/],
  ])('rejects bad flags %j with exit code 2 and a hint', (args, message) => {
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, ['dist/apps/standalone/main.js', ...args], { cwd: root, stdio: 'pipe' });
    } catch (err) {
      const e = err as { status: number; stderr: Buffer };
      status = e.status;
      stderr = e.stderr.toString();
    }
    expect(status).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain('Usage: npm start --');
  });
});
