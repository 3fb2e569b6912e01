import { startSubscriber, type RecordedRequest, type TestSubscriber } from '@eventing/testing';
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

// Trigger delivery over HTTP (CONFORMANCE 2.3, 2.8, 2.9, 3, 1.6): what the subscriber receives.

/** The structured body of a recorded request. */
function structured(r: RecordedRequest): Record<string, unknown> {
  expect(String(r.headers['content-type'])).toMatch(/^application\/cloudevents\+json/);
  return JSON.parse(r.body.toString()) as Record<string, unknown>;
}

describe('trigger delivery (2.3, 2.8, 2.9)', () => {
  let target: ConformanceTarget;
  let mesh: Mesh;
  let sub: TestSubscriber;
  let ingress: string;

  beforeAll(async () => {
    target = await openTarget();
    mesh = new Mesh(target, 'delivery');
    sub = await startSubscriber();
    ingress = mesh.brokerUrl('br');
    const ns = mesh.namespace;
    await mesh.deploy(
      'delivery',
      broker(ns, 'br'),
      trigger(ns, 'default-format', 'br', `${sub.url}/default`, { type: 'dev.conformance.default' }),
      trigger(ns, 'json-format', 'br', `${sub.url}/json`, {
        type: 'dev.conformance.json',
        delivery: { format: 'json' },
      }),
      trigger(ns, 'binary-format', 'br', `${sub.url}/binary`, {
        type: 'dev.conformance.binary',
        delivery: { format: 'binary' },
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await target?.close();
    await sub?.close();
  });

  describe('content modes in and out (E1, T8)', () => {
    it('E1/T8: a binary event is delivered in binary mode by default, data byte for byte', async () => {
      const data = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
      const res = await postBinary(
        ingress,
        ceHeaders('e1-bin', 'dev.conformance.default', { 'content-type': 'application/octet-stream' }),
        data,
      );
      expect(res.status).toBe(202);
      const [got] = await waitForId(sub, 'e1-bin');
      expect(got!.url).toBe('/default');
      expect(got!.headers['ce-type']).toBe('dev.conformance.default');
      expect(got!.headers['content-type']).toBe('application/octet-stream');
      expect(got!.body.equals(data)).toBe(true);
    });

    it('E1/T8: a structured event is delivered in binary mode by default', async () => {
      const res = await postStructured(ingress, {
        specversion: '1.0',
        id: 'e1-struct',
        source: '/conformance',
        type: 'dev.conformance.default',
        datacontenttype: 'application/json',
        data: { order: 42, items: ['a', 'b'] },
      });
      expect(res.status).toBe(202);
      const [got] = await waitForId(sub, 'e1-struct');
      expect(got!.headers['ce-id']).toBe('e1-struct');
      expect(got!.headers['ce-source']).toBe('/conformance');
      expect(String(got!.headers['content-type'])).toMatch(/^application\/json/);
      expect(JSON.parse(got!.body.toString())).toEqual({ order: 42, items: ['a', 'b'] });
    });

    it('E1/T8: a structured event with data_base64 arrives in binary mode as the raw bytes', async () => {
      const data = Buffer.from([9, 8, 7, 0, 255]);
      const res = await postStructured(ingress, {
        specversion: '1.0',
        id: 'e1-b64',
        source: '/conformance',
        type: 'dev.conformance.default',
        datacontenttype: 'application/octet-stream',
        data_base64: data.toString('base64'),
      });
      expect(res.status).toBe(202);
      const [got] = await waitForId(sub, 'e1-b64');
      expect(got!.body.equals(data)).toBe(true);
    });

    it('T8: delivery.format json delivers in structured mode', async () => {
      const res = await postBinary(
        ingress,
        ceHeaders('t8-json', 'dev.conformance.json', { 'ce-subject': 'sub-1', 'ce-myext': 'v' }),
        '{"k":"v"}',
      );
      expect(res.status).toBe(202);
      const [got] = await waitForId(sub, 't8-json');
      expect(got!.url).toBe('/json');
      expect(got!.headers['ce-id']).toBeUndefined();
      const body = structured(got!);
      expect(body).toMatchObject({
        specversion: '1.0',
        id: 't8-json',
        source: '/conformance',
        type: 'dev.conformance.json',
        subject: 'sub-1',
        myext: 'v',
      });
      expect(body['data']).toEqual({ k: 'v' });
      expect(body['knativebrokerttl']).toBeUndefined();
    });

    it('T8: delivery.format json carries non-JSON data as data_base64', async () => {
      const data = Buffer.from([1, 2, 3, 0, 200]);
      const res = await postBinary(
        ingress,
        ceHeaders('t8-json-b64', 'dev.conformance.json', { 'content-type': 'application/octet-stream' }),
        data,
      );
      expect(res.status).toBe(202);
      const [got] = await waitForId(sub, 't8-json-b64');
      const body = structured(got!);
      expect(body['data_base64']).toBe(data.toString('base64'));
    });

    it('T8: delivery.format binary delivers a structured event in binary mode', async () => {
      const res = await postStructured(ingress, {
        specversion: '1.0',
        id: 't8-bin',
        source: '/conformance',
        type: 'dev.conformance.binary',
        data: { a: 1 },
      });
      expect(res.status).toBe(202);
      const [got] = await waitForId(sub, 't8-bin');
      expect(got!.url).toBe('/binary');
      expect(got!.headers['ce-id']).toBe('t8-bin');
      expect(JSON.parse(got!.body.toString())).toEqual({ a: 1 });
    });
  });

  describe('event fidelity (E2, E3, E7, T4, B6)', () => {
    it('E2: data and every producer attribute arrive unchanged', async () => {
      const producer = {
        'ce-specversion': '1.0',
        'ce-id': 'e2-all',
        'ce-source': 'https://example.com/conformance/src?x=1',
        'ce-type': 'dev.conformance.default',
        'ce-subject': 'the/subject',
        'ce-time': '2024-01-02T03:04:05.123Z',
        'ce-dataschema': 'https://example.com/schema.json',
        'ce-myextension': 'some value',
        'ce-otherext': '12',
        'content-type': 'text/plain; charset=utf-8',
      };
      const data = 'plain text body, ünïcødé ✓';
      expect((await postBinary(ingress, producer, data)).status).toBe(202);
      const [got] = await waitForId(sub, 'e2-all');
      // Header values arrive as they are (the default, as upstream Knative sends them) or percent-encoded
      // (HTTP binding 3.1.3.2, --header-encoding percent); comparing them decoded accepts both.
      for (const [name, value] of Object.entries(producer))
        expect([name, decodeURIComponent(String(got!.headers[name]))]).toEqual([name, value]);
      expect(got!.body.toString()).toBe(data);
    });

    it('E2/T8: structured in, structured out: attributes and JSON data unchanged', async () => {
      const event = {
        specversion: '1.0',
        id: 'e2-struct',
        source: '/conformance',
        type: 'dev.conformance.json',
        subject: 's',
        time: '2024-05-06T07:08:09Z',
        datacontenttype: 'application/json',
        myextension: 'x',
        data: { nested: { list: [1, 2, 3], text: 'ü' }, n: 1.5, b: false, nil: null },
      };
      expect((await postStructured(ingress, event)).status).toBe(202);
      const [got] = await waitForId(sub, 'e2-struct');
      expect(structured(got!)).toMatchObject(event);
    });

    it('E3/B9/T4: the system adds knativearrivaltime, strips knativebrokerttl, adds no error extensions', async () => {
      expect(
        (
          await postBinary(
            ingress,
            ceHeaders('e3', 'dev.conformance.default', { 'ce-knativebrokerttl': '42' }),
          )
        ).status,
      ).toBe(202);
      const [got] = await waitForId(sub, 'e3');
      expect(got!.headers['ce-knativearrivaltime']).toBeDefined();
      expect(got!.headers['ce-knativebrokerttl']).toBeUndefined();
      expect(Object.keys(got!.headers).filter((h) => h.startsWith('ce-knativeerror'))).toEqual([]);
    });

    it('E7: structured JSON number and boolean extensions arrive as their text after a binary hop', async () => {
      const res = await postStructured(ingress, {
        specversion: '1.0',
        id: 'e7',
        source: '/conformance',
        type: 'dev.conformance.default',
        seq: 5,
        flag: true,
      });
      expect(res.status).toBe(202);
      const [got] = await waitForId(sub, 'e7');
      expect(got!.headers['ce-seq']).toBe('5');
      expect(got!.headers['ce-flag']).toBe('true');
    });

    it('B6/E1: a 0.3 event delivered in structured mode stays 0.3', async () => {
      expect(
        (await postBinary(ingress, ceHeaders('b6-json', 'dev.conformance.json', { 'ce-specversion': '0.3' })))
          .status,
      ).toBe(202);
      const [got] = await waitForId(sub, 'b6-json');
      expect(structured(got!)['specversion']).toBe('0.3');
    });
  });

  describe('headers (2.9, T7, R1)', () => {
    it('T7/R1/2.9: the subscriber gets Prefer: reply, Kn-Namespace and the passthrough headers, nothing else of the producer', async () => {
      const res = await postBinary(
        ingress,
        ceHeaders('h-pass', 'dev.conformance.default', {
          'x-request-id': 'req-123',
          'knative-custom': 'kn-value',
          'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124',
          'x-b3-spanid': 'a2fb4a1d1a96d312',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          'x-custom-header': 'must not pass',
          authorization: 'Bearer producer-secret',
          cookie: 'session=1',
        }),
      );
      expect(res.status).toBe(202);
      const [got] = await waitForId(sub, 'h-pass');
      const h = got!.headers;
      expect(h['prefer']).toBe('reply');
      expect(h['kn-namespace']).toBe(mesh.namespace);
      expect(h['x-request-id']).toBe('req-123');
      expect(h['knative-custom']).toBe('kn-value');
      expect(h['x-b3-traceid']).toBe('463ac35c9f6413ad48485a3953bb6124');
      expect(h['x-b3-spanid']).toBe('a2fb4a1d1a96d312');
      // traceparent may be updated per hop (E3), but it is propagated: same trace id.
      expect(String(h['traceparent'])).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-0[01]$/);
      expect(h['x-custom-header']).toBeUndefined();
      expect(h['authorization']).toBeUndefined();
      expect(h['cookie']).toBeUndefined();
    });

    it('T7/2.9: structured-mode delivery carries the same headers', async () => {
      expect(
        (
          await postBinary(
            ingress,
            ceHeaders('h-json', 'dev.conformance.json', { 'x-request-id': 'req-json', 'x-other': 'no' }),
          )
        ).status,
      ).toBe(202);
      const [got] = await waitForId(sub, 'h-json');
      expect(got!.headers['prefer']).toBe('reply');
      expect(got!.headers['kn-namespace']).toBe(mesh.namespace);
      expect(got!.headers['x-request-id']).toBe('req-json');
      expect(got!.headers['x-other']).toBeUndefined();
    });
  });

  describe('filtering at delivery (T6, 3.1, 3.2, 3.4)', () => {
    // Each row gets a broker of its own with one trigger; the listed event ids must arrive, the rest not.
    type Row = [
      string,
      { attributes?: Record<string, string>; filters?: unknown[] },
      { id: string; headers?: Record<string, string>; structured?: Record<string, unknown> }[],
      string[],
    ];
    const rows: Row[] = [
      [
        'no filter matches everything',
        {},
        [{ id: 'a' }, { id: 'b', headers: { 'ce-type': 'other' } }],
        ['a', 'b'],
      ],
      [
        'attributes exact type, case-sensitive',
        { attributes: { type: 'com.x.a' } },
        [
          { id: 'a', headers: { 'ce-type': 'com.x.a' } },
          { id: 'b', headers: { 'ce-type': 'com.x.A' } },
        ],
        ['a'],
      ],
      [
        'attributes "" needs the attribute present and non-empty',
        { attributes: { subject: '' } },
        [{ id: 'a', headers: { 'ce-subject': 's' } }, { id: 'b' }],
        ['a'],
      ],
      [
        'attributes on an extension: missing fails',
        { attributes: { myext: 'v' } },
        [{ id: 'a', headers: { 'ce-myext': 'v' } }, { id: 'b' }, { id: 'c', headers: { 'ce-myext': 'w' } }],
        ['a'],
      ],
      [
        'attributes keys are ANDed',
        { attributes: { type: 't1', source: '/s1' } },
        [
          { id: 'a', headers: { 'ce-type': 't1', 'ce-source': '/s1' } },
          { id: 'b', headers: { 'ce-type': 't1', 'ce-source': '/s2' } },
        ],
        ['a'],
      ],
      [
        'attributes compare a structured number as text',
        { attributes: { seq: '5' } },
        [
          { id: 'a', structured: { seq: 5 } },
          { id: 'b', structured: { seq: 6 } },
        ],
        ['a'],
      ],
      [
        'filters exact',
        { filters: [{ exact: { type: 'com.x.a' } }] },
        [
          { id: 'a', headers: { 'ce-type': 'com.x.a' } },
          { id: 'b', headers: { 'ce-type': 'com.x.ab' } },
        ],
        ['a'],
      ],
      [
        'filters exact stringifies a structured number',
        { filters: [{ exact: { seq: '5' } }] },
        [{ id: 'a', structured: { seq: 5 } }],
        ['a'],
      ],
      [
        'filters prefix',
        { filters: [{ prefix: { type: 'com.x.' } }] },
        [
          { id: 'a', headers: { 'ce-type': 'com.x.y' } },
          { id: 'b', headers: { 'ce-type': 'com.y.x' } },
        ],
        ['a'],
      ],
      [
        'filters suffix',
        { filters: [{ suffix: { type: '.v1' } }] },
        [
          { id: 'a', headers: { 'ce-type': 'com.a.v1' } },
          { id: 'b', headers: { 'ce-type': 'com.a.v2' } },
        ],
        ['a'],
      ],
      [
        'filters all',
        { filters: [{ all: [{ prefix: { type: 'com.' } }, { exact: { source: '/s1' } }] }] },
        [
          { id: 'a', headers: { 'ce-type': 'com.a', 'ce-source': '/s1' } },
          { id: 'b', headers: { 'ce-type': 'com.a', 'ce-source': '/s2' } },
        ],
        ['a'],
      ],
      [
        'filters any',
        { filters: [{ any: [{ exact: { type: 'a' } }, { prefix: { source: '/x' } }] }] },
        [
          { id: 'a', headers: { 'ce-type': 'b', 'ce-source': '/xyz' } },
          { id: 'b', headers: { 'ce-type': 'a' } },
          { id: 'c', headers: { 'ce-type': 'b', 'ce-source': '/y' } },
        ],
        ['a', 'b'],
      ],
      [
        'filters not',
        { filters: [{ not: { exact: { type: 'a' } } }] },
        [
          { id: 'a', headers: { 'ce-type': 'b' } },
          { id: 'b', headers: { 'ce-type': 'a' } },
        ],
        ['a'],
      ],
      [
        'filters list is an implicit all',
        { filters: [{ prefix: { type: 'com.' } }, { suffix: { type: '.v1' } }] },
        [
          { id: 'a', headers: { 'ce-type': 'com.a.v1' } },
          { id: 'b', headers: { 'ce-type': 'com.a.v2' } },
        ],
        ['a'],
      ],
      [
        'non-empty filters win over filter',
        { attributes: { type: 'b' }, filters: [{ exact: { type: 'a' } }] },
        [
          { id: 'a', headers: { 'ce-type': 'a' } },
          { id: 'b', headers: { 'ce-type': 'b' } },
        ],
        ['a'],
      ],
      // CESQL (3.3, 3.4): evaluation errors (a missing attribute) make the expression fail.
      [
        'cesql comparison, missing attribute fails',
        { filters: [{ cesql: "myext = 'x'" }] },
        [{ id: 'a', headers: { 'ce-myext': 'x' } }, { id: 'b' }, { id: 'c', headers: { 'ce-myext': 'y' } }],
        ['a'],
      ],
      [
        'cesql EXISTS',
        { filters: [{ cesql: 'EXISTS myext' }] },
        [{ id: 'a', headers: { 'ce-myext': 'x' } }, { id: 'b' }],
        ['a'],
      ],
      [
        'not around a failing cesql passes',
        { filters: [{ not: { cesql: "myext = 'x'" } }] },
        [{ id: 'a' }, { id: 'b', headers: { 'ce-myext': 'x' } }],
        ['a'],
      ],
      [
        'cesql LIKE, AND, keywords case-insensitive',
        { filters: [{ cesql: "type like 'com.%.v1' and source = '/s'" }] },
        [
          { id: 'a', headers: { 'ce-type': 'com.a.v1', 'ce-source': '/s' } },
          { id: 'b', headers: { 'ce-type': 'com.a.v2', 'ce-source': '/s' } },
          { id: 'c', headers: { 'ce-type': 'com.a.v1', 'ce-source': '/t' } },
        ],
        ['a'],
      ],
      [
        'cesql integer cast of a structured number',
        { filters: [{ cesql: 'seq > 3' }] },
        [
          { id: 'a', structured: { seq: 5 } },
          { id: 'b', structured: { seq: 2 } },
        ],
        ['a'],
      ],
      [
        'empty filters leave the legacy filter in charge',
        { attributes: { type: 'b' }, filters: [] },
        [
          { id: 'a', headers: { 'ce-type': 'a' } },
          { id: 'b', headers: { 'ce-type': 'b' } },
        ],
        ['b'],
      ],
    ];

    // All rows are deployed as one file and exercised together, then checked row by row.
    const names = rows.map(() => '');
    beforeAll(async () => {
      const resources = rows.flatMap(([, filter], i) => {
        const name = (names[i] = mesh.unique('filter'));
        return [
          broker(mesh.namespace, name),
          trigger(mesh.namespace, name, name, `${sub.url}/${name}`, filter),
        ];
      });
      await mesh.deploy('filters', ...resources);
      const waits: Promise<unknown>[] = [];
      for (const [i, [, , events, expected]] of rows.entries()) {
        const name = names[i]!;
        for (const e of events) {
          const id = `${name}-${e.id}`;
          const url = mesh.brokerUrl(name);
          const res = e.structured
            ? await postStructured(url, {
                specversion: '1.0',
                id,
                source: '/conformance',
                type: 'dev.conformance.filter',
                ...e.structured,
              })
            : await postBinary(url, { ...ceHeaders(id, 'dev.conformance.filter'), ...e.headers });
          expect(res.status).toBe(202);
        }
        for (const id of expected) waits.push(waitForId(sub, `${name}-${id}`).catch(() => undefined));
      }
      await Promise.all(waits);
      await quietPeriod();
    }, 60_000);

    it.each(rows.map((row, i) => [row[0], i, row[3]] as const))('T6: %s', (_what, i, expected) => {
      const name = names[i]!;
      const got = sub.requests
        .filter((r) => r.url === `/${name}`)
        .map((r) => String(r.headers['ce-id']).slice(name.length + 1));
      expect(got.sort()).toEqual([...expected].sort());
    });
  });

  describe('one delivery per matching trigger (1.6 items 9 and 10, T9)', () => {
    it('1.6-9: two triggers sharing one subscriber each deliver the event once', async () => {
      const name = mesh.unique('shared');
      const shared = `${sub.url}/${name}`;
      await mesh.deploy(
        name,
        broker(mesh.namespace, name),
        trigger(mesh.namespace, `${name}-a`, name, shared, { type: 'dev.conformance.shared' }),
        trigger(mesh.namespace, `${name}-b`, name, shared, {
          filters: [{ prefix: { type: 'dev.conformance.' } }],
        }),
        trigger(mesh.namespace, `${name}-c`, name, shared, { type: 'dev.conformance.unrelated' }),
      );
      expect(
        (await postBinary(mesh.brokerUrl(name), ceHeaders(`${name}-e`, 'dev.conformance.shared'))).status,
      ).toBe(202);
      await waitForId(sub, `${name}-e`, 2);
      await quietPeriod();
      expect(withId(sub, `${name}-e`)).toHaveLength(2);
    });

    it('1.6-10/T9: a trigger with retries whose subscriber answers 2xx empty gets the event exactly once', async () => {
      const name = mesh.unique('once');
      const once = await startSubscriber(() => ({ status: 204 }));
      try {
        await mesh.deploy(
          name,
          broker(mesh.namespace, name),
          trigger(mesh.namespace, name, name, once.url, {
            type: 'dev.conformance.once',
            delivery: { retry: 3, backoffDelay: 'PT0.05S' },
          }),
        );
        for (let i = 0; i < 5; i++)
          expect(
            (await postBinary(mesh.brokerUrl(name), ceHeaders(`${name}-${i}`, 'dev.conformance.once')))
              .status,
          ).toBe(202);
        await once.waitFor(5);
        await quietPeriod();
        expect(once.requests.map((r) => r.headers['ce-id']).sort()).toEqual(
          [0, 1, 2, 3, 4].map((i) => `${name}-${i}`),
        );
      } finally {
        await once.close();
      }
    });
  });
});
