import { cesqlEval } from './cesql-eval';
import type { StdinReader } from './event-input';
import { filterTest } from './filter-test';
import { InvalidTriggerError } from './trigger-input';
import {
  CESQL_EVAL_USAGE,
  CESQL_USAGE,
  FILTER_TEST_USAGE,
  FILTER_USAGE,
  MAIN_USAGE,
  UsageError,
} from './usage';

/** Where the CLI reads and writes; main.ts passes the process's streams. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readStdin: StdinReader;
}

/** A subcommand returns what to print on stdout, or throws UsageError / InvalidTriggerError. */
interface Subcommand {
  usage: string;
  run(argv: string[], io: CliIo): Promise<string>;
}

const COMMANDS: Record<string, { usage: string; subcommands: Record<string, Subcommand> }> = {
  filter: {
    usage: FILTER_USAGE,
    subcommands: {
      test: { usage: FILTER_TEST_USAGE, run: (argv, io) => filterTest(argv, io.readStdin) },
    },
  },
  cesql: {
    usage: CESQL_USAGE,
    subcommands: {
      eval: { usage: CESQL_EVAL_USAGE, run: (argv, io) => cesqlEval(argv, io.readStdin) },
    },
  },
};

const isHelp = (arg: string | undefined): boolean => arg === '--help' || arg === '-h' || arg === 'help';

/** Runs one command line; returns the exit code (0 done, 2 bad usage or bad input, 1 a bug). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [group, sub, ...rest] = argv;
  try {
    if (isHelp(group)) {
      io.stdout(MAIN_USAGE + '\n');
      return 0;
    }
    if (group === undefined) throw new UsageError('missing command', MAIN_USAGE);
    const command = COMMANDS[group];
    if (command === undefined) throw new UsageError(`unknown command '${group}'`, MAIN_USAGE);
    if (isHelp(sub)) {
      io.stdout(command.usage + '\n');
      return 0;
    }
    if (sub === undefined) throw new UsageError(`missing subcommand of '${group}'`, command.usage);
    const subcommand = command.subcommands[sub];
    if (subcommand === undefined) throw new UsageError(`unknown subcommand '${group} ${sub}'`, command.usage);
    io.stdout(await subcommand.run(rest, io));
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`eventing: ${err.message}\n${err.usage === undefined ? '' : `\n${err.usage}\n`}`);
      return 2;
    }
    if (err instanceof InvalidTriggerError) {
      io.stderr(`eventing: ${err.message}\n`);
      return 2;
    }
    io.stderr(
      `eventing: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
}
