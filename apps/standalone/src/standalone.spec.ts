import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSubscriber, eventually, type TestSubscriber } from '@eventing/testing';
import { runStandalone } from './main';
import type { StandaloneOptions } from './options';

// End-to-end tests of standalone mode over HTTP: a real process-level server, real subscribers.

const BROKER = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: default
`;

function trigger(name: string, type: string, subscriber: string, extra = ''): string {
  return `---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
  namespace: default
spec:
  broker: default
  filter:
    attributes:
      type: ${type}
  subscriber:
    uri: ${subscriber}
${extra}`;
}

function binaryHeaders(type: string, id = 'e1', extra: Record<string, string> = {}): Record<string, string> {
  return {
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-source': '/test',
    'ce-type': type,
    'content-type': 'application/json',
    ...extra,
  };
}

describe('standalone broker over HTTP', () => {
  let dir: string;
  let lines: string[];
  let orders: TestSubscriber;
  let others: TestSubscriber;
  let failing: TestSubscriber;
  let dls: TestSubscriber;
  let replier: TestSubscriber;
  let replies: TestSubscriber;
  let slow: TestSubscriber;
  let linear: TestSubscriber;
  let flakyDls: TestSubscriber;
  let app: Awaited<ReturnType<typeof runStandalone>>;
  let ingress: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'standalone-'));
    orders = await startSubscriber();
    others = await startSubscriber();
    failing = await startSubscriber(() => ({ status: 503, body: 'overloaded, try later' }));
    dls = await startSubscriber();
    replier = await startSubscriber(() => ({
      status: 200,
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'r1',
        'ce-source': '/replier',
        'ce-type': 'com.example.reply',
        'content-type': 'text/plain',
      },
      body: 'reply body',
    }));
    replies = await startSubscriber();
    slow = await startSubscriber(() => ({ status: 202, delayMs: 1_500 }));
    linear = await startSubscriber((_req, i) => ({ status: i < 2 ? 500 : 202 }));
    flakyDls = await startSubscriber((_req, i) => ({ status: i < 2 ? 503 : 202 }));
    writeFileSync(join(dir, 'broker.yaml'), BROKER);
    writeFileSync(
      join(dir, 'triggers.yaml'),
      trigger('orders', 'com.example.order', orders.url + '/orders') +
        trigger('others', 'com.example.other', others.url) +
        trigger(
          'failing',
          'com.example.fail',
          failing.url + '/hook',
          `  delivery:
    retry: 2
    backoffPolicy: exponential
    backoffDelay: PT0.2S
    deadLetterSink:
      uri: ${dls.url}/dead
`,
        ) +
        trigger('replier', 'com.example.ask', replier.url) +
        trigger(
          'slow',
          'com.example.slow',
          slow.url,
          `  delivery:
    retry: 1
    timeout: PT0.3S
    deadLetterSink:
      uri: ${dls.url}/timeouts
`,
        ) +
        trigger(
          'held',
          'com.example.held',
          failing.url + '/held',
          `  delivery:
    deadLetterSink:
      uri: ${flakyDls.url}/dls
`,
        ) +
        trigger(
          'linear',
          'com.example.linear',
          linear.url,
          `  delivery:
    retry: 4
    backoffPolicy: linear
    backoffDelay: PT0.15S
`,
        ) +
        trigger('replies', 'com.example.reply', replies.url),
    );
    writeFileSync(
      join(dir, 'bad-cesql.yaml'),
      `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: bad-cesql
  namespace: default
spec:
  broker: default
  filters:
    - cesql: "type = 'a' AND ("
  subscriber:
    uri: ${orders.url}
`,
    );
    writeFileSync(
      join(dir, 'invalid.yaml'),
      `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: broken
  namespace: default
spec:
  broker: default
  filter:
    attributes:
      Bad-Key: x
  subscriber:
    uri: ${orders.url}
