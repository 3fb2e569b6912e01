import {
  APISERVER_REF_ADD,
  APISERVER_REF_DELETE,
  APISERVER_REF_UPDATE,
  APISERVER_RESOURCE_ADD,
  APISERVER_RESOURCE_DELETE,
  APISERVER_RESOURCE_UPDATE,
  guessResource,
  type ApiServerAdapterConfig,
} from '@eventing/api';
import type { CloudEvent } from '@eventing/cloudevents';
import { sourceEvent } from '@eventing/source-runtime';

/** What happened to a watched object. */
export type ObjectChangeType = 'add' | 'update' | 'delete';

/** A Kubernetes object as the API server returns it; only metadata and the type are read. */
export interface KubeObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    ownerReferences?: readonly { apiVersion?: string; kind?: string; controller?: boolean }[];
    labels?: Record<string, string>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

const TYPES: Record<ApiServerAdapterConfig['mode'], Record<ObjectChangeType, string>> = {
  Reference: { add: APISERVER_REF_ADD, update: APISERVER_REF_UPDATE, delete: APISERVER_REF_DELETE },
  Resource: {
    add: APISERVER_RESOURCE_ADD,
    update: APISERVER_RESOURCE_UPDATE,
    delete: APISERVER_RESOURCE_DELETE,
  },
};

/** The event type of a change in a mode (CONFORMANCE 4.2). */
export function apiServerEventType(change: ObjectChangeType, mode: ApiServerAdapterConfig['mode']): string {
  return TYPES[mode][change];
}

/**
 * The `subject` of an object's events, as upstream builds a self link: `/apis/<apiVersion>/namespaces/
 * <namespace>/<plural>/<name>` — `/apis/v1/...` for the core group too, and a group without a version
 * (`example.com`) gets `/versionUnknown`. The plural is guessed from the kind.
 */
export function apiServerSubject(apiVersion: string, kind: string, namespace: string, name: string): string {
  const version =
    apiVersion.includes('.') && !apiVersion.includes('/') ? `${apiVersion}/versionUnknown` : apiVersion;
  return `/apis/${version}/namespaces/${namespace}/${guessResource(kind)}/${name}`;
}

/** The object with its map keys sorted at every depth, as Go writes the unstructured object. */
function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = (value as Record<string, unknown>)[k];
  return out;
}

/**
 * The data of a Reference-mode event: the object's ObjectReference (`kind`, `namespace`, `name`,
 * `apiVersion`, empty ones left out), in the order upstream's JSON has them.
 */
function referenceData(apiVersion: string, kind: string, namespace: string, name: string): Buffer {
  const ref: Record<string, string> = {};
  if (kind) ref['kind'] = kind;
  if (namespace) ref['namespace'] = namespace;
  if (name) ref['name'] = name;
  if (apiVersion) ref['apiVersion'] = apiVersion;
  return Buffer.from(JSON.stringify(ref));
}

/**
 * The CloudEvent for one change of one object (CONFORMANCE 4.2): upstream's type for the change
 * and mode, `source` = the API server's URL, the self-link `subject`, the extensions `kind`,
 * `apiversion`, `name` and `namespace` of the object, and JSON data — its reference or, in
 * Resource mode, the whole object. `id` is a new UUID and `time` now.
 */
export function apiServerEvent(
  change: ObjectChangeType,
  object: KubeObjectLike,
  mode: ApiServerAdapterConfig['mode'],
  source: string,
): CloudEvent {
  const apiVersion = object.apiVersion ?? '';
  const kind = object.kind ?? '';
  const name = object.metadata?.name ?? '';
  const namespace = object.metadata?.namespace ?? '';
  return sourceEvent({
    type: apiServerEventType(change, mode),
    source,
    subject: apiServerSubject(apiVersion, kind, namespace, name),
    datacontenttype: 'application/json',
    extensions: { kind, apiversion: apiVersion, name, namespace },
    data:
      mode === 'Resource'
        ? Buffer.from(JSON.stringify(object, sortedKeys))
        : referenceData(apiVersion, kind, namespace, name),
  });
}

/**
 * Whether the owner filter lets an object through: it must have a controller owner reference, of
 * the owner's apiVersion and kind where those are given. Without a filter everything passes.
 */
export function passesOwnerFilter(object: KubeObjectLike, owner: ApiServerAdapterConfig['owner']): boolean {
  if (owner === undefined) return true;
  const controller = object.metadata?.ownerReferences?.find((o) => o.controller === true);
  if (controller === undefined) return false;
  if (owner.apiVersion !== '' && owner.apiVersion !== controller.apiVersion) return false;
  if (owner.kind !== '' && owner.kind !== controller.kind) return false;
  return true;
}
