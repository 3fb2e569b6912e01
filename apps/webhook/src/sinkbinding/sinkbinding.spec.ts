import type { SinkBinding } from '@eventing/api';
import { applyJsonPatch } from '../testing/apply-json-patch';
import type { AdmissionRequest } from '../admission/review';
import { admitSubject } from './admission';
import { BindingIndex, type SubjectObject } from './binding-index';
import { sinkBindingWebhook } from './registration';

// The SinkBinding admission path (CONFORMANCE 4.4): what the webhook makes of a subject created or
// updated, decided from the bindings it follows.

const binding = (
  name: string,
  subject: Partial<SinkBinding['spec']['subject']>,
  extra: Partial<SinkBinding> = {},
): SinkBinding => ({
  apiVersion: 'sources.knative.dev/v1',
  kind: 'SinkBinding',
  metadata: { name, namespace: 'ns', resourceVersion: '1' },
  spec: {
    subject: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ns', ...subject },
    sink: { uri: 'http://sink.example/' },
    ceOverrides: { extensions: { team: 'a' } },
  },
  status: { sinkUri: 'http://sink.example/' },
  ...extra,
});

const deployment = (name: string, labels: Record<string, string> = {}): SubjectObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'ns', labels },
  spec: {
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        initContainers: [{ name: 'init', image: 'i' }],
        containers: [
          { name: 'main', image: 'm', env: [{ name: 'KEEP', value: '1' }] },
          { name: 'side', image: 's' },
        ],
      },
    },
  },
});

const review = (
  object: SubjectObject,
  operation: AdmissionRequest['operation'] = 'CREATE',
  kind = 'Deployment',
  group = 'apps',
): AdmissionRequest => ({
  uid: 'u1',
  kind: { group, version: 'v1', kind },
  namespace: 'ns',
  operation,
  object,
});

function admitted(index: BindingIndex, request: AdmissionRequest): SubjectObject {
  const response = admitSubject(index, request);
  expect(response.allowed).toBe(true);
  if (response.patch === undefined) return request.object as SubjectObject;
  expect(response.patchType).toBe('JSONPatch');
  return applyJsonPatch(
    request.object,
    JSON.parse(Buffer.from(response.patch, 'base64').toString()),
  ) as SubjectObject;
}

const envOf = (o: SubjectObject, container = 0, init = false) => {
  const spec = (
    o.spec as { template: { spec: Record<string, { env?: { name: string; value?: string }[] }[]> } }
  ).template.spec;
  return spec[init ? 'initContainers' : 'containers']?.[container]?.env;
};

