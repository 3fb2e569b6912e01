import { Agent, request } from 'undici';
import { allKinds, type KindDefinition } from '@eventing/api';
import { createLogger } from '@eventing/runtime';
import { AdmissionHandler } from './admission/handler';
import { startAdmissionServer, type AdmissionServer } from './admission-server';
import { issueServingCertificate, type ServingCertificate } from './certs/issue';
import { AdmissionConfigStore } from './config/admission-config';
import { admissionRules } from './kube/registration';
import { applyJsonPatch } from './testing/apply-json-patch';
import { validSpecOf } from './testing/valid-specs';

// The webhook as the API server sees it: real AdmissionReviews over HTTPS against the started server,
// its certificate checked against the CA it issued. Row ids refer to CONFORMANCE.md.

type Json = Record<string, unknown>;

let cert: ServingCertificate;
let server: AdmissionServer;
let agent: Agent;
const config = new AdmissionConfigStore();
let uidCounter = 0;

beforeAll(async () => {
  cert = await issueServingCertificate({
    hosts: ['eventing-webhook.knative-eventing.svc', '127.0.0.1'],
    validityDays: 2,
  });
  server = await startAdmissionServer({
    handler: new AdmissionHandler(() => config.current()),
    identity: cert,
    port: 0,
    host: '127.0.0.1',
    log: createLogger({ service: 'webhook', level: 'error' }),
    maxBodyBytes: 256 * 1024,
  });
  agent = new Agent({ connect: { ca: cert.caBundle } });
});
afterAll(async () => {
  await server?.close();
  await agent?.close();
});

