import { crdFor } from './crd/crd';
import {
  AUTO_CREATED_DESCRIPTION,
  EventTypeKind,
  autoEventType,
  autoEventTypeName,
  setDefaultsEventType,
  validateEventType,
  type EventType,
} from './eventtype';
import { kindFor } from './registry';

const meta = { name: 'et', namespace: 'demo' };

function v1beta3(spec: EventType['spec']): EventType {
  return { apiVersion: 'eventing.knative.dev/v1beta3', kind: 'EventType', metadata: meta, spec };
}
function v1beta2(spec: EventType['spec']): EventType {
  return { apiVersion: 'eventing.knative.dev/v1beta2', kind: 'EventType', metadata: meta, spec };
}

const required = [
  { name: 'type', required: true, value: 'dev.example.a' },
  { name: 'source', required: true, value: 'https://example.com/x' },
  { name: 'specversion', required: true, value: '1.0' },
  { name: 'id', required: true },
];

describe('EventType (CONFORMANCE 1.1, 1.3)', () => {
  it('is served as v1beta3 (storage) and v1beta2', () => {
    expect(kindFor('eventing.knative.dev/v1beta3', 'EventType')).toBe(EventTypeKind);
    expect(kindFor('eventing.knative.dev/v1beta2', 'EventType')).toBe(EventTypeKind);
    const crd = crdFor(EventTypeKind) as { spec: { versions: { name: string; storage: boolean }[] } };
    expect(crd.spec.versions.map((v) => [v.name, v.storage])).toEqual([
      ['v1beta3', true],
      ['v1beta2', false],
    ]);
  });

  it("prints upstream's columns in each version", () => {
    const crd = crdFor(EventTypeKind) as {
      spec: { versions: { name: string; additionalPrinterColumns: { name: string; jsonPath: string }[] }[] };
    };
    const columns = (v: string) =>
      crd.spec.versions
        .find((x) => x.name === v)!
        .additionalPrinterColumns.map((c) => `${c.name}=${c.jsonPath}`);
    expect(columns('v1beta3')).toEqual([
      "Type=.spec.attributes[?(@.name=='type')].value",
      "Source=.spec.attributes[?(@.name=='source')].value",
      'Reference Name=.spec.reference.name',
      'Reference Kind=.spec.reference.kind',
      'Description=.spec.description',
      'Ready=.status.conditions[?(@.type=="Ready")].status',
      'Reason=.status.conditions[?(@.type=="Ready")].reason',
    ]);
    expect(columns('v1beta2').slice(0, 3)).toEqual([
      'Type=.spec.type',
      'Source=.spec.source',
      'Schema=.spec.schema',
    ]);
  });

  it.each([
    [v1beta3({ attributes: required }), []],
    [
      v1beta3({}),
      ['spec.attributes: missing field(s): the attributes must define type, source, specversion, id'],
    ],
    [
      v1beta3({ attributes: required.filter((a) => a.name !== 'id') }),
      ['spec.attributes: missing field(s): the attributes must define id (as {name: id, required: true})'],
    ],
    [v1beta2({ type: 'dev.example.a' }), []],
    [v1beta2({ source: 'x' }), ['spec.type: missing field(s)']],
    [
      v1beta3({ attributes: required, reference: { kind: 'Broker', name: 'b' } }),
      ['spec.reference.apiVersion: missing field(s)'],
    ],
  ])('validates %j', (obj, expected) => {
    const errs = validateEventType(obj).map((e) => e.toString());
    if (expected.length === 0) expect(errs).toEqual([]);
    else expect(errs).toEqual(expected.map((e) => expect.stringContaining(e)));
  });

  it('written as v1beta2, gains the v1beta3 attributes and a reference for a broker (upstream conversion)', () => {
    const out = setDefaultsEventType(
      v1beta2({
        type: 'dev.example.a',
        source: 'https://example.com/x',
        schema: 'https://s',
        broker: 'default',
      }),
    );
    expect(out.spec.reference).toEqual({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      name: 'default',
      namespace: 'demo',
    });
    expect(out.spec.attributes).toEqual([
      { name: 'specversion', required: true },
      { name: 'id', required: true },
      { name: 'type', required: true, value: 'dev.example.a' },
      { name: 'source', required: true, value: 'https://example.com/x' },
      { name: 'schemadata', required: false, value: 'https://s' },
    ]);
    expect(validateEventType({ ...out, apiVersion: 'eventing.knative.dev/v1beta3' })).toEqual([]);
  });

  it('written as v1beta3, gains the v1beta2 type, source and schema', () => {
    const out = setDefaultsEventType(
      v1beta3({ attributes: [...required, { name: 'schemadata', required: false, value: 'https://s' }] }),
    );
    expect(out.spec).toMatchObject({
      type: 'dev.example.a',
      source: 'https://example.com/x',
      schema: 'https://s',
    });
    expect(validateEventType({ ...out, apiVersion: 'eventing.knative.dev/v1beta2' })).toEqual([]);
  });
});

describe('auto-created EventTypes (CONFORMANCE 2.16)', () => {
  it("are named et-<ref>-<md5(type+source+namespace+ref)>, as upstream's generateEventTypeName", () => {
    // printf '%s' 'dev.example.aexample.com/xdemodefault' | md5sum
    expect(autoEventTypeName('default', 'demo', 'dev.example.a', 'example.com/x')).toBe(
      'et-default-6b0af3c879b9f3a2c6d9ca36c094414b',
    );
  });

  it('are made a DNS-1123 subdomain as upstream does (characters dropped, ends trimmed)', () => {
    const name = autoEventTypeName('My_Broker', 'demo', 't', 's');
    expect(name).toMatch(/^et-mybroker-[0-9a-f]{32}$/);
    expect(autoEventTypeName('x'.repeat(300), 'demo', 't', 's')).toHaveLength(243);
  });

  it('carry the reference, its owner reference, upstream attributes and description', () => {
    const et = autoEventType({
      reference: {
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Broker',
        name: 'default',
        namespace: 'demo',
      },
      referenceUid: 'u-1',
      type: 'dev.example.a',
      source: 'example.com/x',
      schema: '',
      specversion: '1.0',
    });
    expect(et).toEqual({
      apiVersion: 'eventing.knative.dev/v1beta3',
      kind: 'EventType',
      metadata: {
        name: 'et-default-6b0af3c879b9f3a2c6d9ca36c094414b',
        namespace: 'demo',
        ownerReferences: [
          { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', uid: 'u-1' },
        ],
      },
      spec: {
        reference: {
          apiVersion: 'eventing.knative.dev/v1',
          kind: 'Broker',
          name: 'default',
          namespace: 'demo',
        },
        description: AUTO_CREATED_DESCRIPTION,
        attributes: [
          { name: 'type', required: true, value: 'dev.example.a' },
          { name: 'source', required: true, value: 'example.com/x' },
          { name: 'schemadata', required: true, value: '' },
          { name: 'specversion', required: true, value: '1.0' },
          { name: 'id', required: true },
        ],
      },
    });
    expect(validateEventType(et)).toEqual([]);
  });
});
