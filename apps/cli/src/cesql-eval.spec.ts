import { buildCli, fixtureDir, runBuiltCli, runNpmBin } from './built-cli';

// `eventing cesql eval`: one JSON object {result, errors} on stdout, exit 0 whatever the expression
// raised; exit 2 only for bad usage or an event that cannot be read.
const fixtures = fixtureDir();

interface Output {
  result: boolean | number | string;
  errors: { kind: string; message: string }[];
}

/** Runs `cesql eval`, checks exit 0, one JSON line, nothing on stderr, and returns the object. */
function evaluate(expression: string, extra: string[] = [], input?: string): Output {
  const run = runBuiltCli(['cesql', 'eval', '--expression', expression, ...extra], input);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout.endsWith('\n')).toBe(true);
  expect(run.stdout.trim().split('\n')).toHaveLength(1);
  const output = JSON.parse(run.stdout) as Output;
  expect(Object.keys(output).sort()).toEqual(['errors', 'result']);
  for (const error of output.errors) {
    expect(Object.keys(error).sort()).toEqual(['kind', 'message']);
    expect(error.message).not.toBe('');
  }
  return output;
}

const kinds = (output: Output): string[] => output.errors.map((e) => e.kind);

beforeAll(() => buildCli());
afterAll(() => fixtures.remove());

describe('cesql eval: results against the default event', () => {
  it.each([
    ["type = 'cli.event'", true],
    ["source = '/other'", false],
    ["specversion = '1.0' AND id = '1' AND source LIKE '/c%'", true],
    ['EXISTS subject', false],
    ['1 + 2 * 3', 7],
    ['-5 % 3', -2],
    ['LENGTH(type)', 9],
    ["CONCAT(source, ':', type)", '/cli:cli.event'],
    ['UPPER(type)', 'CLI.EVENT'],
    ['id', '1'],
  ])('%s => %j with no errors', (expression, result) => {
    expect(evaluate(expression)).toEqual({ result, errors: [] });
  });
});

describe('cesql eval: each error kind, with the zero value of the failing operation (CESQL v1 3.3)', () => {
  it.each([
    ['parse', "type = 'unterminated", false],
    ['parse', 'type = = 1', false],
    ['math', '5 / 0', 0],
    ['math', '5 % 0', 0],
    ['cast', "INT('ABC')", 0],
    ['cast', "BOOL('ABC')", false],
    ['missingAttribute', "myext = 'x'", false],
    ['missingAttribute', 'missing / 0', 0],
    ['missingFunction', 'NO_SUCH_FUNCTION(1)', false],
    ['missingFunction', 'CONCAT_WS()', false],
    ['functionEvaluation', "LEFT('abc', -2)", 'abc'],
    ['functionEvaluation', "SUBSTRING('abcdef', 10)", ''],
  ])('%s: %s => %j', (kind, expression, result) => {
    const output = evaluate(expression);
    expect(output.result).toBe(result);
    expect(kinds(output)).toContain(kind);
  });

  it('an expression that does not parse says where, with result false', () => {
    const output = evaluate('(type = ');
    expect(output).toMatchObject({ result: false, errors: [{ kind: 'parse' }] });
  });

  it('an error in one operand does not stop the other one from being used (v1 complete evaluation)', () => {
    const output = evaluate("myext = 'x' OR type = 'cli.event'");
    expect(output.result).toBe(true);
    expect(kinds(output)).toEqual(['missingAttribute']);
  });
});

describe('cesql eval: the event', () => {
  const structured = JSON.stringify({
    specversion: '1.0',
    id: 'e-7',
    source: '/orders',
    type: 'order.created',
    seq: 5,
    urgent: true,
    data: { n: 1 },
  });

  it('reads the event from a file, extensions included (numbers and booleans keep their type)', () => {
    const file = fixtures.write('order.json', structured);
    expect(evaluate('seq + 1', ['--event', file])).toEqual({ result: 6, errors: [] });
    expect(evaluate('urgent AND id = "e-7"', ['--event', file])).toEqual({ result: true, errors: [] });
  });

  it('reads the event from stdin with --event -', () => {
    expect(evaluate("CONCAT(type, '@', source)", ['--event', '-'], structured)).toEqual({
      result: 'order.created@/orders',
      errors: [],
    });
  });

  it('takes an expression starting with a dash as the value of --expression', () => {
    const input = JSON.stringify({ specversion: '1.0', id: '1', source: '/s', type: 't', seq: '7' });
    expect(evaluate('-seq', ['--event', '-'], input)).toEqual({ result: -7, errors: [] });
  });

  it('an attribute absent from the given event is a missingAttribute error', () => {
    const output = evaluate('subject = "x"', ['--event', '-'], structured);
    expect(output).toMatchObject({ result: false, errors: [{ kind: 'missingAttribute' }] });
  });
});

