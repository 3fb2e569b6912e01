import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApps, ce, spawnApp, waitReady, writeContract, type AppProcess } from './app-process';
import { eventually, eventuallyAsync, startSubscriber, type TestSubscriber } from './subscriber';

// One suite for every channel dispatcher as it is deployed (the bundled process, settings in the
// environment, the contract in a file that changes under it): imc-dispatcher, kafka-channel-dispatcher,
// nats-channel-dispatcher. Each runs it against its store; what differs is the store and its settings.

export interface ChannelDispatcherSuite {
  /** The app under dist/apps. */
  app: string;
  /** The contract's store kind of its channels (`memory` is written as no store). */
  store: 'memory' | 'kafka' | 'jetstream';
  /** The environment beyond CONTRACT_PATH (where the store is, in-flight limits). */
  env(): Record<string, string>;
  /** Store settings of every channel (partitions, stream settings). */
  storeSettings?: object;
  /** How long one delivery may take to show up. Default 30 s. */
  timeoutMs?: number;
}

/** What the suite leaves to further tests of the same file. */
export interface ChannelDispatcherUnderTest {
  readonly app: AppProcess;
  readonly contractPath: string;
}

const policy = (retry: number) => ({ retry, backoffPolicy: 'linear', backoffDelayMs: 50 });

/**
 * Registers the suite (a describe block): ready once a contract is applied; every event posted at
 * `/<ns>/<channel>` or `/_channels/<ns>/<channel>` reaches every Subscription as received, replies go
 * to the reply; retries then the dead-letter sink; refusals (another store's channel, an unknown one,
 * a bad path); a contract edit applied live; exit 0 on SIGTERM.
 */
