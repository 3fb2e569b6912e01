import type { CloudEvent } from '@eventing/cloudevents';
import { HTTP } from 'cloudevents';
import { Dispatcher, type DeliveryRequest, type ReplySink } from './dispatcher';
import type { DeliveryPolicy } from './policy';
import { SubscriberServer } from '@eventing/testing';
import { binaryReplyHeaders, testEvent } from './testing/events';

const retry2: DeliveryPolicy = { retry: 2, backoffPolicy: 'linear', backoffDelayMs: 0 };

/** A ReplySink that records what it stores and fails its first `failures` calls. */
class RecordingSink implements ReplySink {
  readonly stored: { event: CloudEvent; headers: Record<string, string> }[] = [];
  calls = 0;
  constructor(
    private failures = 0,
    readonly destination?: string,
  ) {}
  async send(event: CloudEvent, headers: Record<string, string>) {
    this.calls++;
    if (this.calls <= this.failures) return { ok: false as const, status: 503, reason: 'broker busy' };
    this.stored.push({ event, headers });
    return { ok: true as const };
  }
}

describe('Dispatcher.deliver: replies (R1–R7, T9–T11)', () => {
  let subscriber: SubscriberServer;
  let replyTarget: SubscriberServer;
  let dls: SubscriberServer;
  let dispatcher: Dispatcher;

  beforeEach(async () => {
    subscriber = await SubscriberServer.start();
    replyTarget = await SubscriberServer.start([{ status: 202 }]);
    dls = await SubscriberServer.start([{ status: 202 }]);
    dispatcher = new Dispatcher();
  });
  afterEach(async () => {
    await dispatcher.close();
    await Promise.all([subscriber.close(), replyTarget.close(), dls.close()]);
  });

  function request(extra: Partial<DeliveryRequest> = {}): DeliveryRequest {
    return {
      event: testEvent(),
      headers: { 'x-request-id': 'rid' },
      subscriberUri: subscriber.url,
      namespace: 'ns1',
      format: 'binary',
      policy: retry2,
      malformedReply: 'fail',
      ...extra,
    };
  }

  const replyAnswer = {
    status: 200,
    headers: binaryReplyHeaders({ 'x-request-id': 'from-sub', 'knative-hop': '2', 'x-private': 'no' }),
    body: 'pong',
  };

  it('T9: a 2xx with an empty body is delivered with no reply', async () => {
    subscriber.setScript([{ status: 202 }]);
    const outcome = await dispatcher.deliver(request({ reply: { uri: replyTarget.url } }));
    expect(outcome).toEqual({ kind: 'delivered', status: 202, attempts: 1, replied: false });
    expect(replyTarget.requests).toHaveLength(0);
  });

  it('R5/R6: a reply is POSTed to the reply URL with response passthrough headers and Kn-Namespace, no Prefer', async () => {
    subscriber.setScript([replyAnswer]);
    const outcome = await dispatcher.deliver(request({ reply: { uri: `${replyTarget.url}/replies` } }));
    expect(outcome).toEqual({ kind: 'delivered', status: 200, attempts: 1, replied: true });
    expect(replyTarget.requests).toHaveLength(1);
    const [req] = replyTarget.requests;
    expect(req?.url).toBe('/replies');
    expect(req?.headers).toMatchObject({
      'ce-id': 'reply-1',
      'ce-type': 'dev.test.reply',
      'x-request-id': 'from-sub',
      'knative-hop': '2',
      'kn-namespace': 'ns1',
    });
    expect(req?.headers.prefer).toBeUndefined();
    expect(req?.headers['x-private']).toBeUndefined();
    expect(req?.body.toString()).toBe('pong');
  });

  it('R2: a CloudEvent in a 202 is routed as a reply too (upstream behaviour)', async () => {
    subscriber.setScript([{ ...replyAnswer, status: 202 }]);
    const outcome = await dispatcher.deliver(request({ reply: { uri: replyTarget.url } }));
    expect(outcome).toEqual({ kind: 'delivered', status: 202, attempts: 1, replied: true });
    expect(replyTarget.requests).toHaveLength(1);
  });

  it('a binary reply without data (empty body, ce- headers) is a reply', async () => {
    const headers = binaryReplyHeaders();
    delete headers['content-type'];
    subscriber.setScript([{ status: 200, headers }]);
    const outcome = await dispatcher.deliver(request({ reply: { uri: replyTarget.url } }));
    expect(outcome).toMatchObject({ kind: 'delivered', replied: true });
    expect(replyTarget.requests[0]?.headers['ce-id']).toBe('reply-1');
  });

  it('a structured reply is forwarded in the delivery format (json)', async () => {
    const body = JSON.stringify({
      specversion: '1.0',
      id: 'r2',
      source: '/sub',
      type: 'dev.test.reply',
      datacontenttype: 'application/json',
      data: { ok: true },
    });
    subscriber.setScript([
      { status: 200, headers: { 'content-type': 'application/cloudevents+json' }, body },
    ]);
    const outcome = await dispatcher.deliver(request({ format: 'json', reply: { uri: replyTarget.url } }));
    expect(outcome).toMatchObject({ kind: 'delivered', replied: true });
    const [req] = replyTarget.requests;
    expect(req?.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    const decoded = HTTP.toEvent({ headers: req?.headers ?? {}, body: req?.body.toString() });
    expect(decoded).toMatchObject({ id: 'r2', data: { ok: true } });
  });

  it('R5: without a reply destination the reply is dropped', async () => {
    subscriber.setScript([replyAnswer]);
    const outcome = await dispatcher.deliver(request());
    expect(outcome).toEqual({ kind: 'delivered', status: 200, attempts: 1, replied: false });
  });

  it('R3/R6: a reply goes to a ReplySink with the response passthrough headers (the next hop adds Kn-Namespace)', async () => {
    subscriber.setScript([replyAnswer]);
    const sink = new RecordingSink();
    const outcome = await dispatcher.deliver(request({ reply: sink }));
    expect(outcome).toEqual({ kind: 'delivered', status: 200, attempts: 1, replied: true });
    expect(sink.stored).toHaveLength(1);
    expect(sink.stored[0]?.event.attributes).toMatchObject({ id: 'reply-1', type: 'dev.test.reply' });
    expect(sink.stored[0]?.event.data?.toString()).toBe('pong');
    expect(sink.stored[0]?.headers).toEqual({
      'x-request-id': 'from-sub',
      'knative-hop': '2',
    });
  });

  it('R4: a reply the sink cannot store fails the attempt, and the delivery is retried', async () => {
    subscriber.setScript([replyAnswer]);
    const sink = new RecordingSink(2);
    const outcome = await dispatcher.deliver(request({ reply: sink }));
    expect(outcome).toEqual({ kind: 'delivered', status: 200, attempts: 3, replied: true });
    expect(subscriber.requests).toHaveLength(3);
    expect(sink.stored).toHaveLength(1);
  });

  it('R4: a throwing sink counts as a failed store', async () => {
    subscriber.setScript([replyAnswer]);
    const sink: ReplySink = {
      send: () => Promise.reject(new Error('boom')),
    };
    const outcome = await dispatcher.deliver(request({ reply: sink, policy: { ...retry2, retry: 0 } }));
    expect(outcome).toMatchObject({ kind: 'failed', status: 500, attempts: 1 });
  });

  it('R4: reply hop exhausted ⇒ the ORIGINAL event is dead-lettered with knativeerrordest = reply URL', async () => {
    subscriber.setScript([replyAnswer]);
    replyTarget.setScript([{ status: 500, body: 'reply store down' }]);
    const outcome = await dispatcher.deliver(
      request({
        reply: { uri: `${replyTarget.url}/r` },
        deadLetterUri: dls.url,
        policy: { ...retry2, retry: 1 },
      }),
    );
    expect(outcome).toEqual({ kind: 'dead-lettered', status: 500, attempts: 2, deadLetterStatus: 202 });
    expect(subscriber.requests).toHaveLength(2);
    expect(replyTarget.requests).toHaveLength(2); // one reply attempt per delivery attempt
    const [dead] = dls.requests;
    expect(dead?.headers).toMatchObject({
      'ce-id': 'evt-1',
      'ce-type': 'dev.test.event',
      'ce-knativeerrordest': `${replyTarget.url}/r`,
      'ce-knativeerrorcode': '500',
      'ce-knativeerrordata': Buffer.from('reply store down').toString('base64'),
    });
    expect(dead?.body.toString()).toBe('{"n":1}');
  });

  it('R4: a failing ReplySink exhausted ⇒ dead letter with knativeerrordest "reply"', async () => {
    subscriber.setScript([replyAnswer]);
    const outcome = await dispatcher.deliver(
      request({ reply: new RecordingSink(10), deadLetterUri: dls.url, policy: { ...retry2, retry: 1 } }),
    );
    expect(outcome).toEqual({ kind: 'dead-lettered', status: 503, attempts: 2, deadLetterStatus: 202 });
    expect(dls.requests[0]?.headers).toMatchObject({
      'ce-id': 'evt-1',
      'ce-knativeerrordest': 'reply',
      'ce-knativeerrorcode': '503',
    });
  });

  it('R4/D2: a failing ReplySink that names its destination is named in knativeerrordest', async () => {
    subscriber.setScript([replyAnswer]);
    const sink = new RecordingSink(10, 'http://broker.local/ns/default');
    await dispatcher.deliver(
      request({ reply: sink, deadLetterUri: dls.url, policy: { ...retry2, retry: 0 } }),
    );
    expect(dls.requests[0]?.headers).toMatchObject({
      'ce-knativeerrordest': 'http://broker.local/ns/default',
    });
  });

  it('T10/R7: broker mode fails a non-empty non-CloudEvent 2xx body as 502, retried then dead-lettered', async () => {
    subscriber.setScript([{ status: 200, headers: { 'content-type': 'text/plain' }, body: 'not an event' }]);
    const outcome = await dispatcher.deliver(request({ deadLetterUri: dls.url }));
    expect(outcome).toEqual({ kind: 'dead-lettered', status: 502, attempts: 3, deadLetterStatus: 202 });
    expect(dls.requests[0]?.headers).toMatchObject({
      'ce-knativeerrordest': subscriber.url,
      'ce-knativeerrorcode': '502',
      'ce-knativeerrordata': Buffer.from('not an event').toString('base64'),
    });
  });

  it('T10: an invalid structured CloudEvent body is malformed too', async () => {
    subscriber.setScript([
      {
        status: 200,
        headers: { 'content-type': 'application/cloudevents+json' },
        body: '{"specversion":"1.0"}',
      },
    ]);
    const outcome = await dispatcher.deliver(request({ policy: { ...retry2, retry: 0 } }));
    expect(outcome).toMatchObject({ kind: 'failed', status: 502, attempts: 1 });
  });

  it('C8: channel mode ignores a non-CloudEvent 2xx body', async () => {
    subscriber.setScript([{ status: 200, headers: { 'content-type': 'text/plain' }, body: 'not an event' }]);
    const outcome = await dispatcher.deliver(
      request({ malformedReply: 'ignore', reply: { uri: replyTarget.url } }),
    );
    expect(outcome).toEqual({ kind: 'delivered', status: 200, attempts: 1, replied: false });
    expect(replyTarget.requests).toHaveLength(0);
  });

  it('a reply larger than maxResponseBytes fails the attempt (502)', async () => {
    const d = new Dispatcher({ maxResponseBytes: 512 });
    subscriber.setScript([{ ...replyAnswer, body: 'x'.repeat(4096) }]);
    const outcome = await d.deliver(
      request({ reply: { uri: replyTarget.url }, policy: { ...retry2, retry: 1 } }),
    );
    await d.close();
    expect(outcome).toMatchObject({ kind: 'failed', status: 502, attempts: 2 });
    expect(replyTarget.requests).toHaveLength(0);
  });
});
