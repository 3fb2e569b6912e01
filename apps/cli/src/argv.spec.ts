import { readOptions } from './argv';
import { UsageError } from './usage';

const SPEC = {
  expression: { type: 'string' },
  event: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const read = (argv: string[]) => readOptions(argv, SPEC, 'USAGE');

describe('readOptions: getopt_long rules for every subcommand', () => {
  it.each([
    [[], {}],
    [['--expression', '--10'], { expression: '--10' }],
    [['--expression', '-1'], { expression: '-1' }],
    [['--expression=--x'], { expression: '--x' }],
    [['--expression=a=b'], { expression: 'a=b' }],
    [['--expression='], { expression: '' }],
    [['--expression', ''], { expression: '' }],
    [['--event', '-'], { event: '-' }],
    [['--event', '--json'], { event: '--json' }],
    [['--expression', '--'], { expression: '--' }],
    [['--expression', '-h', '--json'], { expression: '-h', json: true }],
    [['--json', '-h'], { json: true, help: true }],
    [['--expression', 'a', '--expression', 'b'], { expression: 'b' }],
    [['--json', '--'], { json: true }],
  ])('%j → %j', (argv, values) => {
    expect(read(argv)).toEqual(values);
  });

  it.each([
    [['--expression'], '--expression needs a value'],
    [['--json', '--event'], '--event needs a value'],
    [['--evnt', 'x'], "unknown option '--evnt'"],
    [['--evnt=x'], "unknown option '--evnt'"],
    [['--expr', 'x'], "unknown option '--expr'"],
    [['--constructor', 'x'], "unknown option '--constructor'"],
    [['-x'], "unknown option '-x'"],
    [['-hj'], "unknown option '-hj'"],
    [['--json=true'], '--json does not take a value'],
    [['extra'], "unexpected argument 'extra'"],
    [['-'], "unexpected argument '-'"],
    [['--', '--json'], "unexpected argument '--json'"],
  ])('%j is refused: %s', (argv, message) => {
    let error: unknown;
    try {
      read(argv);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ message, usage: 'USAGE' });
  });
});
