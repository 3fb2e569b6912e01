import { startSubscriber, type TestSubscriber } from '@eventing/testing';
import { openTarget, type ConformanceTarget } from './target';
import {
  Mesh,
  ceHeaders,
  channel,
  postBinary,
  postStructured,
  quietPeriod,
  subscription,
  waitForId,
  withId,
} from './mesh';

// InMemoryChannel ingress and dispatch over HTTP (CONFORMANCE 2.4, R5, 2.6 for channels).

describe('channels (2.4)', () => {
  let target: ConformanceTarget;
  let mesh: Mesh;
  let dls: TestSubscriber;
  const subscribers: TestSubscriber[] = [];

  async function subscriber(...args: Parameters<typeof startSubscriber>): Promise<TestSubscriber> {
    const s = await startSubscriber(...args);
    subscribers.push(s);
    return s;
  }

  beforeAll(async () => {
    target = await openTarget();
    mesh = new Mesh(target, 'channels');
    dls = await subscriber();
  }, 120_000);

  afterAll(async () => {
    await target?.close();
    await Promise.all(subscribers.map((s) => s.close()));
  });

  describe('ingress and fan-out', () => {
    let a: TestSubscriber;
    let b: TestSubscriber;
    let other: TestSubscriber;
    let url: string;

    beforeAll(async () => {
      a = await subscriber();
      b = await subscriber();
      other = await subscriber();
      const ns = mesh.namespace;
      await mesh.deploy(
        'fanout',
        channel(ns, 'fanout'),
        channel(ns, 'other'),
        subscription(ns, 'fanout-a', 'fanout', `${a.url}/a`),
        subscription(ns, 'fanout-b', 'fanout', `${b.url}/b`),
        subscription(ns, 'other', 'other', other.url),
      );
      url = mesh.channelUrl('fanout');
    });

    it('C2/C4/C5: 202, then every subscriber gets the event unchanged with Prefer: reply, Kn-Namespace and passthrough headers only', async () => {
      const producer = ceHeaders('c4', 'dev.conformance.channel', {
        'ce-subject': 'sub',
        'ce-myext': 'value',
        'content-type': 'application/octet-stream',
        'x-request-id': 'c4-req',
        'knative-hop': 'k',
        'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124',
        'x-private': 'no',
      });
      const data = Buffer.from([0, 1, 2, 255]);
      expect((await postBinary(url, producer, data)).status).toBe(202);
      for (const [sub, path] of [
        [a, '/a'],
        [b, '/b'],
      ] as const) {
        const [got] = await waitForId(sub, 'c4');
        expect(got!.url).toBe(path);
        for (const name of [
          'ce-specversion',
          'ce-id',
          'ce-source',
          'ce-type',
          'ce-subject',
          'ce-myext',
          'content-type',
        ]) {
          expect([name, got!.headers[name]]).toEqual([name, producer[name]]);
        }
        expect(got!.body.equals(data)).toBe(true);
        // A channel adds none of the broker extensions.
        expect(got!.headers['ce-knativearrivaltime']).toBeUndefined();
        expect(got!.headers['ce-knativebrokerttl']).toBeUndefined();
        expect(got!.headers['prefer']).toBe('reply');
        expect(got!.headers['kn-namespace']).toBe(mesh.namespace);
        expect(got!.headers['x-request-id']).toBe('c4-req');
        expect(got!.headers['knative-hop']).toBe('k');
        expect(got!.headers['x-b3-traceid']).toBe('463ac35c9f6413ad48485a3953bb6124');
        expect(got!.headers['x-private']).toBeUndefined();
      }
    });

    it('C1/E1: 0.3 and 1.0, binary and structured, are accepted and never upgraded', async () => {
      expect(
        (await postBinary(url, ceHeaders('c1-bin03', 'dev.conformance.channel', { 'ce-specversion': '0.3' })))
          .status,
      ).toBe(202);
      expect(
        (
          await postStructured(url, {
            specversion: '0.3',
            id: 'c1-st03',
            source: '/c',
            type: 'dev.conformance.channel',
            data: { v: 3 },
          })
        ).status,
      ).toBe(202);
      expect(
        (
          await postStructured(url, {
            specversion: '1.0',
            id: 'c1-st10',
            source: '/c',
            type: 'dev.conformance.channel',
            data: { v: 1 },
          })
        ).status,
      ).toBe(202);
      expect((await waitForId(a, 'c1-bin03'))[0]!.headers['ce-specversion']).toBe('0.3');
      const [st03] = await waitForId(a, 'c1-st03');
      expect(st03!.headers['ce-specversion']).toBe('0.3');
      expect(JSON.parse(st03!.body.toString())).toEqual({ v: 3 });
      const [st10] = await waitForId(a, 'c1-st10');
      expect(JSON.parse(st10!.body.toString())).toEqual({ v: 1 });
    });

    it('C3: the URL maps to exactly one channel', async () => {
      expect(
        (await postBinary(mesh.channelUrl('other'), ceHeaders('c3', 'dev.conformance.channel'))).status,
      ).toBe(202);
      await waitForId(other, 'c3');
      await quietPeriod();
      expect(withId(a, 'c3')).toHaveLength(0);
      expect(withId(b, 'c3')).toHaveLength(0);
    });

    it('C2: unknown channel 404, invalid event 400, GET 405, OPTIONS 200 with Allow and WebHook headers', async () => {
      expect(
        (await postBinary(mesh.channelUrl('no-such-channel'), ceHeaders('c2', 'dev.conformance.channel')))
          .status,
      ).toBe(404);
      expect(
        (await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' })).status,
      ).toBe(400);
      expect(
        (await postBinary(url, { 'ce-specversion': '1.0', 'ce-source': '/c', 'ce-type': 't' })).status,
      ).toBe(400);
      expect(
        (
          await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/cloudevents-batch+json' },
            body: '[]',
          })
        ).status,
      ).toBe(400);
      expect((await fetch(url)).status).toBe(405);
      expect((await fetch(url, { method: 'PUT', body: '{}' })).status).toBe(405);
      const options = await fetch(url, { method: 'OPTIONS' });
      expect(options.status).toBe(200);
      expect(options.headers.get('allow')).toBe('POST, OPTIONS');
      expect(options.headers.get('webhook-allowed-origin')).toBe('*');
      expect(options.headers.get('webhook-allowed-rate')).toBe('*');
    });

    it('C2: a channel with no subscribers accepts with 202', async () => {
      const name = mesh.unique('empty');
      await mesh.deploy(name, channel(mesh.namespace, name));
      expect(
        (await postBinary(mesh.channelUrl(name), ceHeaders('c2-empty', 'dev.conformance.channel'))).status,
      ).toBe(202);
    });
  });

  describe('replies and failures (R5, C8, D1–D3, Y1, Y2)', () => {
    it('R5/R1: with spec.reply the reply is POSTed to the reply URL (without Prefer: reply); without it the reply is dropped', async () => {
      const name = mesh.unique('reply');
      const replier = await subscriber((r) => ({
        status: 200,
        headers: {
          'ce-specversion': '1.0',
          'ce-id': `${String(r.headers['ce-id'])}-reply`,
          'ce-source': '/replier',
          'ce-type': 'dev.conformance.reply',
          'content-type': 'text/plain',
        },
        body: 'the reply',
      }));
      const replies = await subscriber();
      await mesh.deploy(
        name,
        channel(mesh.namespace, name),
        subscription(mesh.namespace, `${name}-with`, name, `${replier.url}/with`, {
          reply: `${replies.url}/replies`,
        }),
        subscription(mesh.namespace, `${name}-without`, name, `${replier.url}/without`),
      );
      expect(
        (await postBinary(mesh.channelUrl(name), ceHeaders(`${name}-e`, 'dev.conformance.ask'))).status,
      ).toBe(202);
      const [reply] = await waitForId(replies, `${name}-e-reply`);
      expect(reply!.url).toBe('/replies');
      expect(reply!.headers['ce-type']).toBe('dev.conformance.reply');
      expect(reply!.body.toString()).toBe('the reply');
      expect(reply!.headers['prefer']).toBeUndefined();
      await waitForId(replier, `${name}-e`, 2);
      await quietPeriod();
      expect(withId(replies, `${name}-e-reply`)).toHaveLength(1);
    });

    it('R5: a retryable failure of the reply hop retries the whole delivery', async () => {
      const name = mesh.unique('replyfail');
      const replier = await subscriber((r) => ({
        status: 200,
        headers: {
          'ce-specversion': '1.0',
          'ce-id': `${String(r.headers['ce-id'])}-reply`,
          'ce-source': '/replier',
          'ce-type': 'dev.conformance.reply',
        },
        body: '',
      }));
      const replyTarget = await subscriber((_r, i) => ({ status: i === 0 ? 503 : 202 }));
      await mesh.deploy(
        name,
        channel(mesh.namespace, name),
        subscription(mesh.namespace, name, name, replier.url, {
          reply: replyTarget.url,
          delivery: { retry: 2, backoffDelay: 'PT0.02S' },
        }),
      );
      expect(
        (await postBinary(mesh.channelUrl(name), ceHeaders(`${name}-e`, 'dev.conformance.ask'))).status,
      ).toBe(202);
      await waitForId(replyTarget, `${name}-e-reply`, 2);
      await quietPeriod();
      expect(withId(replier, `${name}-e`)).toHaveLength(2);
      expect(withId(replyTarget, `${name}-e-reply`)).toHaveLength(2);
    });

    it('C8: a 2xx with a body that is not a CloudEvent is ignored: no reply, no retry', async () => {
      const name = mesh.unique('notce');
      const text = await subscriber(() => ({
        status: 200,
        headers: { 'content-type': 'text/plain' },
        body: 'just text',
      }));
      const replies = await subscriber();
      await mesh.deploy(
        name,
        channel(mesh.namespace, name),
        subscription(mesh.namespace, name, name, text.url, {
          reply: replies.url,
          delivery: { retry: 2, deadLetterSink: { uri: `${dls.url}/${name}` } },
        }),
      );
      expect(
        (await postBinary(mesh.channelUrl(name), ceHeaders(`${name}-e`, 'dev.conformance.c8'))).status,
      ).toBe(202);
      await waitForId(text, `${name}-e`);
      await quietPeriod();
      expect(withId(text, `${name}-e`)).toHaveLength(1);
      expect(replies.requests).toHaveLength(0);
      expect(withId(dls, `${name}-e`)).toHaveLength(0);
    });

    it('C8/D1/D2/D3/Y1: a failing subscriber is tried 1 + retry times, then the original event goes to the channel DLS', async () => {
      const name = mesh.unique('dls');
      const failing = await subscriber(() => ({ status: 500, body: 'broken' }));
      await mesh.deploy(
        name,
        channel(mesh.namespace, name, { deadLetterSink: { uri: `${dls.url}/channel-dls` } }),
        subscription(mesh.namespace, name, name, `${failing.url}/hook`, {
          delivery: { retry: 2, backoffDelay: 'PT0.02S' },
        }),
      );
      expect(
        (
          await postBinary(
            mesh.channelUrl(name),
            ceHeaders(`${name}-e`, 'dev.conformance.c8', { 'ce-myext': 'x', 'x-request-id': 'dls-req' }),
            '{"o":1}',
          )
        ).status,
      ).toBe(202);
      const [dead] = await waitForId(dls, `${name}-e`);
      expect(withId(failing, `${name}-e`)).toHaveLength(3);
      expect(dead!.url).toBe('/channel-dls');
      expect(dead!.headers['ce-myext']).toBe('x');
      expect(dead!.body.toString()).toBe('{"o":1}');
      expect(dead!.headers['ce-knativeerrordest']).toBe(`${failing.url}/hook`);
      expect(dead!.headers['ce-knativeerrorcode']).toBe('500');
      expect(Buffer.from(String(dead!.headers['ce-knativeerrordata']), 'base64').toString()).toBe('broken');
      // D6: passthrough headers, no Prefer: reply.
      expect(dead!.headers['x-request-id']).toBe('dls-req');
      expect(dead!.headers['prefer']).toBeUndefined();
    });

    it('1.6-8: a subscription delivery overrides the channel delivery', async () => {
      const name = mesh.unique('override');
      const failing = await subscriber(() => ({ status: 503 }));
      await mesh.deploy(
        name,
        channel(mesh.namespace, name, { retry: 4, deadLetterSink: { uri: `${dls.url}/channel-level` } }),
        subscription(mesh.namespace, name, name, failing.url, {
          delivery: { retry: 1, deadLetterSink: { uri: `${dls.url}/subscription-level` } },
        }),
      );
      expect(
        (await postBinary(mesh.channelUrl(name), ceHeaders(`${name}-e`, 'dev.conformance.c8'))).status,
      ).toBe(202);
      const [dead] = await waitForId(dls, `${name}-e`);
      expect(dead!.url).toBe('/subscription-level');
      expect(withId(failing, `${name}-e`)).toHaveLength(2);
    });

    it('Y2/D5: no delivery anywhere ⇒ one attempt, then the event is dropped', async () => {
      const name = mesh.unique('once');
      const failing = await subscriber(() => ({ status: 503 }));
      await mesh.deploy(
        name,
        channel(mesh.namespace, name),
        subscription(mesh.namespace, name, name, failing.url),
      );
      expect(
        (await postBinary(mesh.channelUrl(name), ceHeaders(`${name}-e`, 'dev.conformance.c8'))).status,
      ).toBe(202);
      await waitForId(failing, `${name}-e`);
      await quietPeriod();
      expect(withId(failing, `${name}-e`)).toHaveLength(1);
    });

    it('T8: a subscription with delivery.format json gets structured mode', async () => {
      const name = mesh.unique('json');
      const sub = await subscriber();
      await mesh.deploy(
        name,
        channel(mesh.namespace, name),
        subscription(mesh.namespace, name, name, sub.url, { delivery: { format: 'json' } }),
      );
      expect(
        (await postBinary(mesh.channelUrl(name), ceHeaders(`${name}-e`, 'dev.conformance.json'), '{"j":1}'))
          .status,
      ).toBe(202);
      const [got] = await waitForId(sub, `${name}-e`);
      expect(String(got!.headers['content-type'])).toMatch(/^application\/cloudevents\+json/);
      expect(JSON.parse(got!.body.toString())).toMatchObject({
        id: `${name}-e`,
        type: 'dev.conformance.json',
        data: { j: 1 },
      });
    });
  });
});
