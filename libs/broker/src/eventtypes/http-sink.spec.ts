import { startSubscriber, type TestSubscriber } from '@eventing/testing';
import { observedTypesHttpSink } from './http-sink';
import { EventTypeRecorder } from './recorder';

const broker = {
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  namespace: 'shop',
  name: 'default',
  uid: 'b-1',
};
const event = (type: string) => ({
  attributes: { specversion: '1.0', id: '1', type, source: '/s' },
  data: undefined,
});

describe('observedTypesHttpSink: ingress hands observed types to the controller over HTTP', () => {
  let controller: TestSubscriber;
  let answers: { status: number; body: string }[];

  beforeEach(async () => {
    answers = [];
    controller = await startSubscriber((_req, i) => ({
      ...(answers[i] ?? { status: 202, body: '{"enabled":true,"created":[]}' }),
      headers: { 'content-type': 'application/json' },
    }));
  });
  afterEach(() => controller.close());

  it('POSTs {"items":[…]} as JSON', async () => {
    const recorder = new EventTypeRecorder({
      enabled: true,
      sink: observedTypesHttpSink(`${controller.url}/eventtypes/observed`),
    });
    recorder.observe(broker, event('a'));
    await recorder.settled();
    const [req] = await controller.waitFor(1);
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/eventtypes/observed');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req!.body.toString())).toEqual({
      items: [
        {
          reference: {
            apiVersion: 'eventing.knative.dev/v1',
            kind: 'Broker',
            namespace: 'shop',
            name: 'default',
          },
          referenceUid: 'b-1',
          type: 'a',
          source: '/s',
          schema: '',
          specversion: '1.0',
        },
      ],
    });
    expect(recorder.stats().handedOver).toBe(1);
    recorder.close();
  });

  it('a 5xx is tried again; enabled:false turns recording off for a while, remembering nothing', async () => {
    answers = [
      { status: 503, body: 'starting' },
      { status: 200, body: '{"enabled":false}' },
    ];
    const recorder = new EventTypeRecorder({
      enabled: true,
      retryDelayMs: 20,
      disabledRecheckMs: 300,
      sink: observedTypesHttpSink(controller.url),
    });
    recorder.observe(broker, event('a'));
    await recorder.settled();
    expect(controller.requests).toHaveLength(2);
    expect(recorder.enabled).toBe(false);
    expect(recorder.stats()).toMatchObject({ handedOver: 0, failures: 1, pending: 0 });
    recorder.observe(broker, event('a')); // off: not recorded
    await new Promise((r) => setTimeout(r, 400));
    expect(recorder.enabled).toBe(true);
    recorder.observe(broker, event('a')); // asked again, and accepted this time
    await recorder.settled();
    expect(controller.requests).toHaveLength(3);
    expect(recorder.stats().handedOver).toBe(1);
    recorder.close();
  });
});
