import { allKinds } from '@eventing/api';

/** One resource kind as the API server serves it. */
export interface KubeKind {
  /** `''` for the core group. */
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

/** A kind to cache, optionally narrowed to one namespace and/or by selectors. */
export interface WatchedKind extends KubeKind {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** The Knative kinds this project defines, at their storage version. */
export const knativeKinds: readonly KubeKind[] = allKinds.map((k) => ({
  group: k.group,
  version: k.versions[0] ?? 'v1',
  kind: k.kind,
  plural: k.plural,
  namespaced: true,
}));

/** A core Service: a Destination's `ref` may name one. */
export const ServiceKind: KubeKind = {
  group: '',
  version: 'v1',
  kind: 'Service',
  plural: 'services',
  namespaced: true,
};
/** A ConfigMap: the controller's settings (`config-br-defaults`...) and the data-plane contract. */
export const ConfigMapKind: KubeKind = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
};
/** A Namespace. */
export const NamespaceKind: KubeKind = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  namespaced: false,
};
/** An apps/v1 Deployment: what ContainerSources and ApiServerSources run (read for their status). */
export const DeploymentKind: KubeKind = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  namespaced: true,
};
/** The coordination Lease leader election holds. */
export const LeaseKind: KubeKind = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  namespaced: true,
};

/**
 * What the controller watches: every Knative kind, Services, the ConfigMaps of its own namespace,
 * the Deployments sources run, and Namespaces (an ApiServerSource's namespace selector).
 */
export function controllerKinds(options: {
  /** Where the controller's ConfigMaps live (upstream: `knative-eventing`). */
  systemNamespace: string;
  /** Watch ConfigMaps of every namespace (a Broker's `spec.config` may name one anywhere). Default false. */
  configMapsEverywhere?: boolean;
  /** Narrows the ConfigMaps watched, e.g. `app.kubernetes.io/part-of=knative-eventing`. */
  configMapLabelSelector?: string;
}): WatchedKind[] {
  const configMaps: WatchedKind = { ...ConfigMapKind };
  if (!options.configMapsEverywhere) configMaps.namespace = options.systemNamespace;
  if (options.configMapLabelSelector) configMaps.labelSelector = options.configMapLabelSelector;
  return [...knativeKinds, ServiceKind, configMaps, DeploymentKind, NamespaceKind];
}

/** The path of a kind's collection: every namespace when `namespace` is undefined. */
export function collectionPath(kind: KubeKind, namespace?: string): string {
  const base = kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  const ns = kind.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${kind.plural}`;
}

/** The path of one object, or of one of its subresources. */
export function objectPath(kind: KubeKind, namespace: string, name: string, subresource?: string): string {
  const path = `${collectionPath(kind, kind.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
  return subresource ? `${path}/${subresource}` : path;
}

/** The apiVersion of a kind (`v1`, `eventing.knative.dev/v1`). */
export function apiVersionOf(kind: KubeKind): string {
  return kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
}
