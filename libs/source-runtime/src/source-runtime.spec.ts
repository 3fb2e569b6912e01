import { startSubscriber, type TestSubscriber } from '@eventing/testing';
import { PING_SOURCE_GROUP, SourceMetrics } from '@eventing/observability';
import { SourceClient, SourceEnvError, parseCeOverrides, readSourceEnv, sourceEvent } from './index';

describe('readSourceEnv (CONFORMANCE 4.4 adapter environment)', () => {
  it('reads K_SINK, K_CE_OVERRIDES, K_SINK_TIMEOUT, NAMESPACE, NAME and K_COMPONENT', () => {
    const env = readSourceEnv({
      K_SINK: 'http://broker-ingress.knative-eventing.svc.cluster.local/demo/default',
      K_CE_OVERRIDES: '{"extensions":{"team":"blue"}}',
      K_SINK_TIMEOUT: '3',
      NAMESPACE: 'demo',
      NAME: 'watcher',
      K_COMPONENT: 'apiserversource',
    });
    expect(env).toEqual({
      sink: 'http://broker-ingress.knative-eventing.svc.cluster.local/demo/default',
      ceOverrides: { extensions: { team: 'blue' } },
      caCerts: undefined,
      sinkTimeoutMs: 3000,
      namespace: 'demo',
      name: 'watcher',
      component: 'apiserversource',
    });
  });

  it.each([
    [{}, 'K_SINK: missing'],
    [{ K_SINK: '/relative' }, 'K_SINK: /relative: expected an absolute http or https URL'],
    [{ K_SINK: 'ftp://x' }, 'K_SINK: ftp://x: expected an absolute http or https URL'],
    [{ K_SINK: 'http://x', K_SINK_TIMEOUT: 'soon' }, 'K_SINK_TIMEOUT: soon'],
    [{ K_SINK: 'http://x', K_CE_OVERRIDES: '{' }, 'K_CE_OVERRIDES: not JSON'],
    [{ K_SINK: 'http://x', K_CE_OVERRIDES: '{"extensions":{"Bad":"x"}}' }, 'extensions.Bad'],
    [{ K_SINK: 'http://x', K_CE_OVERRIDES: '{"extensions":{"type":"x"}}' }, 'required attribute'],
    [{ K_SINK: 'http://x', K_CE_OVERRIDES: '{"extensions":{"n":1}}' }, 'extensions.n: expected a string'],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => readSourceEnv(env)).toThrow(SourceEnvError);
    expect(() => readSourceEnv(env)).toThrow(message);
  });

  it('an empty K_CE_OVERRIDES (as SinkBinding injects without overrides) means none', () => {
    expect(parseCeOverrides('')).toBeUndefined();
    expect(parseCeOverrides('{}')).toEqual({});
  });
});

describe('SourceClient', () => {
  let subscriber: TestSubscriber;
  let client: SourceClient;
  let metrics: SourceMetrics;
  let answers: number[];

  beforeEach(async () => {
    answers = [];
    subscriber = await startSubscriber((_req, i) => ({ status: answers[i] ?? 202 }));
    metrics = new SourceMetrics({ defaultMetrics: false });
    client = new SourceClient({ resourceGroup: PING_SOURCE_GROUP, metrics });
  });
  afterEach(async () => {
    await client.close();
    await subscriber.close();
  });

  it('sends in binary mode with the overrides, id and time filled in', async () => {
    const sink = client.envSink(
      readSourceEnv({
        K_SINK: subscriber.url + '/events',
        K_CE_OVERRIDES: '{"extensions":{"team":"blue"}}',
        NAMESPACE: 'demo',
        NAME: 'p',
      }),
    );
    const result = await sink.send(
      sourceEvent({
        type: 'dev.example.tick',
        source: '/example',
        subject: 's',
        datacontenttype: 'text/plain',
        data: Buffer.from('hi'),
      }),
    );
    expect(result).toEqual({ ok: true, status: 202, attempts: 1 });
    const [req] = await subscriber.waitFor(1);
    expect(req!.url).toBe('/events');
    expect(req!.headers['ce-specversion']).toBe('1.0');
    expect(req!.headers['ce-type']).toBe('dev.example.tick');
    expect(req!.headers['ce-source']).toBe('/example');
    expect(req!.headers['ce-subject']).toBe('s');
    expect(req!.headers['ce-team']).toBe('blue');
    expect(req!.headers['ce-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(String(req!.headers['ce-time']))).toBeGreaterThan(Date.now() - 10_000);
    expect(req!.headers['content-type']).toBe('text/plain');
    expect(req!.body.toString()).toBe('hi');
  });

  it('retries 5xx with backoff and counts each attempt, the first apart from the retries', async () => {
    answers = [503, 500, 202];
    const sink = client.sink({ namespace: 'demo', name: 'p', uri: subscriber.url });
    const result = await sink.send(
      sourceEvent({ type: 't', source: '/apis/v1/namespaces/demo/pingsources/p' }),
    );
    expect(result).toEqual({ ok: true, status: 202, attempts: 3 });
    expect(subscriber.requests).toHaveLength(3);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/pingsource_event_count\{[^}]*response_code="503"[^}]*\} 1/);
    expect(text).toMatch(/pingsource_retry_event_count\{[^}]*response_code="500"[^}]*\} 1/);
    expect(text).toMatch(/pingsource_retry_event_count\{[^}]*response_code="202"[^}]*\} 1/);
  });

  it('gives up after 1 + 5 attempts, and at once on a status that is not retried', async () => {
    answers = [500, 500, 500, 500, 500, 500, 400, 400];
    const sink = client.sink({ namespace: 'demo', name: 'p', uri: subscriber.url });
    const failed = await sink.send(sourceEvent({ type: 't', source: '/s' }));
    expect(failed).toMatchObject({ ok: false, status: 500, attempts: 6 });
    const refused = await sink.send(sourceEvent({ type: 't', source: '/s' }));
    expect(refused).toMatchObject({ ok: false, status: 400, attempts: 1 });
    expect(subscriber.requests).toHaveLength(7);
  });

  it('stops retrying when the signal aborts', async () => {
    answers = new Array(10).fill(503);
    const abort = new AbortController();
    const sink = client.sink({ namespace: 'demo', name: 'p', uri: subscriber.url });
    const sending = sink.send(sourceEvent({ type: 't', source: '/s' }), abort.signal);
    await subscriber.waitFor(1);
    abort.abort();
    const result = await sending;
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.reason).toContain('shutting down');
    expect(result.attempts).toBeLessThan(6);
  });
});
