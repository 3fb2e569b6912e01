import { KubeApiError, LeaseKind, collectionPath, objectPath, type KubeClient } from '@eventing/kube';
import type { TickLedger } from '@eventing/sources';

/** The annotation of the ledger Lease holding the cursor (RFC 3339 with milliseconds). */
export const CLAIMED_THROUGH_ANNOTATION = 'sources.knative.dev/ping-claimed-through';

interface Lease {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec?: { holderIdentity?: string };
}

/**
 * The ping tick ledger kept in a coordination.k8s.io/v1 Lease next to the leader-election Lease (so
 * the adapter needs no other permission than on Leases): the cursor in an annotation, moved by a PUT
 * carrying the resourceVersion read, so the API server refuses (409) a writer that is behind.
 */
export class LeaseTickLedger implements TickLedger {
  private lease: Lease | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly name: string,
    /** Written as the Lease's holderIdentity, to show who claimed last. */
    private readonly identity: string,
  ) {}

  async read(signal?: AbortSignal): Promise<{ cursor: number | undefined; version: string }> {
    const path = objectPath(LeaseKind, this.namespace, this.name);
    const response = await this.client.request('GET', path, { purpose: 'get', signal });
    if (response.status === 404) {
      this.lease = undefined;
      return { cursor: undefined, version: '' };
    }
    if (response.status !== 200) throw KubeApiError.of('GET', path, response);
    this.lease = response.body as Lease;
    const text = this.lease.metadata.annotations?.[CLAIMED_THROUGH_ANNOTATION];
    const cursor = text === undefined ? NaN : Date.parse(text);
    return {
      cursor: Number.isFinite(cursor) ? cursor : undefined,
      version: this.lease.metadata.resourceVersion ?? '',
    };
  }

  async advance(
    cursor: number,
    version: string,
    signal?: AbortSignal,
  ): Promise<{ ok: true; version: string } | { ok: false }> {
    const annotations = { [CLAIMED_THROUGH_ANNOTATION]: new Date(cursor).toISOString() };
    if (version === '') {
      const path = collectionPath(LeaseKind, this.namespace);
      const body: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace: this.namespace, annotations },
        spec: { holderIdentity: this.identity },
      };
      const response = await this.client.request('POST', path, { purpose: 'write', body, signal });
      if (response.status === 409) return { ok: false };
      if (response.status !== 201 && response.status !== 200) throw KubeApiError.of('POST', path, response);
      return this.written(response.body as Lease);
    }
    const base = this.lease;
    if (base === undefined || base.metadata.resourceVersion !== version) return { ok: false };
    const path = objectPath(LeaseKind, this.namespace, this.name);
    const body: Lease = {
      ...base,
      metadata: { ...base.metadata, annotations: { ...base.metadata.annotations, ...annotations } },
      spec: { ...base.spec, holderIdentity: this.identity },
    };
    const response = await this.client.request('PUT', path, { purpose: 'write', body, signal });
    if (response.status === 409 || response.status === 404) return { ok: false };
    if (response.status !== 200) throw KubeApiError.of('PUT', path, response);
    return this.written(response.body as Lease);
  }

  private written(lease: Lease): { ok: true; version: string } {
    this.lease = lease;
    return { ok: true, version: lease.metadata.resourceVersion ?? '' };
  }
}
