import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { FieldError, type Trigger, kindFor } from '@eventing/api';
import { UsageError } from './usage';

const TRIGGER_API_VERSION = 'eventing.knative.dev/v1';

/** A Trigger that failed validation: its name and every field-path error. */
export class InvalidTriggerError extends Error {
  constructor(
    readonly where: string,
    readonly errors: FieldError[],
  ) {
    super(`${where} is invalid:\n${errors.map((e) => `  ${e.toString()}`).join('\n')}`);
  }
}

/**
 * Reads the first Trigger document of a YAML file, applies the Trigger defaults and validates it.
 * Throws UsageError for an unreadable file, bad YAML or no Trigger, InvalidTriggerError for a
 * Trigger that does not validate.
 */
export async function readTrigger(flag: string, file: string): Promise<Trigger> {
  const where = `${flag} ${file}`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${where}: cannot read the file (${(err as Error).message})`);
  }
  const object = firstTrigger(where, text);
  const name = nameOf(object);
  const named = `${where}: Trigger ${name === '' ? '(without metadata.name)' : JSON.stringify(name)}`;

  const apiVersion = object['apiVersion'];
  const kind = typeof apiVersion === 'string' ? kindFor(apiVersion, 'Trigger') : undefined;
  if (kind === undefined) {
    throw new InvalidTriggerError(named, [
      new FieldError(
        'apiVersion',
        `${JSON.stringify(apiVersion ?? null)} does not serve kind Trigger (expected "${TRIGGER_API_VERSION}")`,
      ),
    ]);
  }
  // Defaulting assumes the shape is right; when it is not, validation reports what is wrong with it.
  let defaulted: unknown = object;
  try {
    defaulted = kind.setDefaults(object);
  } catch {
    defaulted = object;
  }
  const errors = kind.validate(defaulted);
  if (errors.length > 0) throw new InvalidTriggerError(named, errors);
  return defaulted as Trigger;
}

function firstTrigger(where: string, text: string): Record<string, unknown> {
  let documents;
  try {
    documents = parseAllDocuments(text);
  } catch (err) {
    throw new UsageError(`${where}: not valid YAML (${(err as Error).message})`);
  }
  if (!Array.isArray(documents)) documents = [documents];
  for (const document of documents) {
    // A broken document before the Trigger could have been the Trigger: report it.
    const problem = document.errors[0];
    if (problem !== undefined)
      throw new UsageError(`${where}: not valid YAML (${problem.message.split('\n')[0]})`);
    const value: unknown = document.toJS();
    if (
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      (value as Record<string, unknown>)['kind'] === 'Trigger'
    ) {
      return value as Record<string, unknown>;
    }
  }
  throw new UsageError(`${where}: no document of kind Trigger in the file`);
}

function nameOf(object: Record<string, unknown>): string {
  const metadata = object['metadata'];
  if (typeof metadata !== 'object' || metadata === null) return '';
  const { name, namespace } = metadata as Record<string, unknown>;
  const n = typeof name === 'string' ? name : '';
  return typeof namespace === 'string' && namespace !== '' ? `${namespace}/${n}` : n;
}
