import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSubscriber, type RecordedRequest, type TestSubscriber } from '@eventing/testing';
import { openTarget, type ConformanceTarget } from './target';
import {
  Mesh,
  broker,
  ceHeaders,
  postBinary,
  quietPeriod,
  trigger,
  waitForId,
  withId,
  type Resource,
} from './mesh';
import { KAFKA_CLASS } from './store';

// Retries, backoff, timeouts and dead letters of trigger deliveries (CONFORMANCE 2.1, 2.6, 2.7).
// Timing: lower bounds are tight (the wait must have happened), upper bounds loose (a loaded machine).

const EARLY_MS = 15;
const LATE_MS = 1_500;

/** Milliseconds between consecutive requests. */
function gaps(requests: RecordedRequest[]): number[] {
  return requests.slice(1).map((r, i) => r.at - requests[i]!.at);
}

/** Indents every line of `text` by two spaces. */
function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}

/** A URL on 127.0.0.1 where nothing listens. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/gone`;
}

const features: Resource = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'config-features', namespace: 'knative-eventing' },
  data: { 'delivery-retryafter': 'enabled' },
};

describe('retries and dead letters (2.1, 2.6, 2.7)', () => {
  let target: ConformanceTarget;
  let mesh: Mesh;
  let ingress: string;
  let dls: TestSubscriber;
  /** Answers with the status named by the last path segment, body "failed with <status>". */
  let statuses: TestSubscriber;
  const subscribers: TestSubscriber[] = [];

  /** A subscriber closed after the suite. */
  async function subscriber(...args: Parameters<typeof startSubscriber>): Promise<TestSubscriber> {
    const s = await startSubscriber(...args);
    subscribers.push(s);
    return s;
  }

  /** Deploys one trigger on the shared broker and returns its event type. */
  async function deployTrigger(
    subscriberUrl: string,
    delivery?: Record<string, unknown>,
    extra: Resource[] = [],
  ): Promise<string> {
    const name = mesh.unique('t');
    const type = `dev.conformance.retry.${name}`;
    await mesh.deploy(
      name,
      ...extra,
      trigger(mesh.namespace, name, 'br', subscriberUrl, { type, ...(delivery ? { delivery } : {}) }),
    );
    return type;
  }

  beforeAll(async () => {
    target = await openTarget();
    mesh = new Mesh(target, 'retries');
    ingress = mesh.brokerUrl('br');
    dls = await subscriber();
    statuses = await subscriber((req) => {
      const status = Number(req.url.split('?')[0]!.split('/').pop());
      return status >= 300 && status !== 304 ? { status, body: `failed with ${status}` } : { status };
    });
    await mesh.deploy('broker', broker(mesh.namespace, 'br'));
  }, 120_000);

  afterAll(async () => {
    await target?.close();
    await Promise.all(subscribers.map((s) => s.close()));
  });

  describe('status codes (2.1): which answers are retried, with retry: 2 and a dead-letter sink', () => {
    // [status, retried?, dead-lettered?]
    const table: [number, boolean, boolean][] = [
      [200, false, false],
      [201, false, false],
      [202, false, false],
      [204, false, false],
      [301, false, true],
      [307, false, true],
      [400, false, true],
      [401, false, true],
      [403, false, true],
      [404, true, true],
      [405, false, true],
      [408, true, true],
      [409, true, true],
      [410, false, true],
      [413, false, true],
      [422, false, true],
      [429, true, true],
      [500, true, true],
      [501, true, true],
      [502, true, true],
      [503, true, true],
      [504, true, true],
    ];
    const types = new Map<number, string>();

    beforeAll(async () => {
      const delivery = (status: number) => ({
        retry: 2,
        backoffPolicy: 'linear',
        backoffDelay: 'PT0.02S',
        deadLetterSink: { uri: `${dls.url}/status/${status}` },
      });
      const resources = table.map(([status]) => {
        const type = `dev.conformance.status.${status}`;
        types.set(status, type);
        return trigger(mesh.namespace, `status-${status}`, 'br', `${statuses.url}/status/${status}`, {
          type,
          delivery: delivery(status),
        });
      });
      await mesh.deploy('statuses', ...resources);
      for (const [status] of table)
        expect((await postBinary(ingress, ceHeaders(`status-${status}`, types.get(status)!))).status).toBe(
          202,
        );
      await Promise.all(
        table.map(([status, retried, dead]) =>
          Promise.all([
            waitForId(statuses, `status-${status}`, retried ? 3 : 1).catch(() => undefined),
            dead ? waitForId(dls, `status-${status}`).catch(() => undefined) : undefined,
          ]),
        ),
      );
      await quietPeriod();
    }, 60_000);

    it.each(table)(
      '2.1/Y1/D1: subscriber answers %i ⇒ retried: %s, dead-lettered: %s',
      (status, retried, dead) => {
        expect(withId(statuses, `status-${status}`)).toHaveLength(retried ? 3 : 1);
        const letters = withId(dls, `status-${status}`);
        expect(letters).toHaveLength(dead ? 1 : 0);
        if (dead) {
          expect(letters[0]!.headers['ce-knativeerrorcode']).toBe(String(status));
          expect(letters[0]!.headers['ce-knativeerrordest']).toBe(`${statuses.url}/status/${status}`);
        }
      },
    );

    it('2.1/D2: a network error is retried and dead-lettered with code 500', async () => {
      const gone = await closedPortUrl();
      const type = await deployTrigger(gone, {
        retry: 2,
        backoffDelay: 'PT0.05S',
        deadLetterSink: { uri: `${dls.url}/network` },
      });
      const started = performance.now();
      expect((await postBinary(ingress, ceHeaders('network-1', type))).status).toBe(202);
      const [dead] = await waitForId(dls, 'network-1');
      // Two backoff waits (50 ms, 100 ms) happened before giving up.
      expect(dead!.at - started).toBeGreaterThanOrEqual(150 - EARLY_MS);
      expect(dead!.headers['ce-knativeerrorcode']).toBe('500');
      expect(dead!.headers['ce-knativeerrordest']).toBe(gone);
    });
  });

  describe('attempts and backoff (Y1–Y4)', () => {
    it('Y7: a trigger without delivery on a broker created without delivery gets the shipped default (exponential from 0.2 s)', async () => {
      const sub = await subscriber((_r, i) => ({ status: i < 3 ? 503 : 202 }));
      const type = await deployTrigger(sub.url);
      expect((await postBinary(ingress, ceHeaders('y7', type))).status).toBe(202);
      const got = await waitForId(sub, 'y7', 4);
      const expected = [200, 400, 800];
      gaps(got).forEach((gap, k) => {
        expect(gap).toBeGreaterThanOrEqual(expected[k]! - EARLY_MS);
        expect(gap).toBeLessThan(expected[k]! + LATE_MS);
      });
    });

    it('Y2: no delivery spec at all (broker defaults without delivery) ⇒ exactly one attempt', async () => {
      // A namespace whose broker defaults carry no delivery, so that neither broker nor trigger has one.
      const bare = new Mesh(target, 'retries-bare');
      // Defaults apply per broker class: name the class the suite's brokers have.
      const cluster = `brokerClass: ${KAFKA_CLASS ? 'Kafka' : 'MTChannelBasedBroker'}\napiVersion: v1\nkind: ConfigMap\nname: config-br-default-channel\nnamespace: knative-eventing\n`;
      const defaults: Resource = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'config-br-defaults', namespace: 'knative-eventing' },
        data: {
          'default-br-config':
            `clusterDefault:\n${indent(cluster)}  delivery: { retry: 10, backoffPolicy: exponential, backoffDelay: PT0.2S }\n` +
            `namespaceDefaults:\n  ${bare.namespace}:\n${indent(indent(cluster))}`,
        },
      };
      const sub = await subscriber(() => ({ status: 503 }));
      await bare.deploy(
        'bare',
        defaults,
        broker(bare.namespace, 'br'),
        trigger(bare.namespace, 'bare', 'br', sub.url),
      );
      try {
        expect((await postBinary(bare.brokerUrl('br'), ceHeaders('y2', 'dev.conformance.bare'))).status).toBe(
          202,
        );
        await waitForId(sub, 'y2');
        await quietPeriod();
        expect(withId(sub, 'y2')).toHaveLength(1);
      } finally {
        await target.remove('bare');
      }
    });

    it('Y1/D5: retry: 4 without a dead-letter sink ⇒ 5 attempts, then the event is dropped', async () => {
      const sub = await subscriber(() => ({ status: 500 }));
      const type = await deployTrigger(sub.url, {
        retry: 4,
        backoffDelay: 'PT0.02S',
        backoffPolicy: 'linear',
      });
      expect((await postBinary(ingress, ceHeaders('y1', type))).status).toBe(202);
      await waitForId(sub, 'y1', 5);
      await quietPeriod();
      expect(withId(sub, 'y1')).toHaveLength(5);
    });

    it('Y1: retries stop at the first success', async () => {
      const sub = await subscriber((_r, i) => ({ status: i < 2 ? 503 : 202 }));
      const type = await deployTrigger(sub.url, {
        retry: 5,
        deadLetterSink: { uri: `${dls.url}/y1-success` },
      });
      expect((await postBinary(ingress, ceHeaders('y1-success', type))).status).toBe(202);
      await waitForId(sub, 'y1-success', 3);
      await quietPeriod();
      expect(withId(sub, 'y1-success')).toHaveLength(3);
      expect(withId(dls, 'y1-success')).toHaveLength(0);
    });

    it('Y3: retry without backoff settings ⇒ immediate retries', async () => {
      const sub = await subscriber(() => ({ status: 500 }));
      const type = await deployTrigger(sub.url, { retry: 3 });
      expect((await postBinary(ingress, ceHeaders('y3', type))).status).toBe(202);
      const got = await waitForId(sub, 'y3', 4);
      for (const gap of gaps(got)) expect(gap).toBeLessThan(LATE_MS);
    });

    it('Y4: exponential backoff waits d·2^(k−1) before retry k (d = 200 ms: 200, 400, 800)', async () => {
      const sub = await subscriber(() => ({ status: 503 }));
      const type = await deployTrigger(sub.url, {
        retry: 3,
        backoffPolicy: 'exponential',
        backoffDelay: 'PT0.2S',
      });
      expect((await postBinary(ingress, ceHeaders('y4-exp', type))).status).toBe(202);
      const got = await waitForId(sub, 'y4-exp', 4);
      const expected = [200, 400, 800];
      gaps(got).forEach((gap, k) => {
        expect(gap).toBeGreaterThanOrEqual(expected[k]! - EARLY_MS);
        expect(gap).toBeLessThan(expected[k]! + LATE_MS);
      });
    });

    it('Y4: linear backoff waits d·k before retry k (d = 200 ms: 200, 400, 600)', async () => {
      const sub = await subscriber(() => ({ status: 503 }));
      const type = await deployTrigger(sub.url, {
        retry: 3,
        backoffPolicy: 'linear',
        backoffDelay: 'PT0.2S',
      });
      expect((await postBinary(ingress, ceHeaders('y4-lin', type))).status).toBe(202);
      const got = await waitForId(sub, 'y4-lin', 4);
      const expected = [200, 400, 600];
      gaps(got).forEach((gap, k) => {
        expect(gap).toBeGreaterThanOrEqual(expected[k]! - EARLY_MS);
        expect(gap).toBeLessThan(expected[k]! + LATE_MS);
      });
    });

    it('1.6-8: a trigger without delivery inherits the broker delivery (retries and dead-letter sink)', async () => {
      const name = mesh.unique('inherit');
      const sub = await subscriber(() => ({ status: 500 }));
      await mesh.deploy(
        name,
        broker(mesh.namespace, name, {
          retry: 1,
          backoffDelay: 'PT0.02S',
          deadLetterSink: { uri: `${dls.url}/inherited` },
        }),
        trigger(mesh.namespace, name, name, sub.url, { type: 'dev.conformance.inherit' }),
      );
      expect(
        (await postBinary(mesh.brokerUrl(name), ceHeaders('inherit-1', 'dev.conformance.inherit'))).status,
      ).toBe(202);
      const [dead] = await waitForId(dls, 'inherit-1');
      expect(dead!.url).toBe('/inherited');
      expect(withId(sub, 'inherit-1')).toHaveLength(2);
    });

    it('1.6-8: a trigger delivery overrides the broker delivery', async () => {
      const name = mesh.unique('override');
      const sub = await subscriber(() => ({ status: 500 }));
      await mesh.deploy(
        name,
        broker(mesh.namespace, name, {
          retry: 5,
          backoffDelay: 'PT0.02S',
          deadLetterSink: { uri: `${dls.url}/broker-dls` },
        }),
        trigger(mesh.namespace, name, name, sub.url, {
          type: 'dev.conformance.override',
          delivery: { retry: 2, deadLetterSink: { uri: `${dls.url}/trigger-dls` } },
        }),
      );
      expect(
        (await postBinary(mesh.brokerUrl(name), ceHeaders('override-1', 'dev.conformance.override'))).status,
      ).toBe(202);
      const [dead] = await waitForId(dls, 'override-1');
      expect(dead!.url).toBe('/trigger-dls');
      expect(withId(sub, 'override-1')).toHaveLength(3);
    });
  });

  describe('per-attempt timeout (Y8)', () => {
    it('Y8: each attempt is cut at delivery.timeout, retried, then dead-lettered with code 500', async () => {
      const sub = await subscriber(() => ({ status: 202, delayMs: 8_000 }));
      const type = await deployTrigger(sub.url, {
        retry: 2,
        timeout: 'PT0.5S',
        deadLetterSink: { uri: `${dls.url}/timeout` },
      });
      const started = performance.now();
      expect((await postBinary(ingress, ceHeaders('y8', type))).status).toBe(202);
      const [dead] = await waitForId(dls, 'y8');
      const elapsed = dead!.at - started;
      // Three attempts of 0.5 s each, far less than the subscriber's 8 s.
      expect(elapsed).toBeGreaterThanOrEqual(3 * 500 - EARLY_MS);
      expect(elapsed).toBeLessThan(3 * 500 + 3 * LATE_MS);
      expect(withId(sub, 'y8')).toHaveLength(3);
      expect(dead!.headers['ce-knativeerrorcode']).toBe('500');
      expect(dead!.headers['ce-knativeerrordest']).toBe(sub.url);
    });
  });

  describe('Retry-After (Y9, feature delivery-retryafter)', () => {
    /** Subscriber failing once with `status` and `Retry-After: retryAfter`, then accepting. */
    async function failOnce(status: number, retryAfter: () => string): Promise<TestSubscriber> {
      return subscriber((_r, i) =>
        i === 0 ? { status, headers: { 'retry-after': retryAfter() } } : { status: 202 },
      );
    }

    async function retryGap(
      sub: TestSubscriber,
      delivery: Record<string, unknown>,
      id: string,
    ): Promise<number> {
      const type = await deployTrigger(sub.url, { retry: 1, backoffDelay: 'PT0.05S', ...delivery }, [
        features,
      ]);
      expect((await postBinary(ingress, ceHeaders(id, type))).status).toBe(202);
      const got = await waitForId(sub, id, 2);
      return gaps(got)[0]!;
    }

    it('Y9: 429 with Retry-After: 2 and retryAfterMax PT5S waits 2 s', async () => {
      const gap = await retryGap(await failOnce(429, () => '2'), { retryAfterMax: 'PT5S' }, 'y9-429');
      expect(gap).toBeGreaterThanOrEqual(2_000 - EARLY_MS);
      expect(gap).toBeLessThan(2_000 + LATE_MS);
    });

    it('Y9: 503 with an HTTP-date Retry-After is honoured', async () => {
      const gap = await retryGap(
        await failOnce(503, () => new Date(Date.now() + 2_500).toUTCString()),
        { retryAfterMax: 'PT5S' },
        'y9-date',
      );
      // HTTP-dates have whole seconds: 1.5–2.5 s from now.
      expect(gap).toBeGreaterThanOrEqual(1_000);
      expect(gap).toBeLessThan(2_500 + LATE_MS);
    });

    it('Y9: Retry-After is capped at retryAfterMax', async () => {
      const gap = await retryGap(await failOnce(429, () => '10'), { retryAfterMax: 'PT1S' }, 'y9-cap');
      expect(gap).toBeGreaterThanOrEqual(1_000 - EARLY_MS);
      expect(gap).toBeLessThan(1_000 + LATE_MS);
    });

    it('Y9: without retryAfterMax the header is ignored (backoff only)', async () => {
      const gap = await retryGap(await failOnce(429, () => '5'), {}, 'y9-off');
      expect(gap).toBeGreaterThanOrEqual(50 - EARLY_MS);
      expect(gap).toBeLessThan(5_000 - 1_000);
    });

    it('Y9: Retry-After on other codes (500) is ignored', async () => {
      const gap = await retryGap(await failOnce(500, () => '5'), { retryAfterMax: 'PT10S' }, 'y9-500');
      expect(gap).toBeLessThan(5_000 - 1_000);
    });

    it('Y9: a backoff longer than Retry-After wins', async () => {
      const gap = await retryGap(
        await failOnce(503, () => '1'),
        { retryAfterMax: 'PT5S', backoffDelay: 'PT2S' },
        'y9-max',
      );
      expect(gap).toBeGreaterThanOrEqual(2_000 - EARLY_MS);
      expect(gap).toBeLessThan(2_000 + LATE_MS);
    });
  });

  describe('dead letters (2.6)', () => {
    it('D1/D2/D3: the original event goes to the DLS with knativeerrordest (real subscriber URL), knativeerrorcode and knativeerrordata', async () => {
      const sub = await subscriber(() => ({ status: 500, body: 'database is down' }));
      const url = `${sub.url}/hooks/orders?tenant=a`;
      const type = await deployTrigger(url, {
        retry: 1,
        backoffDelay: 'PT0.02S',
        deadLetterSink: { uri: `${dls.url}/d1` },
      });
      const producer = ceHeaders('d1', type, {
        'ce-subject': 'order-7',
        'ce-time': '2024-02-03T04:05:06Z',
        'ce-myext': 'kept',
        'content-type': 'application/octet-stream',
      });
      const data = Buffer.from([0, 1, 2, 3, 254, 255]);
      expect((await postBinary(ingress, producer, data)).status).toBe(202);
      const [dead] = await waitForId(dls, 'd1');
      expect(withId(sub, 'd1')).toHaveLength(2);
      expect(dead!.url).toBe('/d1');
      for (const [name, value] of Object.entries(producer))
        expect([name, dead!.headers[name]]).toEqual([name, value]);
      expect(dead!.body.equals(data)).toBe(true);
      expect(dead!.headers['ce-knativeerrordest']).toBe(url);
      expect(dead!.headers['ce-knativeerrorcode']).toBe('500');
      expect(Buffer.from(String(dead!.headers['ce-knativeerrordata']), 'base64').toString()).toBe(
        'database is down',
      );
      expect(dead!.headers['ce-knativebrokerttl']).toBeUndefined();
      // 2.6: extensions, not HTTP headers.
      expect(Object.keys(dead!.headers).filter((h) => h.startsWith('knative-error'))).toEqual([]);
    });

    it('D2: knativeerrordata is the base64 of the response body cut to 1024 characters', async () => {
      const body = Buffer.alloc(5_000);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 256;
      const sub = await subscriber(() => ({ status: 422, body }));
      const type = await deployTrigger(sub.url, { deadLetterSink: { uri: `${dls.url}/d2` } });
      expect((await postBinary(ingress, ceHeaders('d2-long', type))).status).toBe(202);
      const [dead] = await waitForId(dls, 'd2-long');
      const data = String(dead!.headers['ce-knativeerrordata']);
      expect(data).toHaveLength(1024);
      expect(data).toBe(body.toString('base64').slice(0, 1024));
      expect(dead!.headers['ce-knativeerrorcode']).toBe('422');
    });

    it('D2/T8: with delivery.format json the DLS gets a structured event, knativeerrorcode an integer', async () => {
      const sub = await subscriber(() => ({ status: 503, body: 'busy' }));
      const type = await deployTrigger(sub.url, {
        format: 'json',
        deadLetterSink: { uri: `${dls.url}/d2-json` },
      });
      expect((await postBinary(ingress, ceHeaders('d2-json', type), '{"a":1}')).status).toBe(202);
      const [dead] = await waitForId(dls, 'd2-json');
      expect(String(dead!.headers['content-type'])).toMatch(/^application\/cloudevents\+json/);
      const event = JSON.parse(dead!.body.toString()) as Record<string, unknown>;
      expect(event).toMatchObject({
        id: 'd2-json',
        type,
        knativeerrordest: sub.url,
        knativeerrorcode: 503,
        data: { a: 1 },
      });
      expect(Buffer.from(String(event['knativeerrordata']), 'base64').toString()).toBe('busy');
    });

    it('D4: the DLS delivery is retried with the same policy', async () => {
      const sub = await subscriber(() => ({ status: 400 }));
      const flakyDls = await subscriber((_r, i) => ({ status: i < 2 ? 503 : 202 }));
      const type = await deployTrigger(sub.url, {
        retry: 2,
        backoffDelay: 'PT0.02S',
        deadLetterSink: { uri: flakyDls.url },
      });
      expect((await postBinary(ingress, ceHeaders('d4', type))).status).toBe(202);
      await waitForId(flakyDls, 'd4', 3);
      await quietPeriod();
      expect(withId(flakyDls, 'd4')).toHaveLength(3);
      expect(withId(sub, 'd4')).toHaveLength(1);
    });

    it('D6/R1: the DLS gets passthrough headers but no Prefer: reply, and its answer is not routed as a reply', async () => {
      const sub = await subscriber(() => ({ status: 500 }));
      const replyCatcher = await subscriber();
      const answeringDls = await subscriber(() => ({
        status: 200,
        headers: {
          'ce-specversion': '1.0',
          'ce-id': 'dls-reply',
          'ce-source': '/dls',
          'ce-type': 'dev.conformance.dls-reply',
        },
        body: 'x',
      }));
      const catcher = mesh.unique('catch');
      await mesh.deploy(
        catcher,
        trigger(mesh.namespace, catcher, 'br', replyCatcher.url, { type: 'dev.conformance.dls-reply' }),
      );
      const type = await deployTrigger(sub.url, { deadLetterSink: { uri: answeringDls.url } });
      expect(
        (
          await postBinary(
            ingress,
            ceHeaders('d6', type, { 'x-request-id': 'd6-req', 'knative-hop': 'h', 'x-private': 'p' }),
          )
        ).status,
      ).toBe(202);
      const [dead] = await waitForId(answeringDls, 'd6');
      expect(dead!.headers['prefer']).toBeUndefined();
      expect(dead!.headers['x-request-id']).toBe('d6-req');
      expect(dead!.headers['knative-hop']).toBe('h');
      expect(dead!.headers['x-private']).toBeUndefined();
      await quietPeriod();
      expect(withId(replyCatcher, 'dls-reply')).toHaveLength(0);
    });
  });
});
