import { isDeepStrictEqual } from 'node:util';
import { KubeApiError, type KubeClient } from '../client/kube-client';
import { collectionPath, ConfigMapKind, objectPath } from '../client/kinds';
import { CONFIGMAP_MAX_BYTES, type ConfigMapData, splitIntoConfigMaps, type SplitOptions } from './split';

/** One ConfigMap to write: its whole data, and labels/annotations to set on it. */
export interface ConfigMapSpec {
  name: string;
  data: ConfigMapData;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Options of a ConfigMapWriter. */
export interface ConfigMapWriterOptions {
  namespace: string;
  /** Labels set on every ConfigMap written. */
  labels?: Record<string, string>;
  /** Owner references set on every ConfigMap created (so they go with their owner). */
  ownerReferences?: object[];
  /** Attempts per ConfigMap when writes conflict. Default 5. */
  maxAttempts?: number;
}

interface StoredConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  data?: ConfigMapData;
  [field: string]: unknown;
}

/** The label each part of a split document carries: the name of the document. */
export const SPLIT_OF_LABEL = 'eventing.knative.dev/split-of';

/**
 * Writes ConfigMaps of one namespace: creates each, or replaces its data with the resourceVersion it
 * read (a conflict reads again and retries). A ConfigMap this writer last wrote with the same content
 * is not written again.
 */
export class ConfigMapWriter {
  private readonly last = new Map<string, StoredConfigMap>();
  /** How many parts each split document had when last written. */
  private readonly partsOf = new Map<string, number>();
  private readonly maxAttempts: number;

  constructor(
    private readonly client: KubeClient,
    private readonly options: ConfigMapWriterOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  /** Writes every ConfigMap (one after the other); rejects on the first that could not be written. */
  async write(configMaps: readonly ConfigMapSpec[]): Promise<void> {
    for (const cm of configMaps) await this.writeOne(cm);
  }

  /**
   * Writes a document split into as few ConfigMaps as fit (`splitIntoConfigMaps`), then deletes the
   * parts of an earlier, longer version. Resolves to the names written, first part first.
   */
  async writeSplit(
    name: string,
    document: string,
    options: SplitOptions & { maxBytes?: number; labels?: Record<string, string> } = {},
  ): Promise<string[]> {
    const parts = splitIntoConfigMaps(
      name,
      document,
      options.maxBytes ?? CONFIGMAP_MAX_BYTES - 4096,
      options,
    );
    const labels = { ...options.labels, [SPLIT_OF_LABEL]: name };
    // Later parts first: a reader that sees the new first part finds the rest already there.
    for (const part of [...parts].reverse()) await this.writeOne({ ...part, labels });
    const before = this.partsOf.get(name) ?? (await this.countParts(name));
    for (let i = parts.length; i < before; i++) {
      const partName = `${name}-${i}`;
      const path = objectPath(ConfigMapKind, this.options.namespace, partName);
      const response = await this.client.request('DELETE', path, { purpose: 'write' });
      if (response.status !== 200 && response.status !== 202 && response.status !== 404)
        throw KubeApiError.of('DELETE', path, response);
      this.last.delete(partName);
    }
    this.partsOf.set(name, parts.length);
    return parts.map((p) => p.name);
  }

  private async writeOne(spec: ConfigMapSpec): Promise<void> {
    const { namespace } = this.options;
    const path = objectPath(ConfigMapKind, namespace, spec.name);
    const labels = { ...this.options.labels, ...spec.labels };
    let current = this.last.get(spec.name);
    if (current !== undefined && this.upToDate(current, spec, labels)) return;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (current === undefined) {
        const read = await this.client.request('GET', path, { purpose: 'get' });
        if (read.status === 404) {
          const created = await this.client.request('POST', collectionPath(ConfigMapKind, namespace), {
            purpose: 'write',
            body: {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: {
                name: spec.name,
                namespace,
                labels,
                ...(spec.annotations ? { annotations: spec.annotations } : {}),
                ...(this.options.ownerReferences ? { ownerReferences: this.options.ownerReferences } : {}),
              },
              data: spec.data,
            },
          });
          if (created.status === 201 || created.status === 200) {
            this.last.set(spec.name, created.body as StoredConfigMap);
            return;
          }
          if (created.status === 409) continue; // made meanwhile: read it
          throw KubeApiError.of('POST', collectionPath(ConfigMapKind, namespace), created);
        }
        if (read.status !== 200) throw KubeApiError.of('GET', path, read);
        current = read.body as StoredConfigMap;
        if (this.upToDate(current, spec, labels)) {
          this.last.set(spec.name, current);
          return;
        }
      }
      const next: StoredConfigMap = {
        ...current,
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          ...current.metadata,
          labels: { ...current.metadata.labels, ...labels },
          annotations: spec.annotations
            ? { ...current.metadata.annotations, ...spec.annotations }
            : current.metadata.annotations,
        },
        data: spec.data,
      };
      const updated = await this.client.request('PUT', path, { purpose: 'write', body: next });
      if (updated.status === 200) {
        this.last.set(spec.name, updated.body as StoredConfigMap);
        return;
      }
      if (updated.status !== 409 && updated.status !== 404) throw KubeApiError.of('PUT', path, updated);
      // Changed or deleted since it was read: read it again.
      current = undefined;
      this.last.delete(spec.name);
    }
    throw new Error(
      `ConfigMap ${namespace}/${spec.name}: still conflicting after ${this.maxAttempts} attempts; another writer keeps changing it`,
    );
  }

  private upToDate(current: StoredConfigMap, spec: ConfigMapSpec, labels: Record<string, string>): boolean {
    if (!isDeepStrictEqual(current.data ?? {}, spec.data)) return false;
    const l = current.metadata.labels ?? {};
    for (const [k, v] of Object.entries(labels)) if (l[k] !== v) return false;
    const a = current.metadata.annotations ?? {};
    for (const [k, v] of Object.entries(spec.annotations ?? {})) if (a[k] !== v) return false;
    return true;
  }

  /** The number of parts of a split document found in the namespace (for a writer that just started). */
  private async countParts(name: string): Promise<number> {
    const path = collectionPath(ConfigMapKind, this.options.namespace);
    const response = await this.client.request('GET', path, {
      purpose: 'list',
      query: { labelSelector: `${SPLIT_OF_LABEL}=${name}` },
    });
    if (response.status !== 200) throw KubeApiError.of('GET', path, response);
    let count = 0;
    for (const item of (response.body as { items?: StoredConfigMap[] }).items ?? []) {
      const m = /^(\d+)\//.exec(item.data?.['part'] ?? '');
      if (m) count = Math.max(count, Number(m[1]) + 1);
    }
    return count;
  }
}
