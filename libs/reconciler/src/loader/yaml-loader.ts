import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { kindFor, type DefaultsContext, type Resource, type ValidationContext } from '@eventing/api';
import { resourceKey } from '../store/memory-store';

/** Something wrong with one document; the document is skipped, the rest still runs. */
export interface LoadProblem {
  file: string;
  kind?: string;
  name?: string;
  /** Field path inside the resource, when validation named one. */
  path?: string;
  message: string;
}

export interface LoadResult {
  resources: Resource[];
  /** `<namespace>/<name>` → URL (or `builtin:<sink>`), from ConfigMaps named `address-book`. */
  addresses: Map<string, string>;
  problems: LoadProblem[];
  files: string[];
}

/** Name of the ConfigMap whose data maps Service names to URLs in standalone mode. */
export const ADDRESS_BOOK_CONFIGMAP = 'address-book';

/** Every `.yaml`/`.yml` file under a folder, sorted, recursively. */
export function listYamlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(entry.name)) out.push(full);
    }
  };
  walk(dir);
  return out;
}

/**
 * Loads, defaults and validates every resource document under `dir`. Invalid documents are reported
 * with file, kind, name and field path, and left out.
 */
export function loadResourceDir(dir: string, ctx: { defaults?: DefaultsContext; validation?: ValidationContext } = {}): LoadResult {
  const result: LoadResult = { resources: [], addresses: new Map(), problems: [], files: [] };
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    result.problems.push({ file: dir, message: 'not a folder: pass --config <folder holding resource YAML>' });
    return result;
  }
  const seen = new Map<string, string>();
  for (const path of listYamlFiles(dir)) {
    const file = relative(process.cwd(), path) || path;
    result.files.push(file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      result.problems.push({ file, message: `cannot read: ${(err as Error).message}` });
      continue;
    }
    const docs = parseAllDocuments(text);
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, index) => {
      const where = list.length > 1 ? `${file}#${index + 1}` : file;
      if (doc.errors.length > 0) {
        result.problems.push({ file: where, message: `YAML error: ${doc.errors[0]!.message}` });
        return;
      }
      const value = doc.toJS() as unknown;
      if (value === null || value === undefined) return;
      loadDocument(value, where, result, seen, ctx);
    });
  }
  return result;
}

function loadDocument(
  value: unknown,
  file: string,
  result: LoadResult,
  seen: Map<string, string>,
  ctx: { defaults?: DefaultsContext; validation?: ValidationContext },
): void {
  if (typeof value !== 'object' || Array.isArray(value)) {
    result.problems.push({ file, message: 'a resource must be a YAML mapping with apiVersion, kind and metadata' });
    return;
  }
  const raw = value as Partial<Resource> & { data?: Record<string, unknown> };
  if (typeof raw.apiVersion !== 'string' || typeof raw.kind !== 'string') {
    result.problems.push({ file, path: raw.apiVersion === undefined ? 'apiVersion' : 'kind', message: 'required' });
    return;
  }
  const metadata = { ...(raw.metadata ?? {}) };
  metadata.namespace ??= 'default';
  const name = typeof metadata.name === 'string' ? metadata.name : undefined;
  const label = { kind: raw.kind, ...(name !== undefined ? { name: `${metadata.namespace}/${name}` } : {}) };

  if (raw.apiVersion === 'v1' && raw.kind === 'ConfigMap') {
    if (name === ADDRESS_BOOK_CONFIGMAP) {
      for (const [key, url] of Object.entries(raw.data ?? {})) {
        if (typeof url !== 'string' || !isAddress(url)) {
          result.problems.push({ file, ...label, path: `data.${key}`, message: `'${String(url)}' is neither an absolute http(s) URL nor builtin:<sink>` });
          continue;
        }
        result.addresses.set(`${metadata.namespace}/${key}`, url);
      }
    }
    return;
  }
  const definition = kindFor(raw.apiVersion, raw.kind);
  if (definition === undefined) {
    result.problems.push({ file, ...label, message: `unsupported kind ${raw.kind} (${raw.apiVersion}): skipped` });
    return;
  }
  const resource = definition.setDefaults({ ...raw, metadata }, ctx.defaults) as Resource;
  const errors = definition.validate(resource, ctx.validation);
  if (errors.length > 0) {
    for (const e of errors) result.problems.push({ file, ...label, path: e.path, message: e.message });
    return;
  }
  const key = resourceKey(resource);
  const first = seen.get(key);
  if (first !== undefined) {
    result.problems.push({ file, ...label, message: `duplicate of the ${raw.kind} already defined in ${first}: skipped` });
    return;
  }
  seen.set(key, file);
  result.resources.push(resource);
}

function isAddress(value: string): boolean {
  if (/^builtin:[a-z][a-z0-9-]*$/.test(value)) return true;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
