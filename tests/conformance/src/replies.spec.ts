import {
  startSubscriber,
  type RecordedRequest,
  type ScriptedResponse,
  type TestSubscriber,
} from '@eventing/testing';
import { openTarget, type ConformanceTarget } from './target';
import { Mesh, broker, ceHeaders, postBinary, quietPeriod, trigger, waitForId, withId } from './mesh';

// Replies from trigger subscribers and the TTL loop guard (CONFORMANCE 2.5, 2.11, B10, T9–T11).

const MAX_TTL = Number(process.env['CONFORMANCE_MAX_TTL'] ?? 255);

/** A binary-mode reply event. */
function binaryReply(
  status: number,
  id: string,
  type: string,
  extra: Record<string, string> = {},
  body = '{"reply":true}',
): ScriptedResponse {
  return {
    status,
    headers: {
      'ce-specversion': '1.0',
      'ce-id': id,
      'ce-source': '/replier',
      'ce-type': type,
      'content-type': 'application/json',
      ...extra,
    },
    body,
  };
}

/** The id of the event a request carries, for building reply ids. */
const idOf = (r: RecordedRequest) => String(r.headers['ce-id']);

describe('replies and loops (2.5, 2.11)', () => {
  let target: ConformanceTarget;
  let mesh: Mesh;
  let ingress: string;
  let sink: TestSubscriber;
  let dls: TestSubscriber;
  const subscribers: TestSubscriber[] = [];

  async function subscriber(...args: Parameters<typeof startSubscriber>): Promise<TestSubscriber> {
    const s = await startSubscriber(...args);
    subscribers.push(s);
    return s;
  }

  /** Deploys a trigger on the shared broker; `extra` goes into the trigger options. */
  async function on(subscriberUrl: string, opts: Parameters<typeof trigger>[4]): Promise<void> {
    const name = mesh.unique('t');
    await mesh.deploy(name, trigger(mesh.namespace, name, 'br', subscriberUrl, opts));
  }

  beforeAll(async () => {
    target = await openTarget();
    mesh = new Mesh(target, 'replies');
    ingress = mesh.brokerUrl('br');
    sink = await subscriber();
    dls = await subscriber();
    await mesh.deploy('broker', broker(mesh.namespace, 'br'));
  }, 120_000);

  afterAll(async () => {
    await target?.close();
    await Promise.all(subscribers.map((s) => s.close()));
  });

  it('R2/R3/T11: a 200 binary reply re-enters the broker and reaches triggers matching it, data and attributes intact', async () => {
    const replier = await subscriber((r) =>
      binaryReply(
        200,
        `${idOf(r)}-reply`,
        'dev.conformance.r3.reply',
        { 'ce-subject': 'answer' },
        '{"answer":42}',
      ),
    );
    await on(replier.url, { type: 'dev.conformance.r3.ask' });
    await on(`${sink.url}/r3`, { type: 'dev.conformance.r3.reply' });
    expect((await postBinary(ingress, ceHeaders('r3', 'dev.conformance.r3.ask'))).status).toBe(202);
    const [reply] = await waitForId(sink, 'r3-reply');
    expect(reply!.url).toBe('/r3');
    expect(reply!.headers['ce-source']).toBe('/replier');
    expect(reply!.headers['ce-subject']).toBe('answer');
    expect(reply!.body.toString()).toBe('{"answer":42}');
    // The reply passed broker ingress again: arrival time set, TTL stripped, Prefer: reply to the subscriber.
    expect(reply!.headers['ce-knativearrivaltime']).toBeDefined();
    expect(reply!.headers['ce-knativebrokerttl']).toBeUndefined();
    expect(reply!.headers['prefer']).toBe('reply');
  });

  it('R3: replies are evaluated against all triggers, including the one that produced them', async () => {
    const origin = await subscriber((r) =>
      r.headers['ce-type'] === 'dev.conformance.self.ask'
        ? binaryReply(200, `${idOf(r)}-reply`, 'dev.conformance.self.reply')
        : { status: 202 },
    );
    await on(origin.url, { filters: [{ prefix: { type: 'dev.conformance.self.' } }] });
    expect((await postBinary(ingress, ceHeaders('self', 'dev.conformance.self.ask'))).status).toBe(202);
    await waitForId(origin, 'self-reply');
    await quietPeriod();
    expect(origin.requests.map(idOf)).toEqual(['self', 'self-reply']);
  });

  it('R2: a structured-mode reply in a 200 is routed', async () => {
    const replier = await subscriber((r) => ({
      status: 200,
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: `${idOf(r)}-reply`,
        source: '/replier',
        type: 'dev.conformance.structured.reply',
        data: { s: 1 },
      }),
    }));
    await on(replier.url, { type: 'dev.conformance.structured.ask' });
    await on(`${sink.url}/structured`, { type: 'dev.conformance.structured.reply' });
    expect(
      (await postBinary(ingress, ceHeaders('structured', 'dev.conformance.structured.ask'))).status,
    ).toBe(202);
    const [reply] = await waitForId(sink, 'structured-reply');
    expect(JSON.parse(reply!.body.toString())).toEqual({ s: 1 });
  });

  it('R2 (U, upstream choice): a CloudEvent in a 202 response is routed as a reply too', async () => {
    const replier = await subscriber((r) =>
      binaryReply(202, `${idOf(r)}-reply`, 'dev.conformance.r202.reply'),
    );
    await on(replier.url, { type: 'dev.conformance.r202.ask' });
    await on(`${sink.url}/r202`, { type: 'dev.conformance.r202.reply' });
    expect((await postBinary(ingress, ceHeaders('r202', 'dev.conformance.r202.ask'))).status).toBe(202);
    await waitForId(sink, 'r202-reply');
  });

  it('T9: a binary reply without data (only ce-* headers) is routed; an empty 2xx without ce-* headers is no reply', async () => {
    const replier = await subscriber((r) =>
      idOf(r) === 't9-empty'
        ? { status: 200 }
        : {
            status: 200,
            headers: {
              'ce-specversion': '1.0',
              'ce-id': `${idOf(r)}-reply`,
              'ce-source': '/replier',
              'ce-type': 'dev.conformance.t9.reply',
            },
          },
    );
    await on(replier.url, { type: 'dev.conformance.t9.ask' });
    await on(`${sink.url}/t9`, { type: 'dev.conformance.t9.reply' });
    expect((await postBinary(ingress, ceHeaders('t9-nodata', 'dev.conformance.t9.ask'))).status).toBe(202);
    expect((await postBinary(ingress, ceHeaders('t9-empty', 'dev.conformance.t9.ask'))).status).toBe(202);
    const [reply] = await waitForId(sink, 't9-nodata-reply');
    expect(reply!.body).toHaveLength(0);
    await quietPeriod();
    expect(sink.requests.filter((r) => r.url === '/t9').map(idOf)).toEqual(['t9-nodata-reply']);
    expect(withId(replier, 't9-empty')).toHaveLength(1);
  });

  it('R9-style: a subscriber passes an event on by answering 200 with it (type changed); an empty 2xx drops it', async () => {
    const passer = await subscriber((r) => {
      if (r.headers['ce-id'] === 'r9-drop') return { status: 202 };
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(r.headers))
        if (name.startsWith('ce-') && typeof value === 'string') headers[name] = value;
      return {
        status: 200,
        headers: {
          ...headers,
          'ce-type': 'dev.conformance.r9.passed',
          'content-type': String(r.headers['content-type']),
        },
        body: r.body,
      };
    });
    await on(passer.url, { type: 'dev.conformance.r9.in' });
    await on(`${sink.url}/r9`, { type: 'dev.conformance.r9.passed' });
    expect(
      (
        await postBinary(
          ingress,
          ceHeaders('r9', 'dev.conformance.r9.in', { 'ce-myext': 'kept' }),
          '{"pass":1}',
        )
      ).status,
    ).toBe(202);
    expect((await postBinary(ingress, ceHeaders('r9-drop', 'dev.conformance.r9.in'))).status).toBe(202);
    const [passed] = await waitForId(sink, 'r9');
    expect(passed!.headers['ce-myext']).toBe('kept');
    expect(passed!.body.toString()).toBe('{"pass":1}');
    await waitForId(passer, 'r9-drop');
    await quietPeriod();
    expect(withId(sink, 'r9-drop')).toHaveLength(0);
  });

  it('R6: the reply hop carries the passthrough headers of the subscriber response, not its other headers', async () => {
    const replier = await subscriber((r) =>
      binaryReply(200, `${idOf(r)}-reply`, 'dev.conformance.r6.reply', {
        'x-request-id': 'from-response',
        'knative-answer': 'yes',
        'x-private': 'no',
      }),
    );
    await on(replier.url, { type: 'dev.conformance.r6.ask' });
    await on(`${sink.url}/r6`, { type: 'dev.conformance.r6.reply' });
    expect(
      (
        await postBinary(
          ingress,
          ceHeaders('r6', 'dev.conformance.r6.ask', { 'x-request-id': 'from-producer' }),
        )
      ).status,
    ).toBe(202);
    const [reply] = await waitForId(sink, 'r6-reply');
    expect(reply!.headers['x-request-id']).toBe('from-response');
    expect(reply!.headers['knative-answer']).toBe('yes');
    expect(reply!.headers['x-private']).toBeUndefined();
    expect(reply!.headers['kn-namespace']).toBe(mesh.namespace);
  });

  it('R7/T10: a 2xx with a non-empty body that is not a CloudEvent fails the delivery (502): retried, then dead-lettered', async () => {
    const bad = await subscriber(() => ({
      status: 200,
      headers: { 'content-type': 'text/plain' },
      body: 'not an event',
    }));
    await on(bad.url, {
      type: 'dev.conformance.r7',
      delivery: { retry: 1, backoffDelay: 'PT0.02S', deadLetterSink: { uri: `${dls.url}/r7` } },
    });
    expect((await postBinary(ingress, ceHeaders('r7', 'dev.conformance.r7'))).status).toBe(202);
    const [dead] = await waitForId(dls, 'r7');
    expect(withId(bad, 'r7')).toHaveLength(2);
    expect(dead!.headers['ce-knativeerrorcode']).toBe('502');
    expect(dead!.headers['ce-knativeerrordest']).toBe(bad.url);
  });

  it('R4: when the reply cannot be stored (its TTL is used up) the original event is dead-lettered', async () => {
    const replier = await subscriber((r) => binaryReply(200, `${idOf(r)}-reply`, 'dev.conformance.r4.reply'));
    await on(replier.url, {
      type: 'dev.conformance.r4.ask',
      delivery: { retry: 1, backoffDelay: 'PT0.02S', deadLetterSink: { uri: `${dls.url}/r4` } },
    });
    await on(`${sink.url}/r4`, { type: 'dev.conformance.r4.reply' });
    // TTL 2 → 1 at ingress; the reply comes back with 1 → 0 at ingress → refused with 400.
    expect(
      (
        await postBinary(
          ingress,
          ceHeaders('r4', 'dev.conformance.r4.ask', { 'ce-knativebrokerttl': '2' }),
          '{"original":true}',
        )
      ).status,
    ).toBe(202);
    const [dead] = await waitForId(dls, 'r4');
    expect(dead!.headers['ce-type']).toBe('dev.conformance.r4.ask');
    expect(dead!.body.toString()).toBe('{"original":true}');
    expect(dead!.headers['ce-knativeerrorcode']).toBe('400');
    expect(dead!.headers['ce-knativeerrordest']).toBe(ingress);
    expect(withId(replier, 'r4').length).toBeGreaterThanOrEqual(1);
    await quietPeriod();
    expect(withId(sink, 'r4-reply')).toHaveLength(0);
  });

  describe('TTL loop guard (B10, 2.11, R8)', () => {
    /** A trigger whose subscriber answers every event with another of the same type; returns the subscriber. */
    async function loop(type: string): Promise<TestSubscriber> {
      const looper = await subscriber((r, i) => binaryReply(200, `${type}-${i + 1}`, type));
      // retry 0: the last reply, refused at ingress, must not make the broker default retry it.
      await on(looper.url, { type, delivery: { retry: 0 } });
      return looper;
    }

    /** Waits until the subscriber saw `count` requests and then nothing more for a while. */
    async function settled(sub: TestSubscriber, count: number): Promise<number> {
      await sub.waitFor(count, 25_000);
      for (;;) {
        const seen = sub.requests.length;
        await quietPeriod(1_000);
        if (sub.requests.length === seen) return seen;
      }
    }

    it('B10/2.11: a subscriber replying with the same type loops until the TTL runs out: knativebrokerttl 10 ⇒ 9 deliveries', async () => {
      const looper = await loop('dev.conformance.loop10');
      expect(
        (
          await postBinary(
            ingress,
            ceHeaders('dev.conformance.loop10-0', 'dev.conformance.loop10', { 'ce-knativebrokerttl': '10' }),
          )
        ).status,
      ).toBe(202);
      expect(await settled(looper, 9)).toBe(9);
    }, 60_000);

    it(`B10/2.11: without a TTL the loop stops after the default ${MAX_TTL} deliveries`, async () => {
      const looper = await loop('dev.conformance.loopmax');
      expect(
        (await postBinary(ingress, ceHeaders('dev.conformance.loopmax-0', 'dev.conformance.loopmax'))).status,
      ).toBe(202);
      expect(await settled(looper, MAX_TTL)).toBe(MAX_TTL);
      expect(looper.requests.every((r) => r.headers['ce-knativebrokerttl'] === undefined)).toBe(true);
    }, 60_000);
  });
});
