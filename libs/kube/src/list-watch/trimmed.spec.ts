import { trimmed } from './list-watch';

describe('trimmed', () => {
  it('drops managedFields and kubectl’s last-applied copy, and keeps every other annotation', () => {
    const object = {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: {
        name: 't',
        namespace: 'default',
        resourceVersion: '7',
        managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }],
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"eventing.knative.dev/v1"}',
          'eventing.knative.dev/creator': 'admin',
        },
      },
      spec: { broker: 'default' },
    };
    const out = trimmed(object);
    expect(out.metadata).toEqual({
      name: 't',
      namespace: 'default',
      resourceVersion: '7',
      annotations: { 'eventing.knative.dev/creator': 'admin' },
    });
    expect(out.spec).toEqual({ broker: 'default' });
  });

  it('leaves an object without either as it is', () => {
    const object = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', labels: { a: 'b' } } };
    expect(trimmed(structuredClone(object))).toEqual(object);
  });
});
