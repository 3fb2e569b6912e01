import { compileTriggerFilter } from '@eventing/filters';
import { readOptions } from './argv';
import { type StdinReader, readEvent } from './event-input';
import { readTrigger } from './trigger-input';
import { FILTER_TEST_USAGE, UsageError } from './usage';

/** `eventing filter test`: returns the text to print on stdout. */
export async function filterTest(argv: string[], readStdin: StdinReader): Promise<string> {
  const values = readOptions(
    argv,
    {
      trigger: { type: 'string' },
      event: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    FILTER_TEST_USAGE,
  );
  if (values.help) return FILTER_TEST_USAGE + '\n';
  if (values.trigger === undefined) throw new UsageError('missing --trigger FILE', FILTER_TEST_USAGE);
  if (values.event === undefined) throw new UsageError('missing --event FILE', FILTER_TEST_USAGE);

  const trigger = await readTrigger('--trigger', values.trigger);
  const event = await readEvent('--event', values.event, readStdin);
  const spec = trigger.spec;
  const compiled = compileTriggerFilter(spec.filter, spec.filters);
  const { matched, reasons } = compiled.explain(event);
  if (values.json) return JSON.stringify({ match: matched, reasons }) + '\n';
  return [`match: ${matched ? 'yes' : 'no'}`, ...reasons.map((r) => `  - ${r}`)].join('\n') + '\n';
}
