import { startSubscriber, type TestSubscriber } from '@eventing/testing';
import { openTarget, type ConformanceTarget } from './target';
import {
  Mesh,
  broker,
  ceHeaders,
  postBinary,
  postStructured,
  quietPeriod,
  trigger,
  waitForId,
  withId,
} from './mesh';

// Broker ingress over HTTP (CONFORMANCE 2.2, 2.10): status codes, accepted content modes and versions.

const MAX_BODY_BYTES = Number(process.env['CONFORMANCE_MAX_BODY_BYTES'] ?? 4 * 1024 * 1024);

describe('broker ingress (2.2)', () => {
  let target: ConformanceTarget;
  let mesh: Mesh;
  let sub: TestSubscriber;
  let ingress: string;
  const TYPE = 'dev.conformance.ingress';

  beforeAll(async () => {
    target = await openTarget();
    mesh = new Mesh(target, 'ingress');
    sub = await startSubscriber();
    ingress = mesh.brokerUrl('br');
    await mesh.deploy(
      'ingress',
      broker(mesh.namespace, 'br'),
      trigger(mesh.namespace, 'all', 'br', sub.url, { type: TYPE }),
    );
  }, 120_000);

  afterAll(async () => {
    await target?.close();
    await sub?.close();
  });

  it('B1/B13: POST /<ns>/<broker> answers 202, a trailing slash is tolerated', async () => {
    const res = await postBinary(ingress, ceHeaders('b1-plain', TYPE));
    expect(res.status).toBe(202);
    expect((await postBinary(`${ingress}/`, ceHeaders('b1-slash', TYPE))).status).toBe(202);
    await waitForId(sub, 'b1-plain');
    await waitForId(sub, 'b1-slash');
  });

  it('B1: / alone answers 404, any other number of path segments 400', async () => {
    expect((await postBinary(`${target.baseUrl}/`, ceHeaders('b1-root', TYPE))).status).toBe(404);
    expect((await postBinary(`${target.baseUrl}/${mesh.namespace}`, ceHeaders('b1-one', TYPE))).status).toBe(
      400,
    );
    expect((await postBinary(`${ingress}/extra`, ceHeaders('b1-three', TYPE))).status).toBe(400);
    expect((await postBinary(`${ingress}/extra/more`, ceHeaders('b1-four', TYPE))).status).toBe(400);
  });

  it('B2: OPTIONS answers 200 with Allow: POST, OPTIONS and the WebHook headers', async () => {
    const res = await fetch(ingress, { method: 'OPTIONS' });
    expect(res.status).toBe(200);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
    expect(res.headers.get('webhook-allowed-origin')).toBe('*');
    expect(res.headers.get('webhook-allowed-rate')).toBe('*');
  });

  it.each(['GET', 'PUT', 'DELETE', 'PATCH'])('B3: %s answers exactly 405', async (method) => {
    const res = await fetch(ingress, { method, ...(method === 'GET' ? {} : { body: '{}' }) });
    expect(res.status).toBe(405);
  });

  it.each([
    ['no ce-* headers (plain JSON)', { 'content-type': 'application/json' }, '{"hello":1}'],
    ['missing id', { 'ce-specversion': '1.0', 'ce-source': '/x', 'ce-type': TYPE }, '{}'],
    ['missing source', { 'ce-specversion': '1.0', 'ce-id': 'x', 'ce-type': TYPE }, '{}'],
    ['missing type', { 'ce-specversion': '1.0', 'ce-id': 'x', 'ce-source': '/x' }, '{}'],
    ['missing specversion', { 'ce-id': 'x', 'ce-source': '/x', 'ce-type': TYPE }, '{}'],
    [
      'unknown specversion 2.0',
      { 'ce-specversion': '2.0', 'ce-id': 'x', 'ce-source': '/x', 'ce-type': TYPE },
      '{}',
    ],
    ['structured, not JSON', { 'content-type': 'application/cloudevents+json' }, '{"specversion":'],
    [
      'structured, missing id',
      { 'content-type': 'application/cloudevents+json' },
      `{"specversion":"1.0","source":"/x","type":"${TYPE}"}`,
    ],
    [
      'structured, empty id',
      { 'content-type': 'application/cloudevents+json' },
      `{"specversion":"1.0","id":"","source":"/x","type":"${TYPE}"}`,
    ],
  ])('B4: %s answers 400, before the broker lookup', async (_what, headers, body) => {
    expect((await fetch(ingress, { method: 'POST', headers, body })).status).toBe(400);
    // Checked before the lookup: an unknown broker still answers 400, not 404.
    expect((await fetch(mesh.brokerUrl('no-such-broker'), { method: 'POST', headers, body })).status).toBe(
      400,
    );
  });

  it('B5: a valid event for an unknown broker or namespace answers 404', async () => {
    expect((await postBinary(mesh.brokerUrl('no-such-broker'), ceHeaders('b5', TYPE))).status).toBe(404);
    expect((await postBinary(`${target.baseUrl}/no-such-namespace/br`, ceHeaders('b5', TYPE))).status).toBe(
      404,
    );
  });

  it('B6/E1: specversion 0.3 is accepted in binary and structured mode and delivered as 0.3', async () => {
    const binary = await postBinary(
      ingress,
      ceHeaders('b6-binary', TYPE, { 'ce-specversion': '0.3' }),
      '{"v":3}',
    );
    expect(binary.status).toBe(202);
    const structured = await postStructured(ingress, {
      specversion: '0.3',
      id: 'b6-structured',
      source: '/x',
      type: TYPE,
      data: { v: 3 },
    });
    expect(structured.status).toBe(202);
    const [b] = await waitForId(sub, 'b6-binary');
    const [s] = await waitForId(sub, 'b6-structured');
    expect(b!.headers['ce-specversion']).toBe('0.3');
    expect(s!.headers['ce-specversion']).toBe('0.3');
    expect(b!.body.toString()).toBe('{"v":3}');
    expect(JSON.parse(s!.body.toString())).toEqual({ v: 3 });
  });

  it('B7/E5: batch mode (application/cloudevents-batch+json) answers 400', async () => {
    const res = await fetch(ingress, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify([{ specversion: '1.0', id: 'b7', source: '/x', type: TYPE }]),
    });
    expect(res.status).toBe(400);
    await quietPeriod();
    expect(withId(sub, 'b7')).toHaveLength(0);
  });

  it('B9: every accepted event gets knativearrivaltime (RFC 3339) before delivery', async () => {
    const before = Date.now();
    expect((await postBinary(ingress, ceHeaders('b9', TYPE))).status).toBe(202);
    const [got] = await waitForId(sub, 'b9');
    const arrival = String(got!.headers['ce-knativearrivaltime']);
    expect(arrival).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    expect(Date.parse(arrival)).toBeGreaterThanOrEqual(before - 1_000);
    expect(Date.parse(arrival)).toBeLessThanOrEqual(Date.now() + 1_000);
  });

  it.each([
    ['1', 400],
    ['0', 400],
    ['-3', 400],
    ['2', 202],
    ['200', 202],
    ['not-a-number', 202],
  ])(
    'B10: knativebrokerttl %s answers %i (decremented; unparsable resets to the default; used up is refused)',
    async (ttl, status) => {
      const id = `b10-${ttl}`;
      const res = await postBinary(ingress, ceHeaders(id, TYPE, { 'ce-knativebrokerttl': ttl }));
      expect(res.status).toBe(status);
      if (status === 202) {
        const [got] = await waitForId(sub, id);
        // T4: the TTL never reaches the subscriber.
        expect(got!.headers['ce-knativebrokerttl']).toBeUndefined();
      } else {
        await quietPeriod();
        expect(withId(sub, id)).toHaveLength(0);
      }
    },
  );

  it('B14: ingress never answers with a reply event, even when asked with Prefer: reply', async () => {
    const res = await postBinary(ingress, ceHeaders('b14', TYPE, { prefer: 'reply' }));
    expect(res.status).toBe(202);
    expect(res.headers.get('ce-id')).toBeNull();
    expect(res.headers.get('content-type') ?? '').not.toContain('cloudevents');
    await waitForId(sub, 'b14');
  });

  it('2.10: a body over the size limit answers 413 (not retried by senders) and ingress keeps serving', async () => {
    const big = await postBinary(
      ingress,
      ceHeaders('big', TYPE, { 'content-type': 'application/octet-stream' }),
      Buffer.alloc(MAX_BODY_BYTES + 1, 1),
    );
    expect(big.status).toBe(413);
    const bigStructured = await postStructured(ingress, {
      specversion: '1.0',
      id: 'big-s',
      source: '/x',
      type: TYPE,
      data: 'x'.repeat(MAX_BODY_BYTES),
    });
    expect(bigStructured.status).toBe(413);
    const fits = await postBinary(
      ingress,
      ceHeaders('fits', TYPE, { 'content-type': 'application/octet-stream' }),
      Buffer.alloc(256 * 1024, 2),
    );
    expect(fits.status).toBe(202);
    const [got] = await waitForId(sub, 'fits');
    expect(got!.body.equals(Buffer.alloc(256 * 1024, 2))).toBe(true);
    await quietPeriod();
    expect(withId(sub, 'big')).toHaveLength(0);
    expect(withId(sub, 'big-s')).toHaveLength(0);
  });
});
