import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { eventually, startSubscriber } from '@eventing/testing';

// The built program, as `npm start` runs it: flags, start-up output, probes, and exit on SIGTERM.
const root = join(__dirname, '../../..');

describe('standalone process', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'tools/build/build.mjs'), '--quiet', 'standalone'], {
      cwd: root,
    });
  });

  it('starts on the quickstart, serves, and exits 0 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['dist/apps/standalone/main.js', '--config', 'examples/quickstart', '--port', '0'],
      { cwd: root },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = await eventually(
        () => /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1],
        15_000,
        'the start-up line',
      );
      await eventually(
        () => out.includes('✓  PingSource default/heartbeat Ready'),
        10_000,
        'the resources to be ready',
      );
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

  it('SIGTERM during a burst: every event that got a 202 is delivered before the process exits', async () => {
    const subscriber = await startSubscriber(() => ({ status: 202, delayMs: 10 }));
    const dir = mkdtempSync(join(tmpdir(), 'sigterm-'));
    writeFileSync(
      join(dir, 'resources.yaml'),
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: all }
spec:
  broker: default
  subscriber: { uri: ${subscriber.url} }
`,
    );
    // 4 in flight × 10 ms ⇒ about 400 deliveries/s: a backlog is certain when SIGTERM arrives.
    const args = ['--config', dir, '--port', '0', '--log-format', 'json', '--max-in-flight', '4'];
    const child = spawn(process.execPath, ['dist/apps/standalone/main.js', ...args], { cwd: root });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const agent = new Agent({ connections: 32 });
    try {
      const url = await eventually(
        () => /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1],
        15_000,
        'the start-up line',
      );
      await eventually(() => out.includes('✓  Trigger default/all Ready'), 10_000, 'the trigger');
      const accepted = new Set<string>();
      let refused = 0;
      let next = 0;
      const sendOne = async (): Promise<void> => {
        const id = `e${next++}`;
        try {
          const res = await request(`${url}/default/default`, {
            method: 'POST',
            dispatcher: agent,
            headers: {
              'ce-specversion': '1.0',
              'ce-id': id,
              'ce-source': '/burst',
              'ce-type': 'burst',
              'content-type': 'application/json',
            },
            body: '{"n":1}',
          });
          await res.body.dump();
          if (res.statusCode === 202) accepted.add(id);
          else refused++;
        } catch {
          refused++;
        }
      };
      const worker = async () => {
        while (next < 3000 && refused < 200) await sendOne();
      };
      const workers = Array.from({ length: 16 }, worker);
      await eventually(() => accepted.size >= 500, 15_000, '500 accepted events');
      child.kill('SIGTERM');
      await Promise.all(workers);
      expect(await exited).toBe(0);
      const delivered = new Set(subscriber.requests.map((r) => String(r.headers['ce-id'])));
      const lost = [...accepted].filter((id) => !delivered.has(id));
      expect(accepted.size).toBeGreaterThanOrEqual(500);
      expect(lost).toEqual([]);
      expect(out).toMatch(/delivering \d+ queued event\(s\) before exiting/);
    } finally {
      child.kill('SIGKILL');
      await agent.close();
      await subscriber.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
