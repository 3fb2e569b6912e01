import type { PingSchedule } from './contract';
import { ContractError, readJsonFile, watchDocumentFile } from './io';

/**
 * The PingSource adapter's share of the contract: what the controller writes to the ConfigMap
 * `eventing-contract-ping-source` (key `schedules.json`), mounted into the adapter.
 */
export interface SchedulesDocument {
  schedules: PingSchedule[];
  generation: number;
}

const STRINGS = ['namespace', 'name', 'schedule', 'sinkUri'] as const;
const OPTIONAL_STRINGS = ['uid', 'timezone', 'contentType', 'data', 'dataBase64'] as const;

/** Checks a parsed schedules document; throws ContractError naming the field. */
export function checkSchedules(doc: unknown, source = 'schedules'): SchedulesDocument {
  if (typeof doc !== 'object' || doc === null) throw new ContractError(source, 'not a JSON object');
  const d = doc as Partial<SchedulesDocument>;
  if (typeof d.generation !== 'number') throw new ContractError(`${source}.generation`, 'must be a number');
  if (!Array.isArray(d.schedules)) throw new ContractError(`${source}.schedules`, 'must be an array');
  d.schedules.forEach((s: unknown, i) => {
    const at = `${source}.schedules[${i}]`;
    if (typeof s !== 'object' || s === null) throw new ContractError(at, 'must be an object');
    const entry = s as Record<string, unknown>;
    for (const key of STRINGS)
      if (typeof entry[key] !== 'string' || entry[key] === '')
        throw new ContractError(`${at}.${key}`, 'must be a non-empty string');
    for (const key of OPTIONAL_STRINGS)
      if (entry[key] !== undefined && typeof entry[key] !== 'string')
        throw new ContractError(`${at}.${key}`, 'must be a string');
    const extensions = (entry['ceOverrides'] as { extensions?: unknown } | undefined)?.extensions;
    if (extensions !== undefined && (typeof extensions !== 'object' || extensions === null))
      throw new ContractError(`${at}.ceOverrides.extensions`, 'must be an object');
  });
  return d as SchedulesDocument;
}

/** Reads and checks a schedules file. */
export function readSchedulesFile(path: string): SchedulesDocument {
  return checkSchedules(readJsonFile(path), path);
}

/** Follows a mounted schedules file as the contract files are followed: each new generation to `onChange`. */
export function watchSchedulesFile(
  path: string,
  onChange: (doc: SchedulesDocument) => void,
  onError: (err: Error) => void,
): { close(): void } {
  return watchDocumentFile(path, readSchedulesFile, onChange, onError);
}
