import type { Destination, Resource } from '@eventing/api';
import type { OwnerContext } from '../controller/owner';
import { groupOf } from '../store/store';

/** A source's sink once resolved: its URL and what a sender must know to reach it. */
export interface ResolvedSink {
  uri: string;
  CACerts?: string;
  audience?: string;
}

/**
 * Resolves a source's `spec.sink` (CONFORMANCE 1.2): the URL from the resolver, the CA certificates
 * and audience from the destination itself or else from the address of the object it names.
 */
export function resolveSink(
  sink: Destination | undefined,
  namespace: string,
  ctx: OwnerContext,
): { ok: true; sink: ResolvedSink } | { ok: false; reason: string } {
  const resolved = ctx.resolver.resolve(sink, namespace);
  if (!resolved.ok) return resolved;
  const out: ResolvedSink = { uri: resolved.uri };
  let address: { CACerts?: string; audience?: string } | undefined;
  const ref = sink?.ref;
  if (ref !== undefined) {
    const target: Resource | undefined = ctx.store.get(
      groupOf(ref.apiVersion ?? ''),
      ref.kind,
      ref.namespace ?? namespace,
      ref.name,
    );
    address = (target?.status as { address?: { CACerts?: string; audience?: string } } | undefined)?.address;
  }
  const caCerts = sink?.CACerts ?? address?.CACerts;
  if (caCerts) out.CACerts = caCerts;
  const audience = sink?.audience ?? address?.audience;
  if (audience) out.audience = audience;
  return { ok: true, sink: out };
}
