import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { CONTRACT_VERSION, type Contract } from './contract';

/** Raised when a contract document cannot be used. */
export class ContractError extends Error {
  constructor(
    public readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ContractError';
  }
}

/** Checks the shape of a parsed contract document; throws ContractError naming the field. */
export function checkContract(doc: unknown, source = 'contract'): Contract {
  if (typeof doc !== 'object' || doc === null) throw new ContractError(source, 'not a JSON object');
  const c = doc as Partial<Contract>;
  if (c.version !== CONTRACT_VERSION)
    throw new ContractError(`${source}.version`, `expected ${CONTRACT_VERSION}, got ${String(c.version)}`);
  if (typeof c.generation !== 'number') throw new ContractError(`${source}.generation`, 'must be a number');
  if (!Array.isArray(c.brokers)) throw new ContractError(`${source}.brokers`, 'must be an array');
  if (!Array.isArray(c.triggers)) throw new ContractError(`${source}.triggers`, 'must be an array');
  c.brokers.forEach((b, i) => {
    for (const f of ['uid', 'namespace', 'name'] as const)
      if (typeof b[f] !== 'string' || b[f] === '')
        throw new ContractError(`${source}.brokers[${i}].${f}`, 'must be a non-empty string');
  });
  c.triggers.forEach((t, i) => {
    for (const f of ['uid', 'namespace', 'name', 'broker', 'subscriberUri'] as const)
      if (typeof t[f] !== 'string' || t[f] === '')
        throw new ContractError(`${source}.triggers[${i}].${f}`, 'must be a non-empty string');
    if (typeof t.policy !== 'object' || t.policy === null || typeof t.policy.retry !== 'number')
      throw new ContractError(
        `${source}.triggers[${i}].policy`,
        'must hold retry, backoffPolicy and backoffDelayMs',
      );
  });
  return c as Contract;
}

/** Reads a JSON document file; what cannot be read or parsed is a ContractError naming the file. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ContractError(path, `cannot read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ContractError(path, `not valid JSON: ${(err as Error).message}`);
  }
  return doc;
}

/** Reads and checks a contract file. */
export function readContractFile(path: string): Contract {
  return checkContract(readJsonFile(path), path);
}

/**
 * Calls `onChange` with each new valid contract written at `path` (a mounted ConfigMap file is
 * replaced through a symlink swap, so the folder is watched). Invalid documents go to `onError`
 * and the last good contract stays in force.
 */
export function watchContractFile(
  path: string,
  onChange: (contract: Contract) => void,
  onError: (err: Error) => void,
): { close(): void } {
  return watchDocumentFile(path, readContractFile, onChange, onError);
}

/**
 * Calls `onChange` with each document of a new generation that `read` makes of the file at `path`
 * (at once, then on every change of the file, as a mounted ConfigMap is swapped in). What `read`
 * refuses goes to `onError`, and the last good document stays in force.
 */
export function watchDocumentFile<T extends { generation: number }>(
  path: string,
  read: (path: string) => T,
  onChange: (doc: T) => void,
  onError: (err: Error) => void,
): { close(): void } {
  let last = -1;
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    timer = undefined;
    try {
      const doc = read(path);
      if (doc.generation !== last) {
        last = doc.generation;
        onChange(doc);
      }
    } catch (err) {
      onError(err as Error);
    }
  };
  reload();
  const name = basename(path);
  const watcher: FSWatcher = watch(dirname(path), (_event, file) => {
    if (file !== null && file !== name && !file.startsWith('..')) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, 50);
  });
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