async function post(path: string, body: string | object): Promise<{ status: number; text: string }> {
  const r = await request(`${server.url}${path}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    dispatcher: agent,
  });
  return { status: r.statusCode, text: await r.body.text() };
}

interface Answer {
  apiVersion: string;
  kind: string;
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; message: string; reason: string };
    patch?: string;
    patchType?: string;
  };
}

function review(operation: 'CREATE' | 'UPDATE', object: Json, oldObject?: Json, username = 'alice'): Json {
  const [group, version] = (object['apiVersion'] as string).includes('/')
    ? (object['apiVersion'] as string).split('/')
    : ['', object['apiVersion'] as string];
  const metadata = object['metadata'] as Json;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `uid-${++uidCounter}`,
      kind: { group, version, kind: object['kind'] },
      resource: { group, version, resource: `${String(object['kind']).toLowerCase()}s` },
      namespace: metadata['namespace'],
      name: metadata['name'],
      operation,
      userInfo: { username },
      object,
      ...(oldObject !== undefined ? { oldObject } : {}),
    },
  };
}

async function admit(path: '/defaulting' | '/validation', body: Json): Promise<Answer['response']> {
  const res = await post(path, body);
  expect(res.status).toBe(200);
  const answer = JSON.parse(res.text) as Answer;
  expect(answer.apiVersion).toBe(body['apiVersion']);
  expect(answer.kind).toBe('AdmissionReview');
  expect(answer.response.uid).toBe((body['request'] as Json)['uid']);
  return answer.response;
}

/** The object the API server stores after the mutating webhook: the request's object with the patch applied. */
async function defaulted(operation: 'CREATE' | 'UPDATE', object: Json, oldObject?: Json): Promise<Json> {
  const response = await admit('/defaulting', review(operation, object, oldObject));
  expect(response.allowed).toBe(true);
  if (response.patch === undefined) return object;
  expect(response.patchType).toBe('JSONPatch');
  const ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as {
    op: string;
    path: string;
  }[];
  return applyJsonPatch(object, ops) as Json;
}

const SINK = { uri: 'http://sink.example.com/' };
const trigger = (spec: Json = { broker: 'default', subscriber: SINK }): Json => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name: 't', namespace: 'ns' },
  spec,
});
const broker = (annotations?: Record<string, string>): Json => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  metadata: { name: 'b', namespace: 'ns', ...(annotations ? { annotations } : {}) },
});

describe('validation over HTTPS', () => {
  it('allows a valid Trigger and answers in the AdmissionReview of the request', async () => {
    const response = await admit('/validation', review('CREATE', trigger()));
    expect(response).toEqual({ uid: expect.any(String), allowed: true });
  });

  it('refuses a Trigger without a broker with 400 and the field path, in upstream wording (1.3 Trigger)', async () => {
    const response = await admit('/validation', review('CREATE', trigger({ subscriber: SINK })));
    expect(response.allowed).toBe(false);
    expect(response.status).toEqual({
      status: 'Failure',
      code: 400,
      reason: 'BadRequest',
      message: 'validation failed: missing field(s): spec.broker',
      metadata: {},
    });
  });

  it('lists every problem, merged by message and sorted, as upstream does', async () => {
    const response = await admit(
      '/validation',
      review('CREATE', trigger({ subscriber: {}, filter: { attributes: { 'Bad-Key': 'x' } } })),
    );
    expect(response.allowed).toBe(false);
    const lines = response.status!.message.replace(/^validation failed: /, '').split('\n');
    expect(lines).toEqual([...lines].sort());
    expect(response.status!.message).toMatch(/^validation failed: /);
    expect(response.status!.message).toContain('spec.broker');
    expect(response.status!.message).toContain('spec.filter.attributes[Bad-Key]');
    expect(response.status!.message).toContain('spec.subscriber');
  });

  it('refuses a Trigger whose CESQL filter does not parse, naming the filter (1.3 Trigger)', async () => {
    const response = await admit(
      '/validation',
      review(
        'CREATE',
        trigger({ broker: 'default', subscriber: SINK, filters: [{ cesql: "type = 'a' AND" }] }),
      ),
    );
    expect(response.allowed).toBe(false);
    expect(response.status!.message).toContain('spec.filters[0].cesql');
  });

  it('refuses a Broker without its class annotation when only validation runs (1.3 Broker)', async () => {
    const response = await admit('/validation', review('CREATE', broker()));
    expect(response.allowed).toBe(false);
    expect(response.status!.message).toBe(
      'validation failed: missing field(s): metadata.annotations[eventing.knative.dev/broker.class]',
    );
  });

  it('lets deletes and status updates through untouched', async () => {
    const body = review('CREATE', trigger({ subscriber: SINK }));
    (body['request'] as Json)['operation'] = 'DELETE';
    expect((await admit('/validation', body)).allowed).toBe(true);
    const status = review('UPDATE', trigger({ subscriber: SINK }), trigger());
    (status['request'] as Json)['subResource'] = 'status';
    expect((await admit('/validation', status)).allowed).toBe(true);
  });

  it('refuses a kind it does not serve, naming it', async () => {
    const body = review('CREATE', {
      apiVersion: 'example.com/v1',
      kind: 'Thing',
      metadata: { name: 'x', namespace: 'ns' },
    });
    const response = await admit('/validation', body);
    expect(response.allowed).toBe(false);
    expect(response.status!.message).toBe('validation failed: unhandled kind: example.com/v1, Kind=Thing');
  });
});

describe('defaulting over HTTPS', () => {
  it('patches a Broker into the defaulted one: class annotation, config, delivery (1.3 Broker)', async () => {
    const stored = await defaulted('CREATE', broker());
    expect(stored).toEqual({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      metadata: {
        name: 'b',
        namespace: 'ns',
        annotations: {
          'eventing.knative.dev/broker.class': 'MTChannelBasedBroker',
          'eventing.knative.dev/creator': 'alice',
          'eventing.knative.dev/lastModifier': 'alice',
        },
      },
      spec: {
        config: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: 'config-br-default-channel',
          namespace: 'knative-eventing',
        },
        delivery: { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' },
      },
    });
    // What the mutating webhook produced passes the validating one.
    expect((await admit('/validation', review('CREATE', stored))).allowed).toBe(true);
  });

  it('keeps a class the user chose and the status the request carries', async () => {
    const given = {
      ...broker({ 'eventing.knative.dev/broker.class': 'Kafka' }),
      status: { observedGeneration: 3 },
    };
    const stored = await defaulted('CREATE', given);
    expect((stored['metadata'] as Json)['annotations']).toMatchObject({
      'eventing.knative.dev/broker.class': 'Kafka',
    });
    expect(stored['status']).toEqual({ observedGeneration: 3 });
  });

  it('defaults a Trigger: empty filter and the broker label (1.3 Trigger)', async () => {
    const stored = await defaulted('CREATE', trigger());
    expect(stored['spec']).toMatchObject({ filter: {} });
    expect((stored['metadata'] as Json)['labels']).toEqual({ 'eventing.knative.dev/broker': 'default' });
  });

  it('follows config-br-defaults and config-features as they change', async () => {
    try {
      expect(
        config.set('config-br-defaults', {
          'default-br-config':
            'clusterDefault:\n  brokerClass: Kafka\n  apiVersion: v1\n  kind: ConfigMap\n  name: kafka-broker-config\n  namespace: knative-eventing\n',
        }),
      ).toEqual([]);
      const stored = await defaulted('CREATE', broker());
      expect((stored['metadata'] as Json)['annotations']).toMatchObject({
        'eventing.knative.dev/broker.class': 'Kafka',
      });
      expect((stored['spec'] as Json)['config']).toMatchObject({ name: 'kafka-broker-config' });

      const withRetryAfter = trigger({
        broker: 'default',
        subscriber: SINK,
        delivery: { retryAfterMax: 'PT5S' },
      });
      const refused = await admit('/validation', review('CREATE', withRetryAfter));
      expect(refused.allowed).toBe(false);
      expect(refused.status!.message).toContain('spec.delivery.retryAfterMax');
      expect(config.set('config-features', { 'delivery-retryafter': 'enabled' })).toEqual([]);
      expect((await admit('/validation', review('CREATE', withRetryAfter))).allowed).toBe(true);
    } finally {
      config.set('config-br-defaults', undefined);
      config.set('config-features', undefined);
    }
  });

  it('keeps the last good config when a ConfigMap does not parse, and says why', async () => {
    const problems = config.set('config-br-defaults', { 'default-br-config': 'clusterDefault: [' });
    try {
      expect(problems.join('\n')).toContain('data.default-br-config');
      const stored = await defaulted('CREATE', broker());
      expect((stored['metadata'] as Json)['annotations']).toMatchObject({
        'eventing.knative.dev/broker.class': 'MTChannelBasedBroker',
      });
    } finally {
      config.set('config-br-defaults', undefined);
    }
  });

  it('refuses an object of the wrong shape instead of defaulting it', async () => {
    const response = await admit('/defaulting', review('CREATE', trigger({ broker: 42, subscriber: SINK })));
    expect(response.allowed).toBe(false);
    expect(response.status!.message).toMatch(
      /^mutation failed: cannot decode incoming new object: .*spec\.broker/,
    );
  });

  it('on update, stamps lastModifier only when the spec changes', async () => {
    const old = await defaulted('CREATE', trigger());
    const relabelled = { ...old, metadata: { ...(old['metadata'] as Json), labels: { a: 'b' } } };
    const response = await admit('/defaulting', review('UPDATE', relabelled, old, 'bob'));
    const patched = response.patch ? JSON.parse(Buffer.from(response.patch, 'base64').toString()) : [];
    expect(JSON.stringify(patched)).not.toContain('lastModifier');
    const changed = {
      ...old,
      spec: { ...(old['spec'] as Json), subscriber: { uri: 'http://other.example.com/' } },
    };
    const body = review('UPDATE', changed, old, 'bob');
    const after = applyJsonPatch(
      changed,
      JSON.parse(Buffer.from((await admit('/defaulting', body)).patch!, 'base64').toString()),
    ) as Json;
    expect((after['metadata'] as Json)['annotations']).toMatchObject({
      'eventing.knative.dev/creator': 'alice',
      'eventing.knative.dev/lastModifier': 'bob',
    });
  });
});

describe('immutable fields on UPDATE', () => {
  it('refuses a Trigger whose spec.broker changes (1.3 Trigger)', async () => {
    const old = await defaulted('CREATE', trigger());
    const moved = { ...old, spec: { ...(old['spec'] as Json), broker: 'other' } };
    const response = await admit('/validation', review('UPDATE', moved, old));
    expect(response.allowed).toBe(false);
    expect(response.status!.message).toBe(
      'validation failed: immutable field changed (-old +new): spec.broker\n-default +other',
    );
    const resubscribed = {
      ...old,
      spec: { ...(old['spec'] as Json), subscriber: { uri: 'http://x.example.com/' } },
    };
    expect((await admit('/validation', review('UPDATE', resubscribed, old))).allowed).toBe(true);
  });

  it('refuses a Broker whose class annotation or config changes, allows a new delivery (1.3 Broker)', async () => {
    const old = await defaulted('CREATE', broker());
    const reclassed = structuredClone(old);
    ((reclassed['metadata'] as Json)['annotations'] as Json)['eventing.knative.dev/broker.class'] = 'Kafka';
    const refused = await admit('/validation', review('UPDATE', reclassed, old));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).toContain('metadata.annotations[eventing.knative.dev/broker.class]');
    const reconfigured = structuredClone(old);
    ((reconfigured['spec'] as Json)['config'] as Json)['name'] = 'other';
    expect((await admit('/validation', review('UPDATE', reconfigured, old))).status!.message).toContain(
      'spec.config',
    );
    const redelivered = structuredClone(old);
    (redelivered['spec'] as Json)['delivery'] = { retry: 1 };
    expect((await admit('/validation', review('UPDATE', redelivered, old))).allowed).toBe(true);
  });

  it('does not refuse an update for a default the webhook adds to an object stored before it ran', async () => {
    const storedBare = broker({ 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' });
    const updated = await defaulted(
      'UPDATE',
      { ...storedBare, metadata: { ...(storedBare['metadata'] as Json), labels: { x: 'y' } } },
      storedBare,
    );
    expect((await admit('/validation', review('UPDATE', updated, storedBare))).allowed).toBe(true);
  });

  it('refuses a Subscription whose spec.channel changes (1.3 Subscription)', async () => {
    const sub = (channel: string): Json => ({
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'Subscription',
      metadata: { name: 's', namespace: 'ns' },
      spec: {
        channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: channel },
        subscriber: SINK,
      },
    });
    const old = await defaulted('CREATE', sub('a'));
    const response = await admit(
      '/validation',
      review('UPDATE', await defaulted('UPDATE', sub('b'), old), old),
    );
    expect(response.allowed).toBe(false);
    expect(response.status!.message).toContain('spec.channel');
  });

  it('refuses a Channel whose channelTemplate changes (1.3 Channel)', async () => {
    const channel = (kind: string): Json => ({
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'Channel',
      metadata: { name: 'c', namespace: 'ns' },
      spec: { channelTemplate: { apiVersion: 'messaging.knative.dev/v1', kind } },
    });
    const old = await defaulted('CREATE', channel('InMemoryChannel'));
    const response = await admit(
      '/validation',
      review('UPDATE', await defaulted('UPDATE', channel('KafkaChannel'), old), old),
    );
    expect(response.allowed).toBe(false);
    expect(response.status!.message).toContain('spec.channelTemplate');
  });

  it('lets an object being deleted shed its finalizers even when it no longer validates', async () => {
    const old = {
      ...trigger({ subscriber: SINK }),
      metadata: { name: 't', namespace: 'ns', finalizers: ['x'], deletionTimestamp: '2026-01-01T00:00:00Z' },
    };
    const without = { ...old, metadata: { ...old.metadata, finalizers: [] } };
    expect((await admit('/validation', review('UPDATE', without, old))).allowed).toBe(true);
  });
});

describe('every kind of the registry goes through the webhook', () => {
  const cases = allKinds.flatMap((k: KindDefinition) => k.versions.map((v) => [k.kind, v, k] as const));

  it.each(cases)(
    '%s %s: in the generated rules, admitted when valid, refused when not',
    async (kind, version, def) => {
      const rules = admissionRules(allKinds);
      expect(rules).toContainEqual(
        expect.objectContaining({
          apiGroups: [def.group],
          resources: [def.plural],
          apiVersions: expect.arrayContaining([version]),
        }),
      );
      const spec = validSpecOf(kind, version);
      const object: Json = {
        apiVersion: `${def.group}/${version}`,
        kind,
        metadata: { name: 'x', namespace: 'ns' },
        ...(spec !== undefined ? { spec } : {}),
      };
      const stored = await defaulted('CREATE', object);
      const allowed = await admit('/validation', review('CREATE', stored));
      expect(allowed.status?.message).toBeUndefined();
      expect(allowed.allowed).toBe(true);
      const invalid = { ...object, spec: 42 };
      const refused = await admit('/validation', review('CREATE', invalid));
      expect(refused.allowed).toBe(false);
      expect(refused.status!.message).toMatch(/^validation failed: .*spec/);
      expect((await admit('/defaulting', review('CREATE', invalid))).allowed).toBe(false);
    },
  );
});

describe('what is not an AdmissionReview', () => {
  it.each([
    ['not JSON', '{"apiVersion":', /^could not decode body/],
    ['an array', '[]', /expected an AdmissionReview object, got array/],
    [
      'another apiVersion',
      { apiVersion: 'v1', kind: 'AdmissionReview', request: {} },
      /^apiVersion: expected one of/,
    ],
    [
      'no request',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
      /^request: missing field\(s\)/,
    ],
    [
      'no uid',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: {} } },
      /^request\.uid: missing field\(s\)/,
    ],
    [
      'a kind without kind',
      {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { uid: 'u', kind: { group: '', version: 'v1' }, operation: 'CREATE' },
      },
      /^request\.kind\.kind: missing field\(s\)/,
    ],
    [
      'an unknown operation',
      {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { uid: 'u', kind: { group: 'g', version: 'v1', kind: 'K' }, operation: 'PATCH' },
      },
      /^request\.operation: expected one of CREATE, UPDATE, DELETE, CONNECT, got "PATCH"/,
    ],
    [
      'an object that is a string',
      {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'u',
          kind: { group: 'g', version: 'v1', kind: 'K' },
          operation: 'CREATE',
          object: 'x',
        },
      },
      /^request\.object: expected object, got string/,
    ],
  ])('%s: 400 with what is wrong', async (_what, body, message) => {
    for (const path of ['/defaulting', '/validation']) {
      const res = await post(path, body);
      expect(res.status).toBe(400);
      expect(res.text).toMatch(message);
    }
  });

  it('answers v1beta1 reviews in v1beta1', async () => {
    const body = { ...review('CREATE', trigger()), apiVersion: 'admission.k8s.io/v1beta1' };
    expect((await admit('/validation', body)).allowed).toBe(true);
  });

  it('413 for a review larger than the limit, 405 for another method, 404 elsewhere', async () => {
    const big = review('CREATE', {
      ...trigger(),
      metadata: { name: 't', namespace: 'ns', annotations: { big: 'x'.repeat(300 * 1024) } },
    });
    expect((await post('/validation', big)).status).toBe(413);
    const get = await request(`${server.url}/validation`, { dispatcher: agent });
    expect(get.statusCode).toBe(405);
    expect(get.headers['allow']).toBe('POST');
    await get.body.dump();
    expect((await post('/mutate', {})).status).toBe(404);
  });
});

describe('admin endpoints on the same HTTPS port', () => {
  it('/healthz and /readyz answer 200; /metrics counts admissions by kind and outcome', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const r = await request(`${server.url}${path}`, { dispatcher: agent });
      expect(r.statusCode).toBe(200);
      await r.body.dump();
    }
    await admit('/validation', review('CREATE', trigger({ subscriber: SINK })));
    const r = await request(`${server.url}/metrics`, { dispatcher: agent });
    const text = await r.body.text();
    expect(text).toMatch(
      /kn_webhook_handler_duration_seconds_count\{kn_webhook_type="validation",kn_webhook_resource_group="eventing.knative.dev",kn_webhook_resource_version="v1",kn_webhook_resource_kind="Trigger",kn_webhook_subresource="",kn_webhook_operation_type="CREATE",kn_webhook_operation_status="failure"\} [1-9]/,
    );
    expect(text).toContain('kn_webhook_resource_kind="other"');
  });

  it('is served with the issued certificate, and a client trusting another CA is refused', async () => {
    const other = await issueServingCertificate({ hosts: ['127.0.0.1'], validityDays: 2 });
    const stranger = new Agent({ connect: { ca: other.caBundle } });
    try {
      await expect(request(`${server.url}/healthz`, { dispatcher: stranger })).rejects.toThrow();
    } finally {
      await stranger.close();
    }
  });

  it('setIdentity serves new connections with a renewed certificate', async () => {
    const renewed = await issueServingCertificate({ hosts: ['127.0.0.1'], validityDays: 2 });
    server.setIdentity(renewed);
    const fresh = new Agent({ connect: { ca: renewed.caBundle } });
    const old = new Agent({ connect: { ca: cert.caBundle } });
    try {
      const r = await request(`${server.url}/healthz`, { dispatcher: fresh });
      expect(r.statusCode).toBe(200);
      await r.body.dump();
      await expect(request(`${server.url}/healthz`, { dispatcher: old })).rejects.toThrow();
    } finally {
      server.setIdentity(cert);
      await fresh.close();
      await old.close();
    }
  });
});