export function describeChannelDispatcher(suite: ChannelDispatcherSuite): ChannelDispatcherUnderTest {
  const ns = suite.app.split('-')[0]!;
  const timeout = suite.timeoutMs ?? 30_000;
  const channel = (uid: string, name: string) => ({
    uid,
    namespace: ns,
    name,
    ...(suite.store === 'memory' ? {} : { store: suite.store }),
    ...(suite.storeSettings ? { storeSettings: suite.storeSettings } : {}),
  });
  const sub = (uid: string, name: string, subscriberUri: string, extra: object = {}) => ({
    uid,
    namespace: ns,
    name: uid,
    channel: { namespace: ns, name },
    subscriberUri,
    policy: policy(0),
    format: 'binary',
    ...extra,
  });
  const ids = (s: TestSubscriber) => s.requests.map((r) => String(r.headers['ce-id']));
  const state = { dir: '', contractPath: '', app: undefined as AppProcess | undefined };
  const subscribers: Record<'a' | 'b' | 'failing' | 'deadLetters' | 'replies', TestSubscriber> = {} as never;
  const post = (path: string, id: string) =>
    fetch(`${state.app!.url}${path}`, { method: 'POST', headers: ce(id), body: `body-${id}` });

  describe(`${suite.app} process`, () => {
    beforeAll(async () => {
      buildApps(suite.app);
      state.dir = mkdtempSync(join(tmpdir(), `${suite.app}-`));
      state.contractPath = join(state.dir, 'contract.json');
      subscribers.a = await startSubscriber();
      subscribers.replies = await startSubscriber();
      // Answers every event with a reply event.
      subscribers.b = await startSubscriber((req) => ({
        status: 200,
        headers: ce(`reply-${String(req.headers['ce-id'])}`, 'test.reply'),
        body: 'reply',
      }));
      subscribers.failing = await startSubscriber(() => ({ status: 503 }));
      subscribers.deadLetters = await startSubscriber();
      state.app = await spawnApp(suite.app, { CONTRACT_PATH: state.contractPath, ...suite.env() });
    });

    afterAll(async () => {
      state.app?.kill('SIGKILL');
      await Promise.all(Object.values(subscribers).map((s) => s?.close()));
      if (state.dir) rmSync(state.dir, { recursive: true, force: true });
    });

    it('is not ready before a contract exists, and ready once it is applied (stores and consumers in place)', async () => {
      const { a, b, replies, failing, deadLetters } = subscribers;
      expect((await fetch(`${state.app!.url}/healthz`)).status).toBe(200);
      const before = await fetch(`${state.app!.url}/readyz`);
      expect(before.status).toBe(503);
      expect(await before.text()).toContain('no contract applied yet');
      writeContract(state.contractPath, {
        generation: 1,
        channels: [
          channel('c1', 'orders'),
          channel('c2', 'flaky'),
          {
            uid: 'c3',
            namespace: ns,
            name: 'elsewhere',
            store: suite.store === 'memory' ? 'kafka' : 'memory',
          },
        ],
        subscriptions: [
          sub('s-a', 'orders', a.url),
          sub('s-b', 'orders', b.url, { replyUri: replies.url }),
          sub('s-fail', 'flaky', failing.url, { policy: policy(2), deadLetterUri: deadLetters.url }),
        ],
      });
      await waitReady(state.app!.url, 60_000);
    });

    it('delivers every event posted at /<namespace>/<channel> to every subscription as received; replies go to the reply', async () => {
      const { a, b, replies } = subscribers;
      const sent = Array.from({ length: 20 }, (_, i) => `o${i}`);
      for (const id of sent) expect((await post(`/${ns}/orders`, id)).status).toBe(202);
      // The channel's address under /_channels/ works too.
      expect((await post(`/_channels/${ns}/orders`, 'o-prefixed')).status).toBe(202);
      const expected = [...sent, 'o-prefixed'].sort();
      await a.waitFor(21, timeout);
      await b.waitFor(21, timeout);
      await replies.waitFor(21, timeout);
      expect(ids(a).sort()).toEqual(expected);
      expect(ids(b).sort()).toEqual(expected);
      expect(ids(replies).sort()).toEqual(expected.map((id) => `reply-${id}`).sort());
      // C4: the event as received.
      const first = a.requests.find((r) => r.headers['ce-id'] === 'o0')!;
      expect(first.body.toString()).toBe('body-o0');
      expect(first.url).toBe('/');
      // Each subscription's consumer reports its backlog in the store: none once all is delivered.
      await eventuallyAsync('a backlog of 0 for s-a and s-b', async () => {
        const metrics = await (await fetch(`${state.app!.url}/metrics`)).text();
        return (
          ['s-a', 's-b'].every((name) =>
            metrics.includes(
              `eventing_consumer_backlog{namespace="${ns}",kind="Subscription",name="${name}"} 0\n`,
            ),
          ) || undefined
        );
      });
    });

    it('retries a failing subscriber, then dead-letters the event with the error extensions', async () => {
      const { failing, deadLetters } = subscribers;
      expect((await post(`/${ns}/flaky`, 'f1')).status).toBe(202);
      const [dead] = await deadLetters.waitFor(1, timeout);
      expect(failing.requests).toHaveLength(3); // 1 + retry 2
      expect(dead!.headers['ce-id']).toBe('f1');
      expect(dead!.headers['ce-knativeerrordest']).toBe(failing.url);
      expect(dead!.headers['ce-knativeerrorcode']).toBe('503');
      const metrics = await (await fetch(`${state.app!.url}/metrics`)).text();
      expect(metrics).toMatch(
        /eventing_delivery_outcomes_total\{[^}]*name="s-fail"[^}]*outcome="dead_lettered"[^}]*\} 1/,
      );
    });

    it.each([
      ['a channel of another store', 'elsewhere', 404],
      ['an unknown channel', 'nope', 404],
      ['three segments', 'orders/x', 400],
    ])('refuses %s', async (_what, name, status) => {
      const res = await post(`/${ns}/${name}`, 'x');
      expect(res.status).toBe(status);
      if (status === 400) expect(await res.text()).toContain('/<namespace>/<channel>');
    });

    it('applies a contract edit live: a new channel and subscription, a removed channel and subscription', async () => {
      const { a, b } = subscribers;
      const late = await startSubscriber();
      try {
        writeContract(state.contractPath, {
          generation: 2,
          channels: [channel('c1', 'orders'), channel('c4', 'added')],
          subscriptions: [sub('s-a', 'orders', a.url), sub('s-late', 'added', late.url)],
        });
        // The new channel is served once its store exists and its subscription's consumer runs.
        let status = 0;
        for (let i = 0; i < 200 && status !== 202; i++) {
          status = (await post(`/${ns}/added`, 'new-1')).status;
          if (status !== 202) await new Promise((r) => setTimeout(r, 100));
        }
        expect(status).toBe(202);
        await late.waitFor(1, timeout);
        expect(ids(late)).toEqual(['new-1']);
        expect((await post(`/${ns}/flaky`, 'gone')).status).toBe(404);
        // s-b left the contract: it receives nothing new, while s-a does.
        const bBefore = b.requests.length;
        expect((await post(`/${ns}/orders`, 'after-edit')).status).toBe(202);
        await eventually(() => ids(a).includes('after-edit'), timeout, 'the remaining subscriber');
        expect(b.requests.length).toBe(bBefore);
      } finally {
        await late.close();
      }
    });

    it('exits 0 on SIGTERM', async () => {
      state.app!.kill('SIGTERM');
      expect(await state.app!.exited).toBe(0);
      expect(state.app!.output()).toContain('SIGTERM received');
    });
  });

  return {
    get app() {
      if (!state.app) throw new Error('describeChannelDispatcher(): the app starts in beforeAll');
      return state.app;
    },
    get contractPath() {
      return state.contractPath;
    },
  };
}
