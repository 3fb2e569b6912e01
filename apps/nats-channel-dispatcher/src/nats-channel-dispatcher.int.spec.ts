import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSubscriber, withNats, type TestSubscriber } from '@eventing/testing';
import { buildApps, ce, spawnApp, waitReady, writeContract, type AppProcess } from '@eventing/testing';

// nats-channel-dispatcher as deployed (the bundled process, settings in the environment) against a
// real nats-server: NatsJetStreamChannels received at /<namespace>/<channel> and dispatched to their
// subscriptions.
jest.setTimeout(120_000);

const nats = withNats();
const policy = (retry: number) => ({ retry, backoffPolicy: 'linear', backoffDelayMs: 50 });
const sub = (uid: string, channel: string, subscriberUri: string, extra: object = {}) => ({
  uid,
  namespace: 'ncd',
  name: uid,
  channel: { namespace: 'ncd', name: channel },
  subscriberUri,
  policy: policy(0),
  format: 'binary',
  ...extra,
});
const channel = (uid: string, name: string) => ({
  uid,
  namespace: 'ncd',
  name,
  store: 'jetstream',
});

describe('nats-channel-dispatcher process', () => {
  let dir: string;
  let contractPath: string;
  let app: AppProcess;
  let a: TestSubscriber;
  let b: TestSubscriber;
  let failing: TestSubscriber;
  let deadLetters: TestSubscriber;
  let replies: TestSubscriber;

  const post = (path: string, id: string) =>
    fetch(`${app.url}${path}`, { method: 'POST', headers: ce(id), body: `body-${id}` });
  const ids = (s: TestSubscriber) => s.requests.map((r) => String(r.headers['ce-id']));

  beforeAll(async () => {
    buildApps('nats-channel-dispatcher');
    dir = mkdtempSync(join(tmpdir(), 'ncd-'));
    contractPath = join(dir, 'contract.json');
    a = await startSubscriber();
    replies = await startSubscriber();
    b = await startSubscriber((req) => ({
      status: 200,
      headers: ce(`reply-${String(req.headers['ce-id'])}`, 'test.reply'),
      body: 'reply',
    }));
    failing = await startSubscriber(() => ({ status: 500 }));
    deadLetters = await startSubscriber();
    app = await spawnApp('nats-channel-dispatcher', {
      CONTRACT_PATH: contractPath,
      NATS_URL: nats.url,
      MAX_IN_FLIGHT: '16',
    });
  });

  afterAll(async () => {
    app?.kill('SIGKILL');
    await Promise.all([a, b, failing, deadLetters, replies].map((s) => s?.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns ready once the contract is applied (streams and durable consumers ensured)', async () => {
    expect((await fetch(`${app.url}/readyz`)).status).toBe(503);
    writeContract(contractPath, {
      generation: 1,
      channels: [
        channel('c1', 'orders'),
        channel('c2', 'flaky'),
        { uid: 'c3', namespace: 'ncd', name: 'in-memory' },
      ],
      subscriptions: [
        sub('s-a', 'orders', a.url),
        sub('s-b', 'orders', b.url, { replyUri: replies.url }),
        sub('s-fail', 'flaky', failing.url, { policy: policy(2), deadLetterUri: deadLetters.url }),
      ],
    });
    await waitReady(app.url, 60_000);
  });

  it('delivers every event posted at /<namespace>/<channel> to every subscription once JetStream has it', async () => {
    const sent = Array.from({ length: 50 }, (_, i) => `k${i}`);
    for (const id of sent) expect((await post('/ncd/orders', id)).status).toBe(202);
    await a.waitFor(50, 30_000);
    await b.waitFor(50, 30_000);
    await replies.waitFor(50, 30_000);
    expect(ids(a).sort()).toEqual([...sent].sort());
    expect(ids(b).sort()).toEqual([...sent].sort());
    expect(ids(replies).sort()).toEqual(sent.map((id) => `reply-${id}`).sort());
    expect(a.requests.find((r) => r.headers['ce-id'] === 'k0')!.body.toString()).toBe('body-k0');
  });

  it('retries a failing subscriber, then dead-letters the event', async () => {
    expect((await post('/ncd/flaky', 'f1')).status).toBe(202);
    const [dead] = await deadLetters.waitFor(1, 30_000);
    expect(failing.requests).toHaveLength(3);
    expect(dead!.headers['ce-id']).toBe('f1');
    expect(dead!.headers['ce-knativeerrorcode']).toBe('500');
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(
      /eventing_delivery_outcomes_total\{[^}]*name="s-fail"[^}]*outcome="dead_lettered"\} 1/,
    );
  });

  it('serves only channels stored in JetStream', async () => {
    expect((await post('/ncd/in-memory', 'x')).status).toBe(404);
  });

  it('applies a contract edit live', async () => {
    const late = await startSubscriber();
    try {
      writeContract(contractPath, {
        generation: 2,
        channels: [channel('c1', 'orders'), channel('c4', 'added')],
        subscriptions: [sub('s-a', 'orders', a.url), sub('s-late', 'added', late.url)],
      });
      // The new channel is served once its stream exists and its subscription's consumer runs.
      let status = 0;
      for (let i = 0; i < 200 && status !== 202; i++) {
        status = (await post('/ncd/added', 'new-1')).status;
        if (status !== 202) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(202);
      await late.waitFor(1, 30_000);
      expect(ids(late)).toEqual(['new-1']);
      expect((await post('/ncd/flaky', 'gone')).status).toBe(404);
    } finally {
      await late.close();
    }
  });
});
