import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startSubscriber, type TestSubscriber } from '@eventing/testing';
import { buildApps, ce, spawnApp, waitReady, writeContract, type AppProcess } from '@eventing/testing';

// imc-dispatcher as it is deployed: the bundled process, settings in the environment, the contract
// in a file that changes under it.
jest.setTimeout(60_000);

const policy = (retry: number) => ({ retry, backoffPolicy: 'linear', backoffDelayMs: 50 });
const sub = (uid: string, channel: string, subscriberUri: string, extra: object = {}) => ({
  uid,
  namespace: 'ns',
  name: uid,
  channel: { namespace: 'ns', name: channel },
  subscriberUri,
  policy: policy(0),
  format: 'binary',
  ...extra,
});

describe('imc-dispatcher process', () => {
  let dir: string;
  let contractPath: string;
  let app: AppProcess;
  let a: TestSubscriber;
  let b: TestSubscriber;
  let failing: TestSubscriber;
  let deadLetters: TestSubscriber;
  let replies: TestSubscriber;

  const post = (path: string, id: string, extra: Record<string, string> = {}) =>
    fetch(`${app.url}${path}`, { method: 'POST', headers: ce(id, 'test.event', extra), body: `body-${id}` });
  const ids = (s: TestSubscriber) => s.requests.map((r) => String(r.headers['ce-id']));

  beforeAll(async () => {
    buildApps('imc-dispatcher');
    dir = mkdtempSync(join(tmpdir(), 'imc-'));
    contractPath = join(dir, 'contract.json');
    a = await startSubscriber();
    replies = await startSubscriber();
    // Answers every event with a reply event.
    b = await startSubscriber((req) => ({
      status: 200,
      headers: { ...ce(`reply-${String(req.headers['ce-id'])}`, 'test.reply') },
      body: 'reply',
    }));
    failing = await startSubscriber(() => ({ status: 503 }));
    deadLetters = await startSubscriber();
    app = await spawnApp('imc-dispatcher', { CONTRACT_PATH: contractPath, MAX_IN_FLIGHT: '8' });
  });

  afterAll(async () => {
    app?.kill('SIGKILL');
    await Promise.all([a, b, failing, deadLetters, replies].map((s) => s?.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('is not ready before a contract exists, and ready once it is applied', async () => {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    const before = await fetch(`${app.url}/readyz`);
    expect(before.status).toBe(503);
    expect(await before.text()).toContain('no contract applied yet');
    writeContract(contractPath, {
      generation: 1,
      channels: [
        { uid: 'c1', namespace: 'ns', name: 'orders' },
        { uid: 'c2', namespace: 'ns', name: 'flaky' },
        { uid: 'c3', namespace: 'ns', name: 'in-kafka', store: 'kafka' },
      ],
      subscriptions: [
        sub('s-a', 'orders', a.url),
        sub('s-b', 'orders', b.url, { replyUri: replies.url }),
        sub('s-fail', 'flaky', failing.url, { policy: policy(2), deadLetterUri: deadLetters.url }),
      ],
    });
    await waitReady(app.url);
  });

  it('delivers every event posted at /<namespace>/<channel> to every subscription, replies to the reply', async () => {
    for (let i = 0; i < 20; i++) expect((await post('/ns/orders', `o${i}`)).status).toBe(202);
    // The channel's address under /_channels/ works too.
    expect((await post('/_channels/ns/orders', 'o-prefixed')).status).toBe(202);
    await a.waitFor(21);
    await b.waitFor(21);
    await replies.waitFor(21);
    const expected = [...Array.from({ length: 20 }, (_, i) => `o${i}`), 'o-prefixed'].sort();
    expect(ids(a).sort()).toEqual(expected);
    expect(ids(b).sort()).toEqual(expected);
    expect(ids(replies).sort()).toEqual(expected.map((id) => `reply-${id}`).sort());
    // C4: the event as received.
    const first = a.requests.find((r) => r.headers['ce-id'] === 'o0')!;
    expect(first.body.toString()).toBe('body-o0');
    expect(first.url).toBe('/');
  });

  it('retries a failing subscriber, then dead-letters the event with the error extensions', async () => {
    expect((await post('/ns/flaky', 'f1')).status).toBe(202);
    const [dead] = await deadLetters.waitFor(1);
    expect(failing.requests).toHaveLength(3); // 1 + retry 2
    expect(dead!.headers['ce-id']).toBe('f1');
    expect(dead!.headers['ce-knativeerrordest']).toBe(failing.url);
    expect(dead!.headers['ce-knativeerrorcode']).toBe('503');
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/eventing_delivery_outcomes_total\{[^}]*outcome="dead_lettered"[^}]*\} 1/);
  });

  it.each([
    ['a channel of another store', '/ns/in-kafka', 404],
    ['an unknown channel', '/ns/nope', 404],
    ['three segments', '/ns/orders/x', 400],
  ])('refuses %s', async (_what, path, status) => {
    const res = await post(path, 'x');
    expect(res.status).toBe(status);
    if (status === 400) expect(await res.text()).toContain('/<namespace>/<channel>');
  });

  it('applies a contract edit live: a new subscription, a removed channel', async () => {
    const late = await startSubscriber();
    try {
      writeContract(contractPath, {
        generation: 2,
        channels: [{ uid: 'c1', namespace: 'ns', name: 'orders' }],
        subscriptions: [sub('s-a', 'orders', a.url), sub('s-late', 'orders', late.url)],
      });
      let delivered = false;
      for (let i = 0; i < 100 && !delivered; i++) {
        expect((await post('/ns/orders', `live-${i}`)).status).toBe(202);
        await new Promise((r) => setTimeout(r, 50));
        delivered = late.requests.length > 0;
      }
      expect(delivered).toBe(true);
      expect((await post('/ns/flaky', 'gone')).status).toBe(404);
      // s-b left the contract: it receives nothing new.
      const bBefore = b.requests.length;
      expect((await post('/ns/orders', 'after-edit')).status).toBe(202);
      await eventually(() => ids(late).includes('after-edit'), 5_000, 'the late subscriber');
      expect(b.requests.length).toBe(bBefore);
    } finally {
      await late.close();
    }
  });

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
