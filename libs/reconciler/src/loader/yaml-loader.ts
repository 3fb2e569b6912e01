import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments, type Document as YamlDocument } from 'yaml';
import {
  admitResource,
  MAX_YAML_DEPTH,
  yamlNestingDepth,
  BROKER_DEFAULTS_CONFIGMAP,
  CHANNEL_DEFAULTS_CONFIGMAP,
  defaultFeatureFlags,
  kindFor,
  parseBrokerDefaultsConfigMap,
  parseChannelDefaultsConfigMap,
  type BrokerDefaults,
  type ChannelDefaults,
  type DefaultsContext,
  type FeatureFlags,
  type Resource,
  type ValidationContext,
} from '@eventing/api';
import { resourceKey } from '../store/store';

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
  /** Flags from a ConfigMap named `config-features`. */
  features: Partial<FeatureFlags>;
  /** Every ConfigMap's string data, by `<namespace>/<name>` (broker configs, store connections). */
  configMaps: Map<string, Record<string, string>>;
  /** From `config-br-defaults` (broker class, config and delivery defaults), when given. */
  brokerDefaults?: BrokerDefaults;
  /** From `default-ch-webhook` (the channel template of Channels), when given. */
  channelDefaults?: ChannelDefaults;
}

/** Name of the ConfigMap whose data maps Service names to URLs in standalone mode. */
export const ADDRESS_BOOK_CONFIGMAP = 'address-book';
/** Name of the ConfigMap holding feature flags, as upstream's. */
export const FEATURES_CONFIGMAP = 'config-features';

/** Files larger than this are not read: the API server refuses objects above about 1.5 MiB. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;
/** Every `.yaml`/`.yml` file under a folder, sorted, recursively; `onError` hears of unreadable folders. */
export function listYamlFiles(dir: string, onError?: (folder: string, err: Error) => void): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch (err) {
      onError?.(d, err as Error);
      return;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(entry.name)) out.push(full);
    }
  };
  walk(dir);
  return out;
}

/** Feature flags read from a `config-features` ConfigMap: `enabled`/`allowed` on, `disabled` off. */
export function parseFeatureFlags(data: Record<string, unknown>): {
  features: Partial<FeatureFlags>;
  problems: { path: string; message: string }[];
} {
  const features: Partial<FeatureFlags> = {};
  const problems: { path: string; message: string }[] = [];
  for (const flag of Object.keys(defaultFeatureFlags) as (keyof FeatureFlags)[]) {
    const value = data[flag];
    if (value === undefined) continue;
    if (value === 'enabled' || value === 'allowed') features[flag] = true;
    else if (value === 'disabled') features[flag] = false;
    else
      problems.push({
        path: `data.${flag}`,
        message: `'${String(value)}' must be enabled, allowed or disabled`,
      });
  }
  return { features, problems };
}

interface Document {
  value: Partial<Resource> & { data?: Record<string, unknown> };
  file: string;
}

/**
 * Loads, defaults and validates every resource document under `dir`. ConfigMaps that configure the
 * process (`address-book`, `config-features`, `config-br-defaults`, `default-ch-webhook`) are read
 * first so that defaulting and validation see them.
 * Invalid documents are reported with file, kind, name and field path, and left out.
 */
