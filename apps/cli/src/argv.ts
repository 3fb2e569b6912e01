import { UsageError } from './usage';

/** One option of a subcommand: a flag, or an option that takes a value. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** One-letter alias, as `h` for `-h`. */
  short?: string;
}

/** What was given: the value of each option that takes one, `true` for each flag; absent otherwise. */
export type OptionValues<S extends Record<string, OptionSpec>> = {
  [K in keyof S]?: S[K]['type'] extends 'string' ? string : true;
};

/**
 * Reads a subcommand's options as getopt_long does: an option that takes a value takes the next
 * argument whatever it starts with (`--expression -1`, `--expression --x`, `--event -`), or the
 * text after `=` (`--expression=--x`); `--` ends the options. Names match exactly, the last of a
 * repeated option wins, and no other argument is accepted. Throws UsageError, carrying `usage`,
 * that names the argument at fault.
 */
export function readOptions<S extends Record<string, OptionSpec>>(
  argv: readonly string[],
  spec: S,
  usage: string,
): OptionValues<S> {
  function fail(message: string): never {
    throw new UsageError(message, usage);
  }
  const shortNames = new Map<string, string>();
  for (const [name, option] of Object.entries(spec))
    if (option.short !== undefined) shortNames.set(`-${option.short}`, name);

  const values: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      if (i + 1 < argv.length) fail(`unexpected argument '${argv[i + 1]}'`);
      break;
    }
    const long = arg.startsWith('--');
    if (!long && (arg === '-' || !arg.startsWith('-'))) fail(`unexpected argument '${arg}'`);
    const eq = long ? arg.indexOf('=') : -1;
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const name = long ? flag.slice(2) : shortNames.get(arg);
    const option = name !== undefined && Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (name === undefined || option === undefined) fail(`unknown option '${flag}'`);
    if (option.type === 'boolean') {
      if (eq >= 0) fail(`${flag} does not take a value`);
      values[name] = true;
    } else if (eq >= 0) {
      values[name] = arg.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) fail(`${flag} needs a value`);
      values[name] = argv[++i] as string;
    }
  }
  return values as OptionValues<S>;
}
