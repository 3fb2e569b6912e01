import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_YAML_DEPTH } from '@eventing/api';
import { loadResourceDir, MAX_FILE_BYTES } from './yaml-loader';

describe('YAML loader', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'loader-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('loads valid documents, reports invalid ones with file, kind, name and field path, and keeps going', () => {
    mkdirSync(join(dir, 'nested'));
    writeFileSync(
      join(dir, 'a.yaml'),
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: good }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: bad-delivery, namespace: ns1 }
spec:
  broker: good
  subscriber: { uri: http://x.local/ }
  delivery: { backoffDelay: soon }
---
apiVersion: example.com/v1
kind: Widget
metadata: { name: w }
`,
    );
    writeFileSync(
      join(dir, 'nested', 'b.yml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: address-book }\ndata:\n  svc: builtin:display\n  bad: ftp://nope\n',
    );
    writeFileSync(join(dir, 'broken.yaml'), 'kind: [unclosed');
    writeFileSync(
      join(dir, 'dup.yaml'),
      'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: { name: good }\n',
    );
    const result = loadResourceDir(dir);
    expect(result.resources.map((r) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
      'Broker/default/good',
    ]);
    // Defaults applied (broker class annotation).
    expect(result.resources[0]!.metadata.annotations?.['eventing.knative.dev/broker.class']).toBe(
      'MTChannelBasedBroker',
    );
    expect(result.addresses.get('default/svc')).toBe('builtin:display');
    const problems = result.problems.map((p) => [
      p.file.replace(dir, '').replace(/^.*?(?=[a-z]+\.ya?ml)/, ''),
      p.kind,
      p.name,
      p.path,
      p.message,
    ]);
    expect(problems).toEqual(
      expect.arrayContaining([
        ['a.yaml#2', 'Trigger', 'ns1/bad-delivery', 'spec.delivery.backoffDelay', expect.any(String)],
        ['a.yaml#3', 'Widget', 'default/w', undefined, 'unsupported kind Widget (example.com/v1): skipped'],
        ['b.yml', 'ConfigMap', 'default/address-book', 'data.bad', expect.stringContaining('neither')],
        ['broken.yaml', undefined, undefined, undefined, expect.stringContaining('YAML error')],
        ['dup.yaml', 'Broker', 'default/good', undefined, expect.stringContaining('duplicate')],
      ]),
    );
  });

  it('explains a missing folder', () => {
    expect(loadResourceDir(join(dir, 'nope')).problems[0]?.message).toContain('not a folder');
  });

  it('1.4: retryAfterMax is rejected until config-features enables delivery-retryafter', () => {
    const trigger = `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: t }