export function loadResourceDir(
  dir: string,
  ctx: { defaults?: DefaultsContext; validation?: ValidationContext } = {},
): LoadResult {
  const result: LoadResult = {
    resources: [],
    addresses: new Map(),
    problems: [],
    files: [],
    features: {},
    configMaps: new Map(),
  };
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    result.problems.push({
      file: dir,
      message: 'not a folder: pass --config <folder holding resource YAML>',
    });
    return result;
  }
  const documents: Document[] = [];
  const unreadable = (folder: string, err: Error) =>
    result.problems.push({
      file: relative(process.cwd(), folder) || folder,
      message: `cannot read: ${err.message}`,
    });
  for (const path of listYamlFiles(dir, unreadable)) {
    const file = relative(process.cwd(), path) || path;
    result.files.push(file);
    const text = readText(path, file, result);
    if (text === undefined) continue;
    const depth = yamlNestingDepth(text);
    if (depth > MAX_YAML_DEPTH) {
      result.problems.push({
        file,
        message: `YAML nested ${depth} levels deep, more than ${MAX_YAML_DEPTH}: file not read`,
      });
      continue;
    }
    // Warnings (such as stringified collection keys) would go to process.emitWarning: not ours to print.
    const docs = parseAllDocuments(text, { logLevel: 'error' });
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, index) => {
      const where = list.length > 1 ? `${file}#${index + 1}` : file;
      const value = documentValue(doc, where, result);
      if (value === null || value === undefined) return;
      if (typeof value !== 'object' || Array.isArray(value)) {
        result.problems.push({
          file: where,
          message: 'a resource must be a YAML mapping with apiVersion, kind and metadata',
        });
        return;
      }
      const raw = value as Document['value'];
      if (typeof raw.apiVersion !== 'string' || typeof raw.kind !== 'string') {
        const kind = typeof raw.kind === 'string' ? labelOf(raw) : {};
        result.problems.push({
          file: where,
          ...kind,
          path: typeof raw.apiVersion !== 'string' ? 'apiVersion' : 'kind',
          message: 'required: a string',
        });
        return;
      }
      documents.push({ value: raw, file: where });
    });
  }
  const resources: Document[] = [];
  for (const doc of documents) {
    if (doc.value.apiVersion === 'v1' && doc.value.kind === 'ConfigMap') loadConfigMap(doc, result);
    else resources.push(doc);
  }
  const features = { ...ctx.validation?.features, ...result.features };
  const validation: ValidationContext = { ...ctx.validation, features };
  if (result.brokerDefaults) validation.brokerDefaults = result.brokerDefaults;
  const defaults: DefaultsContext = { ...ctx.defaults, features };
  if (result.brokerDefaults) defaults.brokerDefaults = result.brokerDefaults;
  if (result.channelDefaults) defaults.channelDefaults = result.channelDefaults;
  const seen = new Map<string, string>();
  for (const doc of resources) loadResource(doc, result, seen, { defaults, validation });
  return result;
}

function readText(path: string, file: string, result: LoadResult): string | undefined {
  try {
    const size = statSync(path).size;
    if (size > MAX_FILE_BYTES) {
      result.problems.push({ file, message: `${size} bytes, more than ${MAX_FILE_BYTES}: file not read` });
      return undefined;
    }
    return readFileSync(path, 'utf8');
  } catch (err) {
    result.problems.push({ file, message: `cannot read: ${(err as Error).message}` });
    return undefined;
  }
}

/** The JavaScript value of a parsed document, or undefined after reporting why it has none. */
function documentValue(doc: YamlDocument.Parsed, where: string, result: LoadResult): unknown {
  if (doc.errors.length > 0) {
    result.problems.push({ file: where, message: `YAML error: ${doc.errors[0]!.message}` });
    return undefined;
  }
  try {
    return doc.toJS();
  } catch (err) {
    // e.g. too many aliases (a "billion laughs" document).
    result.problems.push({ file: where, message: `YAML error: ${(err as Error).message}` });
    return undefined;
  }
}

function labelOf(raw: Document['value']): { kind: string; name?: string } {
  const meta: unknown = raw.metadata;
  const name = isPlainObject(meta) && typeof meta['name'] === 'string' ? meta['name'] : undefined;
  const namespace =
    isPlainObject(meta) && typeof meta['namespace'] === 'string' ? meta['namespace'] : 'default';
  return { kind: raw.kind as string, ...(name !== undefined ? { name: `${namespace}/${name}` } : {}) };
}

