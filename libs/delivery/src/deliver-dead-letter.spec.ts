import { Dispatcher, type DeliveryRequest } from './dispatcher';
import type { DeliveryPolicy } from './policy';
import { SubscriberServer } from '@eventing/testing';
import { testEvent } from './testing/events';

const retry2: DeliveryPolicy = { retry: 2, backoffPolicy: 'linear', backoffDelayMs: 0 };

describe('Dispatcher.deliver: dead letters (D1–D6)', () => {
  let subscriber: SubscriberServer;
  let dls: SubscriberServer;
  let dispatcher: Dispatcher;

  beforeEach(async () => {
    subscriber = await SubscriberServer.start();
    dls = await SubscriberServer.start([{ status: 202 }]);
    dispatcher = new Dispatcher();
  });
  afterEach(async () => {
    await dispatcher.close();
    await Promise.all([subscriber.close(), dls.close()]);
  });

  function request(extra: Partial<DeliveryRequest> = {}): DeliveryRequest {
    return {
      event: testEvent({ knativearrivaltime: '2026-01-01T00:00:00Z' }),
      headers: {
        'x-request-id': 'rid',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
      subscriberUri: `${subscriber.url}/sub`,
      namespace: 'ns1',
      format: 'binary',
      policy: retry2,
      deadLetterUri: `${dls.url}/dls`,
      malformedReply: 'fail',
      ...extra,
    };
  }

  it('D1/D2/D6: a non-retryable code sends the original event once to the DLS with error extensions', async () => {
    subscriber.setScript([{ status: 400, body: 'bad input' }]);
    const outcome = await dispatcher.deliver(request());
    expect(outcome).toEqual({ kind: 'dead-lettered', status: 400, attempts: 1, deadLetterStatus: 202 });
    expect(dls.requests).toHaveLength(1);
    const [dead] = dls.requests;
    expect(dead?.url).toBe('/dls');
    expect(dead?.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-id': 'evt-1',
      'ce-source': '/test/source',
      'ce-type': 'dev.test.event',
      'ce-knativearrivaltime': '2026-01-01T00:00:00Z',
      'ce-knativeerrordest': `${subscriber.url}/sub`,
      'ce-knativeerrorcode': '400',
      'ce-knativeerrordata': Buffer.from('bad input').toString('base64'),
      'content-type': 'application/json',
      'x-request-id': 'rid',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(dead?.headers.prefer).toBeUndefined();
    expect(dead?.headers['knative-error-dest']).toBeUndefined();
    expect(dead?.body.toString()).toBe('{"n":1}');
  });

  it('D1: retryable failures reach the DLS after all attempts, with the last status', async () => {
    subscriber.setScript([{ status: 500 }, { status: 503 }, { status: 429, body: 'slow down' }]);
    const outcome = await dispatcher.deliver(request());
    expect(outcome).toEqual({ kind: 'dead-lettered', status: 429, attempts: 3, deadLetterStatus: 202 });
    expect(dls.requests[0]?.headers['ce-knativeerrorcode']).toBe('429');
  });

  it('D2: network errors are recorded as 500; an empty body leaves knativeerrordata out', async () => {
    subscriber.setScript([{ destroy: true }]);
    const outcome = await dispatcher.deliver(request());
    expect(outcome).toMatchObject({ kind: 'dead-lettered', status: 500, attempts: 3 });
    expect(dls.requests[0]?.headers['ce-knativeerrorcode']).toBe('500');
    expect(dls.requests[0]?.headers['ce-knativeerrordata']).toBeUndefined();
  });

  it('D2: knativeerrordata is the base64 body cut to 1024 characters', async () => {
    const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));
    subscriber.setScript([{ status: 403, body }]);
    await dispatcher.deliver(request());
    const data = dls.requests[0]?.headers['ce-knativeerrordata'];
    expect(data).toHaveLength(1024);
    expect(data).toBe(body.toString('base64').slice(0, 1024));
  });

  it('D2: in structured mode the extensions sit in the JSON envelope', async () => {
    subscriber.setScript([{ status: 404, body: 'gone' }]);
    await dispatcher.deliver(request({ format: 'json', policy: { ...retry2, retry: 0 } }));
    const [dead] = dls.requests;
    expect(dead?.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    const json = JSON.parse(dead?.body.toString() ?? '{}') as Record<string, unknown>;
    expect(json).toMatchObject({ id: 'evt-1', knativeerrordest: `${subscriber.url}/sub`, data: { n: 1 } });
    expect(String(json.knativeerrorcode)).toBe('404');
    expect(json.knativeerrordata).toBe(Buffer.from('gone').toString('base64'));
  });

  it('D4: the DLS gets the same retry policy', async () => {
    subscriber.setScript([{ status: 500 }]);
    dls.setScript([{ status: 503 }, { status: 500 }, { status: 201 }]);
    const outcome = await dispatcher.deliver(request());
    expect(outcome).toEqual({ kind: 'dead-lettered', status: 500, attempts: 3, deadLetterStatus: 201 });
    expect(dls.requests).toHaveLength(3);
  });

  it('D4: a failing DLS fails the delivery with the subscriber status', async () => {
    subscriber.setScript([{ status: 502 }]);
    dls.setScript([{ status: 500 }]);
    const outcome = await dispatcher.deliver(request());
    expect(outcome).toMatchObject({ kind: 'failed', status: 502, attempts: 3 });
    if (outcome.kind === 'failed') expect(outcome.reason).toMatch(/dead letter sink .* failed/);
    expect(dls.requests).toHaveLength(3);
  });

  it('D4: a DLS answering a non-retryable code is tried once', async () => {
    subscriber.setScript([{ status: 500 }]);
    dls.setScript([{ status: 400 }]);
    const outcome = await dispatcher.deliver(request());
    expect(outcome).toMatchObject({ kind: 'failed', status: 500 });
    expect(dls.requests).toHaveLength(1);
  });

  it('D6: the DLS response body is ignored', async () => {
    subscriber.setScript([{ status: 400 }]);
    dls.setScript([{ status: 200, headers: { 'content-type': 'text/plain' }, body: 'whatever' }]);
    const outcome = await dispatcher.deliver(request());
    expect(outcome).toMatchObject({ kind: 'dead-lettered', deadLetterStatus: 200 });
  });

  it('D5: without a DLS the delivery fails with the last status', async () => {
    subscriber.setScript([{ status: 500 }, { status: 500 }, { status: 504 }]);
    const outcome = await dispatcher.deliver(request({ deadLetterUri: undefined }));
    expect(outcome).toMatchObject({ kind: 'failed', status: 504, attempts: 3 });
  });

  it('D1: a successful delivery never touches the DLS', async () => {
    subscriber.setScript([{ status: 500 }, { status: 202 }]);
    const outcome = await dispatcher.deliver(request());
    expect(outcome).toEqual({ kind: 'delivered', status: 202, attempts: 2, replied: false });
    expect(dls.requests).toHaveLength(0);
  });
});
