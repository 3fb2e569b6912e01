import type { CloudEvent } from '@eventing/cloudevents';
import { type CesqlError, type CesqlValue, parseCesql } from '@eventing/filters';
import { readOptions } from './argv';
import { DEFAULT_EVENT_JSON, type StdinReader, parseEvent, readEvent } from './event-input';
import { CESQL_EVAL_USAGE, UsageError } from './usage';

/** The one JSON object `cesql eval` prints. */
export interface CesqlEvalOutput {
  result: CesqlValue;
  errors: Pick<CesqlError, 'kind' | 'message'>[];
}

/**
 * Evaluates `expression` against `event` in the CESQL v1 way: a value and the errors raised on the way.
 * An expression that does not parse has no return type to take the zero value of, and CESQL v1
 * (section 3.2) says to assume Boolean then: its result is `false`.
 */
export function evaluateCesql(expression: string, event: CloudEvent): CesqlEvalOutput {
  const parsed = parseCesql(expression);
  const { value, errors } = parsed.ok
    ? parsed.expression.evaluate(event)
    : { value: false, errors: parsed.errors };
  return { result: value, errors: errors.map(({ kind, message }) => ({ kind, message })) };
}

/** `eventing cesql eval`: returns the text to print on stdout. */
export async function cesqlEval(argv: string[], readStdin: StdinReader): Promise<string> {
  const values = readOptions(
    argv,
    { expression: { type: 'string' }, event: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    CESQL_EVAL_USAGE,
  );
  if (values.help) return CESQL_EVAL_USAGE + '\n';
  if (values.expression === undefined) throw new UsageError('missing --expression EXPR', CESQL_EVAL_USAGE);
  const event =
    values.event === undefined
      ? parseEvent('default event', DEFAULT_EVENT_JSON)
      : await readEvent('--event', values.event, readStdin);
  return JSON.stringify(evaluateCesql(values.expression, event)) + '\n';
}