`,
    );
    lines = [];
    const options: StandaloneOptions = {
      configDir: dir,
      port: 0,
      host: '127.0.0.1',
      services: new Map(),
      maxBodyBytes: 64 * 1024,
      maxTtl: 255,
      maxInFlight: 100,
      maxInFlightTotal: 1000,
      queueCapacity: 10_000,
      logFormat: 'json',
      watch: true,
    };
    app = await runStandalone(options, (l) => lines.push(l));
    ingress = `${app.service.url}/default/default`;
  });

  afterAll(async () => {
    await app?.service.close();
    await Promise.all(
      [orders, others, failing, dls, replier, replies, slow, linear, flakyDls].map((s) => s?.close()),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints each resource with its Ready condition and reports invalid ones with file, kind, name and field path', () => {
    expect(lines).toContain(`✓  Broker default/default Ready  ${ingress}`);
    expect(lines.some((l) => l.startsWith('✓  Trigger default/orders Ready'))).toBe(true);
    const invalid = lines.find((l) => l.includes('invalid.yaml'));
    expect(invalid).toMatch(/invalid\.yaml: Trigger default\/broken: spec\.filter\.attributes.*Bad-Key/);
    // 4: a CESQL expression that does not parse is rejected with its position.
    const cesql = lines.find((l) => l.includes('bad-cesql.yaml'));
    expect(cesql).toMatch(/Trigger default\/bad-cesql: spec\.filters\[0\]\.cesql: .*\d/);
  });

  it('B4/E1: a binary-mode event gets 202 and reaches only the matching trigger', async () => {
    const res = await fetch(ingress, {
      method: 'POST',
      headers: binaryHeaders('com.example.order', 'b1'),
      body: '{"n":1}',
    });
    expect(res.status).toBe(202);
    const [got] = await orders.waitFor(1);
    expect(got!.url).toBe('/orders');
    expect(got!.headers['ce-id']).toBe('b1');
    expect(got!.headers['ce-type']).toBe('com.example.order');
    expect(got!.body.toString()).toBe('{"n":1}');
    // B9, T4: arrival time stamped, TTL stripped before the subscriber; T7: Prefer: reply.
    expect(got!.headers['ce-knativearrivaltime']).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(got!.headers['ce-knativebrokerttl']).toBeUndefined();
    expect(got!.headers['prefer']).toBe('reply');
    expect(got!.headers['kn-namespace']).toBe('default');
    expect(others.requests).toHaveLength(0);
  });

  it('E1: a structured-mode event gets 202 and reaches the matching trigger', async () => {
    const before = others.requests.length;
    const res = await fetch(ingress, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 's1',
        source: '/test',
        type: 'com.example.other',
        data: { k: 'v' },
      }),
    });
    expect(res.status).toBe(202);
    const got = await others.waitFor(before + 1);
    expect(got[before]!.headers['ce-id']).toBe('s1');
    expect(JSON.parse(got[before]!.body.toString())).toEqual({ k: 'v' });
  });

  it('B6: specversion 0.3 is accepted and never upgraded', async () => {
    const before = orders.requests.length;
    const res = await fetch(ingress, {
      method: 'POST',
      headers: { ...binaryHeaders('com.example.order', 'v03'), 'ce-specversion': '0.3' },
      body: '{}',
    });
    expect(res.status).toBe(202);
    const got = await orders.waitFor(before + 1);
    expect(got[before]!.headers['ce-specversion']).toBe('0.3');
  });

  it('B2/B3: OPTIONS answers 200 with Allow, GET gets exactly 405', async () => {
    const options = await fetch(ingress, { method: 'OPTIONS' });
    expect(options.status).toBe(200);
    expect(options.headers.get('allow')).toBe('POST, OPTIONS');
    expect(options.headers.get('webhook-allowed-origin')).toBe('*');
    const get = await fetch(ingress);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it('B4/B7: bodies that are no CloudEvent get 400, before the broker lookup', async () => {
    const plain = await fetch(ingress, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"hello":1}',
    });
    expect(plain.status).toBe(400);
    const missingId = await fetch(`${app.service.url}/default/no-such-broker`, {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-source': '/x', 'ce-type': 't' },
    });
    expect(missingId.status).toBe(400);
    expect(await missingId.text()).toContain('id');
    const batch = await fetch(ingress, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: '[]',
    });
    expect(batch.status).toBe(400);
    const badVersion = await fetch(ingress, {
      method: 'POST',
      headers: { ...binaryHeaders('t'), 'ce-specversion': '2.0' },
    });
    expect(badVersion.status).toBe(400);
  });

  it('B1/B5: unknown broker 404, bare / 404, wrong segment count 400', async () => {
    const unknown = await fetch(`${app.service.url}/default/nope`, {
      method: 'POST',
      headers: binaryHeaders('t'),
      body: '{}',
    });
    expect(unknown.status).toBe(404);
    expect((await fetch(`${app.service.url}/`, { method: 'POST', headers: binaryHeaders('t') })).status).toBe(
      404,
    );
    expect(
      (await fetch(`${app.service.url}/a/b/c`, { method: 'POST', headers: binaryHeaders('t') })).status,
    ).toBe(400);
    expect(
      (await fetch(`${ingress}/`, { method: 'POST', headers: binaryHeaders('com.example.none'), body: '{}' }))
        .status,
    ).toBe(202);
  });

  it('2.10: an oversized body gets 413 and the process keeps serving', async () => {
    const big = await fetch(ingress, {
      method: 'POST',
      headers: binaryHeaders('com.example.order'),
      body: 'x'.repeat(100 * 1024),
    });
    expect(big.status).toBe(413);
    const after = await fetch(ingress, {
      method: 'POST',
      headers: binaryHeaders('com.example.none', 'after'),
      body: '{}',
    });
    expect(after.status).toBe(202);
  });

  it('B10: an event whose TTL is used up gets 400', async () => {
    const res = await fetch(ingress, {
      method: 'POST',
      headers: binaryHeaders('com.example.order', 'ttl', { 'ce-knativebrokerttl': '1' }),
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('knativebrokerttl');
  });

  it('Y1/Y4/D1/D2: a failing subscriber is tried 1 + retry times with backoff, then the event is dead-lettered', async () => {
    const res = await fetch(ingress, {
      method: 'POST',
      headers: binaryHeaders('com.example.fail', 'f1'),
      body: '{"will":"fail"}',
    });
    expect(res.status).toBe(202);
    const [dead] = await dls.waitFor(1, 15_000);
    const attempts = failing.requests.filter((r) => r.headers['ce-id'] === 'f1');
    expect(attempts).toHaveLength(3);
    const gaps = [attempts[1]!.at - attempts[0]!.at, attempts[2]!.at - attempts[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(190); // 0.2 s
    expect(gaps[1]).toBeGreaterThanOrEqual(390); // 0.4 s
    expect(dead!.url).toBe('/dead');
    expect(dead!.headers['ce-id']).toBe('f1');
    expect(dead!.headers['ce-knativeerrordest']).toBe(`${failing.url}/hook`);
    expect(dead!.headers['ce-knativeerrorcode']).toBe('503');
    expect(Buffer.from(String(dead!.headers['ce-knativeerrordata']), 'base64').toString()).toBe(
      'overloaded, try later',
    );
    expect(dead!.body.toString()).toBe('{"will":"fail"}');
    expect(dead!.headers['prefer']).toBeUndefined();
  });

  it('Y8: a subscriber that does not answer is cut at the per-attempt timeout, retried, then dead-lettered', async () => {
    const started = performance.now();
    expect(
      (
        await fetch(ingress, {
          method: 'POST',
          headers: binaryHeaders('com.example.slow', 'slow1'),
          body: '{}',
        })
      ).status,
    ).toBe(202);
    const dead = await eventually(
      () => dls.requests.find((r) => r.url === '/timeouts'),
      10_000,
      'the dead letter',
    );
    // Two attempts of 0.3 s each, far less than the subscriber's 1.5 s.
    expect(dead.at - started).toBeLessThan(1_400);
    expect(slow.requests.filter((r) => r.headers['ce-id'] === 'slow1')).toHaveLength(2);
    expect(dead.headers['ce-knativeerrordest']).toBe(slow.url);
    expect(dead.headers['ce-knativeerrorcode']).toBe('500');
  });

  it('Y4 (§7 choice): linear backoff waits d·k before retry k, and stops once the subscriber succeeds', async () => {
    expect(
      (
        await fetch(ingress, {
          method: 'POST',
          headers: binaryHeaders('com.example.linear', 'lin1'),
          body: '{}',
        })
      ).status,
    ).toBe(202);
    const attempts = await linear.waitFor(3);
    await new Promise((r) => setTimeout(r, 400));
    expect(linear.requests).toHaveLength(3);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(140);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(290);
  });

  it('D4: when the dead-letter sink fails too, the event is held and tried again later, never dropped, and counted', async () => {
    expect(
      (await fetch(ingress, { method: 'POST', headers: binaryHeaders('com.example.held', 'h1'), body: '{}' }))
        .status,
    ).toBe(202);
    // Each round: one attempt to the subscriber (retry 0 on this trigger), then the dead-letter sink,
    // which refuses twice; the third round lands.
    const [, , landed] = await flakyDls.waitFor(3, 15_000);
    expect(landed!.headers['ce-id']).toBe('h1');
    expect(failing.requests.filter((r) => r.headers['ce-id'] === 'h1')).toHaveLength(3);
    const text = await (await fetch(`${app.service.url}/metrics`)).text();
    // Held is counted once per event however often it is retried, and nothing is held any more.
    expect(text).toMatch(
      /eventing_delivery_outcomes_total\{namespace="default",kind="Trigger",name="held",outcome="held"\} 1\n/,
    );
    expect(text).toMatch(/eventing_events_held\{namespace="default",kind="Trigger",name="held"\} 0\n/);
    expect(text).toMatch(
      /eventing_delivery_outcomes_total\{namespace="default",kind="Trigger",name="held",outcome="dead_lettered"\} 1/,
    );
  });

  it('R3/T11: a reply from a subscriber is routed back into the broker to matching triggers', async () => {
    const res = await fetch(ingress, {
      method: 'POST',
      headers: binaryHeaders('com.example.ask', 'q1'),
      body: '{}',
    });
    expect(res.status).toBe(202);
    const [reply] = await replies.waitFor(1);
    expect(reply!.headers['ce-type']).toBe('com.example.reply');
    expect(reply!.headers['ce-source']).toBe('/replier');
    expect(reply!.body.toString()).toBe('reply body');
    expect(reply!.headers['ce-knativebrokerttl']).toBeUndefined();
  });

  it('applies edits to the folder while running', async () => {
    const late = await startSubscriber();
    try {
      writeFileSync(
        join(dir, 'late.yaml'),
        trigger('late', 'com.example.late', late.url).replace(/^---\n/, ''),
      );
      await eventually(
        () => lines.some((l) => l.startsWith('✓  Trigger default/late Ready')),
        10_000,
        'the new trigger to be ready',
      );
      const res = await fetch(ingress, {
        method: 'POST',
        headers: binaryHeaders('com.example.late', 'l1'),
        body: '{}',
      });
      expect(res.status).toBe(202);
      const [got] = await late.waitFor(1);
      expect(got!.headers['ce-id']).toBe('l1');
      rmSync(join(dir, 'late.yaml'));
      await eventually(
        () => lines.includes('-  Trigger default/late removed'),
        10_000,
        'the trigger to be removed',
      );
    } finally {
      await late.close();
    }
  });

  it('serves probes', async () => {
    expect((await fetch(`${app.service.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${app.service.url}/readyz`)).status).toBe(200);
  });

  it('5.2: counts ingress requests and delivery outcomes at /metrics, dead letters included', async () => {
    const text = await (await fetch(`${app.service.url}/metrics`)).text();
    expect(text).toMatch(
      /mt_broker_ingress_event_count\{broker_name="default",namespace_name="default",event_type="com.example.order",response_code="202",response_code_class="2xx"\} [1-9]/,
    );
    expect(text).toMatch(
      /eventing_delivery_outcomes_total\{namespace="default",kind="Trigger",name="failing",outcome="dead_lettered"\} 1/,
    );
    expect(text).toMatch(
      /mt_broker_filter_event_count\{broker_name="default",trigger_name="failing",namespace_name="default",response_code="503",response_code_class="5xx"\} 1/,
    );
  });
});
