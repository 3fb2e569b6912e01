/** Bad command-line input: printed on stderr with `usage` (when given), exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}

export const MAIN_USAGE = `Usage: eventing <command> [options]

Commands:
  cesql eval    evaluate a CESQL expression against a CloudEvent
  filter test   tell whether a Trigger's filter lets a CloudEvent through, and why

Run 'eventing <command> --help' for the options of a command.`;

export const CESQL_USAGE = `Usage: eventing cesql <subcommand> [options]

Subcommands:
  eval    evaluate a CESQL expression against a CloudEvent

Run 'eventing cesql eval --help' for its options.`;

export const FILTER_USAGE = `Usage: eventing filter <subcommand> [options]

Subcommands:
  test    tell whether a Trigger's filter lets a CloudEvent through, and why

Run 'eventing filter test --help' for its options.`;

export const CESQL_EVAL_USAGE = `Usage: eventing cesql eval --expression EXPR [--event FILE|-]

Evaluates a CESQL v1 expression against a CloudEvent and prints one JSON object:
  {"result": <boolean|integer|string>, "errors": [{"kind": "...", "message": "..."}]}
Error kinds: parse, math, cast, missingAttribute, missingFunction, functionEvaluation.
An expression that raised errors still has a result (the zero value of the failing operation's
type: false, 0 or ""); one that does not parse has the result false. Exit code 0 either way.

Options:
  --expression EXPR   the CESQL expression (required); the next argument is taken whole,
                      so it may start with a dash: --expression -1, or --expression=-1
  --event FILE|-      the event in the CloudEvents JSON format; '-' reads standard input
                      (default: {"specversion":"1.0","id":"1","source":"/cli","type":"cli.event"})
  -h, --help          show this help

Exit codes: 0 evaluated, 2 bad usage, unreadable file or invalid event.`;

export const FILTER_TEST_USAGE = `Usage: eventing filter test --trigger FILE --event FILE|- [--json]

Reads the first Trigger in a YAML file, defaults and validates it, and tells whether its
spec.filter / spec.filters let the event through, with the reason for each decision.

Options:
  --trigger FILE      YAML holding the Trigger (other documents in the file are skipped)
  --event FILE|-      the event in the CloudEvents JSON format; '-' reads standard input
  --json              print {"match": true|false, "reasons": [...]} instead of text
  -h, --help          show this help

Exit codes: 0 match or no match, 2 bad usage, unreadable file, invalid event or invalid Trigger.`;
