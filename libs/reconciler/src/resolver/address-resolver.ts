import type { Destination } from '@eventing/api';
import { groupOf, type ResourceStore } from '../store/store';

export type Resolution = { ok: true; uri: string } | { ok: false; reason: string };

/**
 * Known addresses for objects that have no Addressable status here: core Services and Knative
 * Services in standalone mode. Keys are `<namespace>/<name>`.
 */
export interface AddressBook {
  lookup(namespace: string, name: string): string | undefined;
}

/**
 * Addresses of Services in a cluster: a Service (or a Knative Service, which fronts one of the same
 * name) that exists in the store answers at its cluster DNS name. Reads through `reads`, so a
 * controller re-reconciles what referenced a Service when it appears.
 */
export function clusterServiceAddressBook(
  reads: Pick<ResourceStore, 'get'>,
  clusterDomain = 'cluster.local',
): AddressBook {
  return {
    lookup: (namespace, name) =>
      reads.get('', 'Service', namespace, name)
        ? `http://${name}.${namespace}.svc.${clusterDomain}`
        : undefined,
  };
}

const SERVICE_KINDS = new Set(['/Service', 'serving.knative.dev/Service']);

/**
 * Resolves a Destination to a URI (CONFORMANCE 1.2 "Destination resolution"): a plain `uri`; a
 * `ref` to an Addressable (its `status.address.url`); a `ref` to a Service through the address
 * book; `ref` + relative `uri` joined.
 */
export class AddressResolver {
  constructor(
    private readonly store: ResourceStore,
    private readonly addressBook: AddressBook,
  ) {}

  resolve(destination: Destination | undefined, parentNamespace: string): Resolution {
    if (destination === undefined) return { ok: false, reason: 'no destination given' };
    const { ref, uri } = destination;
    if (ref === undefined) {
      if (uri === undefined || uri === '')
        return { ok: false, reason: 'destination has neither ref nor uri' };
      return { ok: true, uri };
    }
    const namespace = ref.namespace ?? parentNamespace;
    const base = this.resolveRef(ref.apiVersion ?? '', ref.kind, namespace, ref.name);
    if (!base.ok || uri === undefined || uri === '') return base;
    try {
      return { ok: true, uri: new URL(uri, base.uri).toString() };
    } catch {
      return { ok: false, reason: `cannot join uri '${uri}' to ${base.uri}` };
    }
  }

  private resolveRef(apiVersion: string, kind: string, namespace: string, name: string): Resolution {
    const group = groupOf(apiVersion);
    const described = `${kind} ${namespace}/${name} (${apiVersion})`;
    if (SERVICE_KINDS.has(`${group}/${kind}`)) {
      const url = this.addressBook.lookup(namespace, name);
      if (url !== undefined) return { ok: true, uri: url };
      return {
        ok: false,
        reason: `${described} has no known address: add '${name}' to the address book (ConfigMap 'address-book' in namespace ${namespace}, or --service ${name}.${namespace}=<url>)`,
      };
    }
    const target = this.store.get(group, kind, namespace, name);
    if (target === undefined) return { ok: false, reason: `${described} not found` };
    const status = target.status as { address?: { url?: string } } | undefined;
    const url = status?.address?.url;
    if (url === undefined || url === '')
      return { ok: false, reason: `${described} is not addressable yet (no status.address.url)` };
    return { ok: true, uri: url };
  }
}