spec:
  broker: default
  subscriber: { uri: http://x.local/ }
  delivery: { retry: 2, retryAfterMax: PT10S }
`;
    writeFileSync(join(dir, 'trigger.yaml'), trigger);
    const without = loadResourceDir(dir);
    expect(without.resources).toHaveLength(0);
    expect(without.problems[0]).toMatchObject({ path: 'spec.delivery.retryAfterMax' });
    writeFileSync(
      join(dir, 'features.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: config-features }\ndata:\n  delivery-retryafter: enabled\n  delivery-timeout: maybe\n',
    );
    const withFlag = loadResourceDir(dir);
    expect(withFlag.resources.map((r) => r.metadata.name)).toEqual(['t']);
    expect(withFlag.features).toEqual({ 'delivery-retryafter': true });
    expect(withFlag.problems).toEqual([
      expect.objectContaining({
        path: 'data.delivery-timeout',
        message: "'maybe' must be enabled, allowed or disabled",
      }),
    ]);
  });

  it('reads fields holding only a comment (YAML null) as absent, ignores status, and applies defaults', () => {
    writeFileSync(
      join(dir, 'nulls.yaml'),
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  labels:
    # none yet
spec:
  config:
    # the cluster default
  delivery:
    # the cluster default
status:
  address: { url: http://made.up/ }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: t }
spec:
  broker: default
  filter:
    attributes:
      # every event
  subscriber: { uri: http://s.example/ }
  delivery: null
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: t2 }
spec:
  broker: default
  filter: ~
  subscriber: { uri: http://s.example/ }
---
apiVersion: messaging.knative.dev/v1
kind: Channel
metadata: { name: c }
spec:
  channelTemplate:
    # the namespace default
  delivery: null
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: { name: imc }
spec:
  delivery:
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: { name: s }
spec:
  channel: { apiVersion: messaging.knative.dev/v1, kind: Channel, name: c }
  subscriber: { uri: http://s.example/ }
  reply: null
  delivery: null
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: p }
spec:
  sink: { uri: http://s.example/ }
  ceOverrides:
    # none
status: null
`,
    );
    const result = loadResourceDir(dir);
    expect(result.problems).toEqual([]);
    const byName = new Map(result.resources.map((r) => [`${r.kind}/${r.metadata.name}`, r]));
    expect([...byName.keys()]).toEqual([
      'Broker/default',
      'Trigger/t',
      'Trigger/t2',
      'Channel/c',
      'InMemoryChannel/imc',
      'Subscription/s',
      'PingSource/p',
    ]);
    for (const r of result.resources) expect(r).not.toHaveProperty('status');
    expect(byName.get('Broker/default')?.spec).toMatchObject({
      config: { name: 'config-br-default-channel' },
      delivery: { retry: 10 },
    });
    expect(byName.get('Trigger/t')?.spec).toEqual({
      broker: 'default',
      filter: {},
      subscriber: { uri: 'http://s.example/' },
    });
    expect(byName.get('Trigger/t2')?.spec).toMatchObject({ filter: {} });
    expect(byName.get('Channel/c')?.spec).toMatchObject({ channelTemplate: { kind: 'InMemoryChannel' } });
    expect(byName.get('Subscription/s')?.spec).not.toHaveProperty('reply');
    expect(byName.get('PingSource/p')?.spec).toEqual({
      sink: { uri: 'http://s.example/' },
      schedule: '* * * * *',
    });
  });

  it('reports metadata and ConfigMap data of the wrong type with a field path', () => {
    writeFileSync(
      join(dir, 'wrong.yaml'),
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: just-a-name
---
apiVersion: v1
kind: ConfigMap
metadata: { name: address-book }
data: [a, b]
`,
    );
    expect(loadResourceDir(dir).problems).toEqual([
      expect.objectContaining({ file: expect.stringMatching(/wrong\.yaml#2$/), path: 'data' }),
      expect.objectContaining({
        file: expect.stringMatching(/wrong\.yaml#1$/),
        kind: 'Broker',
        path: 'metadata',
        message: 'expected object, got string',
      }),
    ]);
  });

  it('reports, and survives, alias bombs, deep nesting and oversized files; other files still load', () => {
    let bomb =
      'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: bomb}\na0: &a0 [x, x, x, x]\n';
    for (let i = 1; i < 10; i++) bomb += `a${i}: &a${i} [*a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}]\n`;
    writeFileSync(join(dir, 'bomb.yaml'), bomb);
    // Deep enough to overflow the stack while composing: refused before that, as a whole file.
    writeFileSync(join(dir, 'deep.yaml'), `a: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`);
    writeFileSync(join(dir, 'big.yaml'), `a: ${'x'.repeat(MAX_FILE_BYTES)}\n`);
    writeFileSync(
      join(dir, 'ok.yaml'),
      'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: ok}\n',
    );
    const result = loadResourceDir(dir);
    expect(result.resources.map((r) => r.metadata.name)).toEqual(['ok']);
    const problems = result.problems.map((p) => [p.file.replace(/^.*\//, ''), p.message]);
    expect(problems).toEqual([
      ['big.yaml', `${MAX_FILE_BYTES + 4} bytes, more than ${MAX_FILE_BYTES}: file not read`],
      ['bomb.yaml', expect.stringMatching(/^YAML error: Excessive alias count/)],
      ['deep.yaml', `YAML nested 50001 levels deep, more than ${MAX_YAML_DEPTH}: file not read`],
    ]);
  });
});
