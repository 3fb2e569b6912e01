import { readFile } from 'node:fs/promises';
import { type CloudEvent, fromJsonFormat } from '@eventing/cloudevents';
import { UsageError } from './usage';

/** The event used when a command is given no --event. */
export const DEFAULT_EVENT_JSON = '{"specversion":"1.0","id":"1","source":"/cli","type":"cli.event"}';

/** Reads all of standard input. */
export type StdinReader = () => Promise<Buffer>;

/**
 * Reads a CloudEvent in the JSON format from `source` (a file path, or `-` for stdin), validated.
 * Throws UsageError naming the flag and, for an invalid event, the attribute at fault.
 */
export async function readEvent(flag: string, source: string, readStdin: StdinReader): Promise<CloudEvent> {
  const where = `${flag} ${source}`;
  let text: string;
  try {
    text = source === '-' ? (await readStdin()).toString('utf8') : await readFile(source, 'utf8');
  } catch (err) {
    throw new UsageError(
      `${where}: cannot read ${source === '-' ? 'standard input' : 'the file'} (${(err as Error).message})`,
    );
  }
  return parseEvent(where, text);
}

/** Parses JSON-format event text; `where` prefixes error messages. */
export function parseEvent(where: string, text: string): CloudEvent {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${where}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = fromJsonFormat(json);
  if (!parsed.ok) throw new UsageError(`${where}: not a valid CloudEvent: ${parsed.reason}`);
  return parsed.event;
}
