import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ce,
  describeChannelDispatcher,
  spawnApp,
  startSubscriber,
  waitReady,
  writeContract,
} from '@eventing/testing';

// imc-dispatcher as it is deployed: the bundled process, settings in the environment, the contract
// in a file that changes under it. The queues live in its memory: on SIGTERM it delivers what it took.
jest.setTimeout(60_000);

describeChannelDispatcher({ app: 'imc-dispatcher', store: 'memory', env: () => ({ MAX_IN_FLIGHT: '8' }) });

const policy = { retry: 0, backoffPolicy: 'linear', backoffDelayMs: 50 };
const sub = (uid: string, channel: string, subscriberUri: string) => ({
  uid,
  namespace: 'ns',
  name: uid,
  channel: { namespace: 'ns', name: channel },
  subscriberUri,
  policy,
  format: 'binary',
});

describe('imc-dispatcher shutdown', () => {
  it('on SIGTERM stops taking events, delivers what it accepted, and exits 0', async () => {
    const slow = await startSubscriber(() => ({ status: 202, delayMs: 20 }));
    const dir2 = mkdtempSync(join(tmpdir(), 'imc-term-'));
    const path = join(dir2, 'contract.json');
    writeContract(path, {
      generation: 1,
      channels: [{ uid: 'c1', namespace: 'ns', name: 'slow' }],
      subscriptions: [sub('s-slow', 'slow', slow.url)],
    });
    const proc = await spawnApp('imc-dispatcher', { CONTRACT_PATH: path, MAX_IN_FLIGHT: '2' });
    try {
      await waitReady(proc.url);
      const accepted: string[] = [];
      for (let i = 0; i < 200; i++) {
        const res = await fetch(`${proc.url}/ns/slow`, { method: 'POST', headers: ce(`t${i}`) });
        if (res.status === 202) accepted.push(`t${i}`);
      }
      expect(accepted).toHaveLength(200);
      // 2 in flight × 20 ms: most of the 200 are still queued now.
      expect(slow.requests.length).toBeLessThan(150);
      proc.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      expect(new Set(slow.requests.map((r) => String(r.headers['ce-id'])))).toEqual(new Set(accepted));
      expect(proc.output()).toContain('SIGTERM received');
    } finally {
      proc.kill('SIGKILL');
      await slow.close();
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