describe('cesql eval: an option takes the next argument as its value, whatever it starts with', () => {
  const event = JSON.stringify({ specversion: '1.0', id: '1', source: '/s', type: 't', seq: 5 });
  it.each([
    [['--expression', '--10'], { result: 10, errors: [] }],
    [['--expression', '-1'], { result: -1, errors: [] }],
    [['--expression=--10'], { result: 10, errors: [] }],
    [['--expression=-1'], { result: -1, errors: [] }],
    [['--expression', '-seq', '--event', '-'], { result: -5, errors: [] }],
    [['--event', '-', '--expression', '--seq'], { result: 5, errors: [] }],
    [['--event=-', '--expression=-seq + 1'], { result: -4, errors: [] }],
    [["--expression=id = '1'"], { result: true, errors: [] }],
    [['--expression', '1', '--expression', '2'], { result: 2, errors: [] }],
    [['--expression', '1', '--'], { result: 1, errors: [] }],
    [['--expression', '--help'], { result: 0, errors: [{ kind: 'missingAttribute' }] }],
    [['--expression', '-h'], { result: 0, errors: [{ kind: 'missingAttribute' }] }],
    [['--expression', '--'], { result: false, errors: [{ kind: 'parse' }] }],
    [['--expression='], { result: false, errors: [{ kind: 'parse' }] }],
  ])('%j => %j', (args, output) => {
    const run = runBuiltCli(['cesql', 'eval', ...args], event);
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toMatchObject(output);
  });
});

describe('cesql eval: bad usage exits 2', () => {
  it.each([
    [[], 'eventing: missing --expression EXPR'],
    [['--expression'], 'eventing: --expression needs a value'],
    [['--expression', 'true', '--event'], 'eventing: --event needs a value'],
    // `--event` is the expression here (the value of --expression is the next argument, whatever it is).
    [['--expression', '--event', 'e.json'], "eventing: unexpected argument 'e.json'"],
    [['--expression', 'true', '--evnt', 'x'], "eventing: unknown option '--evnt'"],
    [['--expression', 'true', '--evnt=x'], "eventing: unknown option '--evnt'"],
    [['--expression', 'true', '-x'], "eventing: unknown option '-x'"],
    [['--expression', 'true', 'extra'], "eventing: unexpected argument 'extra'"],
    [['--expression', 'true', '-'], "eventing: unexpected argument '-'"],
    [['--expression', 'true', '--', 'extra'], "eventing: unexpected argument 'extra'"],
    [['--help=yes'], 'eventing: --help does not take a value'],
  ])('%j: names the flag and prints the usage', (args, message) => {
    const run = runBuiltCli(['cesql', 'eval', ...args]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.startsWith(message)).toBe(true);
    expect(run.stderr).toContain('Usage: eventing cesql eval --expression EXPR [--event FILE|-]');
  });

  it('names a file that cannot be read', () => {
    const run = runBuiltCli(['cesql', 'eval', '--expression', 'true', '--event', 'no/such/event.json']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^eventing: --event no\/such\/event\.json: cannot read the file \(ENOENT/);
  });

  it.each([
    ['not JSON', '{"specversion":', /^eventing: --event -: not valid JSON \(/],
    [
      'a JSON array',
      '[]',
      /^eventing: --event -: not a valid CloudEvent: a CloudEvent in the JSON format must be a JSON object\n$/,
    ],
    [
      'no id',
      '{"specversion":"1.0","source":"/s","type":"t"}',
      /^eventing: --event -: not a valid CloudEvent: attribute "id" is required\n$/,
    ],
    [
      'an unknown specversion',
      '{"specversion":"2.0","id":"1","source":"/s","type":"t"}',
      /attribute "specversion" has unsupported value "2.0"/,
    ],
    [
      'a bad time',
      '{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"yesterday"}',
      /attribute "time" is not an RFC 3339 timestamp/,
    ],
    [
      'an upper-case extension name',
      '{"specversion":"1.0","id":"1","source":"/s","type":"t","MyExt":"x"}',
      /attribute "MyExt" has an invalid name/,
    ],
  ])('an event that is %s is refused, naming what is wrong', (_case, input, message) => {
    const run = runBuiltCli(['cesql', 'eval', '--expression', 'true', '--event', '-'], input);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
  });

  it.each([[['--help']], [['-h']], [['--expression', 'true', '--help']]])(
    '%j prints the usage and exits 0',
    (args) => {
      const run = runBuiltCli(['cesql', 'eval', ...args]);
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/^Usage: eventing cesql eval --expression EXPR/);
    },
  );
});

it('runs through node_modules/.bin/eventing, the program `npx eventing` starts', () => {
  const run = runNpmBin(['cesql', 'eval', '--expression', "LOWER('A') = 'a'"]);
  expect(run).toMatchObject({ status: 0, stderr: '' });
  expect(JSON.parse(run.stdout)).toEqual({ result: true, errors: [] });
});