describe('SinkBinding admission (4.4)', () => {
  it('a named subject gets K_SINK and K_CE_OVERRIDES on every container and init container; others keep theirs', () => {
    const index = new BindingIndex();
    index.set(binding('bind', { name: 'app' }));
    const out = admitted(index, review(deployment('app')));
    expect(envOf(out, 0)).toEqual([
      { name: 'KEEP', value: '1' },
      { name: 'K_SINK', value: 'http://sink.example/' },
      { name: 'K_CE_OVERRIDES', value: '{"extensions":{"team":"a"}}' },
    ]);
    expect(envOf(out, 1)?.map((e) => e.name)).toEqual(['K_SINK', 'K_CE_OVERRIDES']);
    expect(envOf(out, 0, true)?.map((e) => e.name)).toEqual(['K_SINK', 'K_CE_OVERRIDES']);
    expect(admitSubject(index, review(deployment('other'))).patch).toBeUndefined();
  });

  it('K_CA_CERTS for a sink with CA certificates; a selector picks subjects by label', () => {
    const index = new BindingIndex();
    index.set(
      binding(
        'bind',
        { selector: { matchLabels: { bound: 'yes' } } },
        {
          status: { sinkUri: 'https://sink.example/', sinkCACerts: 'PEM' },
        },
      ),
    );
    const out = admitted(index, review(deployment('a', { bound: 'yes' })));
    expect(envOf(out, 1)).toEqual([
      { name: 'K_SINK', value: 'https://sink.example/' },
      { name: 'K_CA_CERTS', value: 'PEM' },
      { name: 'K_CE_OVERRIDES', value: '{"extensions":{"team":"a"}}' },
    ]);
    expect(admitSubject(index, review(deployment('b', { bound: 'no' }))).patch).toBeUndefined();
    // Excluded objects are never bound.
    expect(
      admitSubject(index, review(deployment('c', { bound: 'yes', 'bindings.knative.dev/exclude': 'true' })))
        .patch,
    ).toBeUndefined();
  });

  it('an update already bound is left alone; a binding being deleted takes its environment away', () => {
    const index = new BindingIndex();
    index.set(binding('bind', { name: 'app' }));
    const bound = admitted(index, review(deployment('app')));
    expect(admitSubject(index, review(bound, 'UPDATE')).patch).toBeUndefined();
    index.set(
      binding(
        'bind',
        { name: 'app' },
        { metadata: { name: 'bind', namespace: 'ns', deletionTimestamp: '2026-01-01T00:00:00Z' } },
      ),
    );
    const undone = admitted(index, review(bound, 'UPDATE'));
    expect(envOf(undone, 0)).toEqual([{ name: 'KEEP', value: '1' }]);
    expect(envOf(undone, 1)).toEqual([]);
  });

  it('a binding without a resolved sink, another kind or namespace, and DELETE change nothing', () => {
    const index = new BindingIndex();
    index.set(binding('pending', { name: 'app' }, { status: {} }));
    expect(admitSubject(index, review(deployment('app'))).patch).toBeUndefined();
    index.set(binding('bind', { name: 'app' }));
    expect(
      admitSubject(index, review({ ...deployment('app'), kind: 'StatefulSet' }, 'CREATE', 'StatefulSet'))
        .patch,
    ).toBeUndefined();
    expect(
      admitSubject(index, review({ ...deployment('app'), metadata: { name: 'app', namespace: 'other' } }))
        .patch,
    ).toBeUndefined();
    expect(admitSubject(index, review(deployment('app'), 'DELETE'))).toEqual({ uid: 'u1', allowed: true });
  });

  it('a CronJob is bound in its job template; a Knative Service in its template', () => {
    const index = new BindingIndex();
    index.set(binding('cron', { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly' }));
    index.set(binding('ksvc', { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'fn' }));
    const cron = admitted(
      index,
      review(
        {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          metadata: { name: 'nightly', namespace: 'ns' },
          spec: {
            schedule: '@daily',
            jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'x' }] } } } },
          },
        },
        'CREATE',
        'CronJob',
        'batch',
      ),
    );
    expect(JSON.stringify(cron.spec)).toContain('"name":"K_SINK"');
    const ksvc = admitted(
      index,
      review(
        {
          apiVersion: 'serving.knative.dev/v1',
          kind: 'Service',
          metadata: { name: 'fn', namespace: 'ns' },
          spec: { template: { spec: { containers: [{ image: 'x' }] } } },
        },
        'CREATE',
        'Service',
        'serving.knative.dev',
      ),
    );
    expect(envOf(ksvc, 0)?.map((e) => e.name)).toEqual(['K_SINK', 'K_CE_OVERRIDES']);
  });

  it('the webhook rules follow the kinds bindings name (none without bindings)', () => {
    const index = new BindingIndex();
    const target = { url: 'https://127.0.0.1:8443' };
    expect(sinkBindingWebhook(index.subjectKinds(), target, 'CA')['rules']).toEqual([]);
    index.set(binding('a', { name: 'x' }));
    index.set(binding('b', { apiVersion: 'batch/v1', kind: 'Job', name: 'y' }));
    const webhook = sinkBindingWebhook(index.subjectKinds(), target, 'CA');
    expect(webhook['rules']).toEqual([
      {
        apiGroups: ['apps'],
        apiVersions: ['v1'],
        resources: ['deployments'],
        operations: ['CREATE', 'UPDATE'],
        scope: 'Namespaced',
      },
      {
        apiGroups: ['batch'],
        apiVersions: ['v1'],
        resources: ['jobs'],
        operations: ['CREATE', 'UPDATE'],
        scope: 'Namespaced',
      },
    ]);
    expect(webhook['clientConfig']).toEqual({
      url: 'https://127.0.0.1:8443/sinkbindings',
      caBundle: Buffer.from('CA').toString('base64'),
    });
    expect(webhook['objectSelector']).toEqual({
      matchExpressions: [{ key: 'bindings.knative.dev/exclude', operator: 'NotIn', values: ['true'] }],
    });
  });
});