function loadConfigMap({ value: raw, file }: Document, result: LoadResult): void {
  const namespace = typeof raw.metadata?.namespace === 'string' ? raw.metadata.namespace : 'default';
  const label = labelOf(raw);
  const given: unknown = raw.data ?? {};
  if (!isPlainObject(given)) {
    result.problems.push({ file, ...label, path: 'data', message: 'expected a map of strings' });
    return;
  }
  const data = given;
  if (typeof raw.metadata?.name === 'string') {
    const strings: Record<string, string> = {};
    for (const [key, value] of Object.entries(data)) if (typeof value === 'string') strings[key] = value;
    result.configMaps.set(`${namespace}/${raw.metadata.name}`, strings);
  }
  if (raw.metadata?.name === ADDRESS_BOOK_CONFIGMAP) {
    for (const [key, url] of Object.entries(data)) {
      if (typeof url !== 'string' || !isAddress(url)) {
        result.problems.push({
          file,
          ...label,
          path: `data.${key}`,
          message: `'${String(url)}' is neither an absolute http(s) URL nor builtin:<sink>`,
        });
        continue;
      }
      result.addresses.set(`${namespace}/${key}`, url);
    }
  } else if (raw.metadata?.name === FEATURES_CONFIGMAP) {
    const parsed = parseFeatureFlags(data);
    Object.assign(result.features, parsed.features);
    for (const p of parsed.problems) result.problems.push({ file, ...label, ...p });
  } else if (
    raw.metadata?.name === BROKER_DEFAULTS_CONFIGMAP ||
    raw.metadata?.name === CHANNEL_DEFAULTS_CONFIGMAP
  ) {
    const text = Object.fromEntries(
      Object.entries(data).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    const parsed =
      raw.metadata.name === BROKER_DEFAULTS_CONFIGMAP
        ? parseBrokerDefaultsConfigMap(text)
        : parseChannelDefaultsConfigMap(text);
    for (const e of parsed.errors) result.problems.push({ file, ...label, path: e.path, message: e.message });
    if (parsed.errors.length === 0) {
      if (raw.metadata.name === BROKER_DEFAULTS_CONFIGMAP)
        result.brokerDefaults = parsed.defaults as BrokerDefaults;
      else result.channelDefaults = parsed.defaults as ChannelDefaults;
    }
  }
}

function loadResource(
  { value: raw, file }: Document,
  result: LoadResult,
  seen: Map<string, string>,
  ctx: { defaults?: DefaultsContext; validation?: ValidationContext },
): void {
  const label = labelOf(raw);
  const definition = kindFor(raw.apiVersion as string, raw.kind as string);
  if (definition === undefined) {
    result.problems.push({
      file,
      ...label,
      message: `unsupported kind ${raw.kind} (${raw.apiVersion}): skipped`,
    });
    return;
  }
  // As kubectl does, a resource without a namespace lands in `default`; metadata of the wrong
  // type is left for admission to report.
  const given: unknown = raw.metadata ?? {};
  const metadata = isPlainObject(given) ? { ...given, namespace: given['namespace'] ?? 'default' } : given;
  let admitted;
  try {
    admitted = admitResource(definition, { ...raw, metadata }, ctx);
  } catch (err) {
    // A bug, not bad input: report it against the document rather than stop the process.
    result.problems.push({ file, ...label, message: `internal error while admitting: ${String(err)}` });
    return;
  }
  if (!admitted.ok) {
    for (const e of admitted.errors)
      result.problems.push({ file, ...label, path: e.path, message: e.message });
    return;
  }
  const resource = admitted.resource;
  const key = resourceKey(resource);
  const first = seen.get(key);
  if (first !== undefined) {
    result.problems.push({
      file,
      ...label,
      message: `duplicate of the ${raw.kind} already defined in ${first}: skipped`,
    });
    return;
  }
  seen.set(key, file);
  result.resources.push(resource);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
