import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSubscriber, type TestSubscriber } from '@eventing/testing';
import { brokerFilter } from './main';

// broker-filter as a running service (CONFORMANCE 2.3): one attempt per request, status mapping.

const policy = { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 0, timeoutMs: 2_000 };

const ce = (type: string, extra: Record<string, string> = {}) => ({
  'ce-specversion': '1.0',
  'ce-id': 'i1',
  'ce-source': '/src',
  'ce-type': type,
  'ce-knativebrokerttl': '200',
  'content-type': 'text/plain',
  ...extra,
});

describe('broker-filter service', () => {
  let dir: string;
  let ok: TestSubscriber;
  let empty202: TestSubscriber;
  let notCe: TestSubscriber;
  let replier: TestSubscriber;
  let failing: TestSubscriber;
  let service: Awaited<ReturnType<typeof brokerFilter.start>>;
  const trig = (name: string, url: string, type = 'match.me') => ({
    uid: `uid-${name}`,
    namespace: 'ns',
    name,
    broker: 'default',
    filter: { attributes: { type } },
    subscriberUri: url,
    policy,
    format: 'binary',
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'filter-'));
    ok = await startSubscriber(() => ({ status: 200 }));
    empty202 = await startSubscriber(() => ({ status: 202 }));
    notCe = await startSubscriber(() => ({ status: 200, body: 'not an event' }));
    replier = await startSubscriber(() => ({
      status: 200,
      headers: { 'ce-specversion': '1.0', 'ce-id': 'r', 'ce-source': '/r', 'ce-type': 'reply.type' },
      body: '',
    }));
    failing = await startSubscriber(() => ({ status: 500, body: 'boom' }));
    const contract = {
      version: 1,
      generation: 1,
      brokers: [],
      triggers: [
        trig('ok', ok.url + '/sink'),
        trig('empty', empty202.url),
        trig('notce', notCe.url),
        trig('replier', replier.url),
        trig('failing', failing.url + '/f'),
        trig('unreachable', 'http://127.0.0.1:1/nothing'),
      ],
    };
    writeFileSync(join(dir, 'contract.json'), JSON.stringify(contract));
    service = await brokerFilter.start({
      logLevel: 'warn',
      port: 0,
      host: '127.0.0.1',
      contractPath: join(dir, 'contract.json'),
      maxBodyBytes: 1 << 20,
      deliveryFrames: 'on',
      acceptFrames: 'on',
    });
  });

  afterAll(async () => {
    await service?.close();
    await Promise.all([ok, empty202, notCe, replier, failing].map((s) => s?.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (name: string, headers: Record<string, string>, body = 'data', uid = `uid-${name}`) =>
    fetch(`${service.url}/triggers/ns/${name}/${uid}`, { method: 'POST', headers, body });

  it('T4/T7: delivers without the TTL, with Prefer: reply and Kn-Namespace; T9 returns the subscriber status', async () => {
    const res = await post('ok', ce('match.me', { 'x-request-id': 'r-1' }));
    expect(res.status).toBe(200);
    const [got] = await ok.waitFor(1);
    expect(got!.url).toBe('/sink');
    expect(got!.headers['ce-knativebrokerttl']).toBeUndefined();
    expect(got!.headers['prefer']).toBe('reply');
    expect(got!.headers['kn-namespace']).toBe('ns');
    expect(got!.headers['x-request-id']).toBe('r-1');
    expect((await post('empty', ce('match.me'))).status).toBe(202);
  });

  it('T6: an event the filter rejects answers 200 with an empty body and is not delivered', async () => {
    const before = ok.requests.length;
    const res = await post('ok', ce('other.type'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(ok.requests.length).toBe(before);
  });

  it('T10: a 2xx with a body that is no CloudEvent answers 502', async () => {
    expect((await post('notce', ce('match.me'))).status).toBe(502);
  });

  it('T11: a reply event is returned with the same TTL', async () => {
    const res = await post('replier', ce('match.me'));
    expect(res.status).toBe(200);
    expect(res.headers.get('ce-type')).toBe('reply.type');
    expect(res.headers.get('ce-knativebrokerttl')).toBe('200');
  });

  it('T12: a subscriber error returns its status and where it failed', async () => {
    const res = await post('failing', ce('match.me'));
    expect(res.status).toBe(500);
    const body = (await res.json()) as { errdestination: string; errresponsebody: string };
    expect(body.errdestination).toBe(`${failing.url}/f`);
    expect(Buffer.from(body.errresponsebody, 'base64').toString()).toBe('boom');
  });

  it('T13: a network error answers 500', async () => {
    expect((await post('unreachable', ce('match.me'))).status).toBe(500);
  });

  it.each([
    ['T2 GET → 405', 'GET', '/triggers/ns/ok/uid-ok', ce('match.me'), 405],
    ['T1 bad path → 400', 'POST', '/triggers/ns/ok', ce('match.me'), 400],
    ['T1 unknown trigger → 404', 'POST', '/triggers/ns/nope/uid', ce('match.me'), 404],
    ['T1 uid mismatch → 400', 'POST', '/triggers/ns/ok/other-uid', ce('match.me'), 400],
    [
      'T3 no TTL → 400',
      'POST',
      '/triggers/ns/ok/uid-ok',
      { ...ce('match.me'), 'ce-knativebrokerttl': '' },
      400,
    ],
    ['not a CloudEvent → 400', 'POST', '/triggers/ns/ok/uid-ok', { 'content-type': 'text/plain' }, 400],
  ])('%s', async (_name, method, path, headers, status) => {
    const h = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== ''));
    const res = await fetch(service.url + path, {
      method,
      headers: h,
      body: method === 'GET' ? undefined : 'x',
    });
    expect(res.status).toBe(status);
    if (status === 405) expect(res.headers.get('allow')).toBe('POST');
  });
});
