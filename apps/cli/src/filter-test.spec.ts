import { buildCli, fixtureDir, runBuiltCli, runNpmBin } from './built-cli';

// `eventing filter test`: the first Trigger of a YAML file against one event, with the reasons.
const fixtures = fixtureDir();

function trigger(spec: string, name = 'orders'): string {
  return fixtures.write(
    `${name}.yaml`,
    `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
  namespace: default
spec:
  broker: default
  subscriber:
    uri: http://127.0.0.1:9/sink
${spec}`,
  );
}

function event(attributes: Record<string, unknown>, name = 'event.json'): string {
  return fixtures.write(
    name,
    JSON.stringify({ specversion: '1.0', id: '1', source: '/shop', type: 'order.created', ...attributes }),
  );
}

beforeAll(() => buildCli());
afterAll(() => fixtures.remove());

describe('filter test: match and no match', () => {
  it('prints "match: yes" with the reason for a legacy attribute filter (3.1)', () => {
    const file = trigger('  filter:\n    attributes:\n      type: order.created\n');
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({})]);
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(run.stdout).toBe(
      'match: yes\n  - filter.attributes.type: "order.created" matches "order.created"\n',
    );
  });

  it('prints "match: no" and the failing filter with its path, exit 0 (3.2 exact)', () => {
    const file = trigger('  filters:\n    - exact:\n        type: order.shipped\n');
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({})]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('match: no\n  - filters[0].exact.type: "order.created" != "order.shipped"\n');
  });

  it('--json prints {"match", "reasons"} on one line', () => {
    const file = trigger(
      '  filters:\n    - prefix:\n        source: /sh\n    - suffix:\n        type: .deleted\n',
    );
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({}), '--json']);
    expect(run.status).toBe(0);
    expect(run.stdout.endsWith('\n')).toBe(true);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(run.stdout)).toEqual({
      match: false,
      reasons: [
        'filters[0].prefix.source: "/shop" matches "/sh"',
        'filters[1].suffix.type: "order.created" does not end with ".deleted"',
      ],
    });
  });

  it('filters win over filter.attributes and say so (3.4)', () => {
    const file = trigger(
      '  filter:\n    attributes:\n      type: other\n  filters:\n    - exact:\n        type: order.created\n',
    );
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({}), '--json']);
    expect(JSON.parse(run.stdout)).toEqual({
      match: true,
      reasons: [
        'filter.attributes: ignored because filters is set',
        'filters[0].exact.type: "order.created" matches "order.created"',
      ],
    });
  });

  it('a Trigger without filters matches every event', () => {
    const run = runBuiltCli(['filter', 'test', '--trigger', trigger(''), '--event', event({})]);
    expect(run.stdout).toBe('match: yes\n  - no applicable filter: every event matches\n');
  });

  it('an extension missing from the event fails with "attribute is absent" (3.4)', () => {
    const file = trigger(
      '  filters:\n    - any:\n        - exact:\n            myext: x\n        - exact:\n            type: nope\n',
    );
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({}), '--json']);
    expect(JSON.parse(run.stdout)).toEqual({
      match: false,
      reasons: [
        'filters[0].any[0].exact.myext: attribute is absent',
        'filters[0].any[1].exact.type: "order.created" != "nope"',
        'filters[0].any: no alternative matched',
      ],
    });
  });

  it('reads the event from stdin with --event -', () => {
    const file = trigger('  filters:\n    - exact:\n        seq: "5"\n');
    const body = JSON.stringify({ specversion: '1.0', id: '9', source: '/s', type: 't', seq: 5 });
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', '-'], body);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('match: yes\n  - filters[0].exact.seq: "5" matches "5"\n');
  });

  it.each([
    ['--trigger=FILE --event=-', (file: string) => [`--trigger=${file}`, '--event=-']],
    ['--event - --trigger FILE --json', (file: string) => ['--event', '-', '--trigger', file, '--json']],
    ['--json --trigger FILE --event -', (file: string) => ['--json', '--trigger', file, '--event', '-']],
    ['the same with -- at the end', (file: string) => ['--json', '--trigger', file, '--event', '-', '--']],
  ])('reads options in any order and form: %s', (_form, args) => {
    const file = trigger('  filters:\n    - exact:\n        type: t\n', 'forms');
    const body = JSON.stringify({ specversion: '1.0', id: '9', source: '/s', type: 't' });
    const run = runBuiltCli(['filter', 'test', ...args(file)], body);
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(run.stdout).toMatch(/^(match: yes\n|\{"match":true,)/);
  });

  it.each([['--json'], ['--trigger'], ['-h']])(
    'takes %s after --event as the event file, as getopt does',
    (value) => {
      const run = runBuiltCli(['filter', 'test', '--trigger', trigger(''), '--event', value]);
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`^eventing: --event ${value}: cannot read the file \\(ENOENT`));
    },
  );

  it('takes the first Trigger of a multi-document file, skipping other kinds', () => {
    const file = fixtures.write(
      'multi.yaml',
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: default}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: first, namespace: default}
spec:
  broker: default
  filter: {attributes: {type: order.created}}
  subscriber: {uri: "http://127.0.0.1:9"}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: second, namespace: default}
spec:
  broker: default
  filter: {attributes: {type: other}}
  subscriber: {uri: "http://127.0.0.1:9"}
`,
    );
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({}), '--json']);
    expect(JSON.parse(run.stdout)).toMatchObject({ match: true });
  });
});

describe('filter test: CESQL filters (3.2, 3.4)', () => {
  it.each([
    ["type LIKE 'order.%'", true, ['filters[0].cesql: expression is true']],
    ["source = '/elsewhere'", false, ['filters[0].cesql: expression is not true (false)']],
    ['EXISTS myext', false, ['filters[0].cesql: expression is not true (false)']],
    ['LENGTH(type) - 13', false, ['filters[0].cesql: expression is not true (0)']],
  ])('cesql %s => match %j', (expression, match, reasons) => {
    const file = trigger(`  filters:\n    - cesql: ${JSON.stringify(expression)}\n`, 'cesql');
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({}), '--json']);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ match, reasons });
  });

  it('an evaluation error fails the filter and is given as the reason', () => {
    const file = trigger(`  filters:\n    - cesql: "myext = 'x'"\n`, 'cesql-error');
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({})]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^match: no\n {2}- filters\[0\]\.cesql: missingAttribute error: .+\n$/);
  });

  it('not over an erroring expression matches (3.4)', () => {
    const file = trigger(`  filters:\n    - not:\n        cesql: "myext = 'x'"\n`, 'cesql-not');
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({}), '--json']);
    const output = JSON.parse(run.stdout) as { match: boolean; reasons: string[] };
    expect(output.match).toBe(true);
    expect(output.reasons[output.reasons.length - 1]).toBe(
      'filters[0].not: inner filter failed, so this matches',
    );
  });

  it('a CESQL expression that does not parse makes the Trigger invalid, with its position (1.3)', () => {
    const file = trigger(
      `  filters:\n    - exact:\n        type: order.created\n    - cesql: "type = = 'x'"\n`,
      'cesql-invalid',
    );
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({})]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /Trigger "default\/cesql-invalid" is invalid:\n {2}spec\.filters\[1\]\.cesql: .*\d/,
    );
  });
});

describe('filter test: invalid input exits 2', () => {
  it('reports every validation error of the Trigger with its field path (1.3)', () => {
    const file = trigger(
      '  filters:\n    - exact:\n        Type: a\n      prefix:\n        type: b\n    - cesql: "  "\n',
      'broken',
    );
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({})]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `eventing: --trigger ${file}: Trigger "default/broken" is invalid:\n` +
        '  spec.filters[0]: multiple dialects found (exact, prefix), filters can have only one dialect set\n' +
        '  spec.filters[0].exact[Type]: invalid key name "Type": Attribute name must start with a letter and can only contain lowercase alphanumeric\n' +
        '  spec.filters[1].cesql: must not be empty\n',
    );
  });

  it('reports a missing required field by its path', () => {
    const file = fixtures.write(
      'nosub.yaml',
      'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: t}\nspec: {broker: default}\n',
    );
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({})]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('spec.subscriber: missing field(s)');
  });

  it('reports a Trigger without metadata instead of crashing', () => {
    const file = fixtures.write(
      'nometa.yaml',
      'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nspec: {broker: default}\n',
    );
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({})]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/Trigger \(without metadata.name\) is invalid:\n {2}metadata: missing field/);
  });

  it('reports an apiVersion that does not serve Trigger', () => {
    const file = fixtures.write(
      'old.yaml',
      'apiVersion: eventing.knative.dev/v1beta1\nkind: Trigger\nmetadata: {name: t}\nspec: {broker: default}\n',
    );
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({})]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      'apiVersion: "eventing.knative.dev/v1beta1" does not serve kind Trigger (expected "eventing.knative.dev/v1")',
    );
  });

  it.each([
    [
      'no Trigger document',
      'cm.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n',
      'no document of kind Trigger in the file',
    ],
    ['broken YAML', 'bad.yaml', 'kind: Trigger\nmetadata: {name: [x\n', 'not valid YAML'],
  ])('names the file for %s', (_case, name, text, message) => {
    const file = fixtures.write(name, text);
    const run = runBuiltCli(['filter', 'test', '--trigger', file, '--event', event({})]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`eventing: --trigger ${file}: ${message}`);
  });

  it('names an unreadable file', () => {
    const run = runBuiltCli(['filter', 'test', '--trigger', 'no/such/trigger.yaml', '--event', event({})]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('eventing: --trigger no/such/trigger.yaml: cannot read the file (ENOENT');
  });

  it('names the attribute that makes the event invalid', () => {
    const bad = fixtures.write('noid.json', JSON.stringify({ specversion: '1.0', source: '/s', type: 't' }));
    const run = runBuiltCli(['filter', 'test', '--trigger', trigger(''), '--event', bad]);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`eventing: --event ${bad}: not a valid CloudEvent: attribute "id" is required\n`);
  });

  it.each([
    [['--event', 'x.json'], 'eventing: missing --trigger FILE'],
    [['--trigger', 'x.yaml'], 'eventing: missing --event FILE'],
    [['--trigger', 'x.yaml', '--event', 'e.json', '--evnt', 'e.json'], "eventing: unknown option '--evnt'"],
    [['--trigger'], 'eventing: --trigger needs a value'],
    [['--trigger', 'x.yaml', '--event'], 'eventing: --event needs a value'],
    [['--trigger', 'x.yaml', '--event', 'e.json', 'extra'], "eventing: unexpected argument 'extra'"],
    [['--trigger', 'x.yaml', '--event', 'e.json', '--json=yes'], 'eventing: --json does not take a value'],
    [['--trigger', 'x.yaml', '--event', 'e.json', '-j'], "eventing: unknown option '-j'"],
  ])('rejects %j with the flag and the usage', (args, message) => {
    const run = runBuiltCli(['filter', 'test', ...args]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.startsWith(message)).toBe(true);
    expect(run.stderr).toContain('Usage: eventing filter test --trigger FILE --event FILE|- [--json]');
  });
});

describe('command line', () => {
  it.each([
    [['--help']],
    [['filter', '--help']],
    [['filter', 'test', '--help']],
    [['filter', 'test', '-h']],
    [['cesql', '--help']],
    [['cesql', 'eval', '-h']],
  ])('%j prints usage and exits 0', (args) => {
    const run = runBuiltCli(args);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: eventing /);
    expect(run.stderr).toBe('');
  });

  it.each([
    [[], 'eventing: missing command', 'Usage: eventing <command>'],
    [['frobnicate'], "eventing: unknown command 'frobnicate'", 'Usage: eventing <command>'],
    [['filter'], "eventing: missing subcommand of 'filter'", 'Usage: eventing filter <subcommand>'],
    [['filter', 'run'], "eventing: unknown subcommand 'filter run'", 'Usage: eventing filter <subcommand>'],
  ])('%j exits 2 with a message and the usage', (args, message, usage) => {
    const run = runBuiltCli(args);
    expect(run.status).toBe(2);
    expect(run.stderr.startsWith(message)).toBe(true);
    expect(run.stderr).toContain(usage);
  });

  it('runs through node_modules/.bin/eventing, the program `npx eventing` starts', () => {
    const file = trigger('  filters:\n    - exact:\n        type: order.created\n', 'via-bin');
    const run = runNpmBin(
      ['filter', 'test', '--trigger', file, '--event', '-', '--json'],
      JSON.stringify({ specversion: '1.0', id: '1', source: '/s', type: 'order.created' }),
    );
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual({
      match: true,
      reasons: ['filters[0].exact.type: "order.created" matches "order.created"'],
    });
  });
});
