import { SinkBindingConditionSet, type SinkBinding, type SinkBindingStatus } from '@eventing/api';
import type { OwnerContext } from '../controller/owner';
import { resolveSink } from './sink';

const OIDC_DISABLED = 'authentication-oidc feature disabled';

/**
 * Reconciles a SinkBinding's status (CONFORMANCE 4.4): the sink it resolves to (which the binder
 * injects as K_SINK) and the conditions that do not depend on its subjects. SinkBindingAvailable is
 * the binder's to say (the webhook process in a cluster, the process supervisor in standalone
 * mode), so the value already written is kept.
 */
export function reconcileSinkBinding(
  binding: SinkBinding,
  ctx: OwnerContext,
): { status: SinkBindingStatus; children: undefined } {
  const set = SinkBindingConditionSet;
  const namespace = binding.metadata.namespace ?? 'default';
  const previous = binding.status;
  let conds = set.initialize(previous?.conditions ?? []);
  const status: SinkBindingStatus = { observedGeneration: binding.metadata.generation ?? 1 };
  conds = set.markTrue(conds, 'OIDCIdentityCreated', OIDC_DISABLED);
  conds = set.markTrue(conds, 'OIDCTokenSecretCreated', OIDC_DISABLED);
  conds = set.markTrue(conds, 'TrustBundlePropagated');
  const resolved = resolveSink(binding.spec.sink, namespace, ctx);
  if (!resolved.ok) {
    conds = set.markFalse(
      conds,
      'SinkProvided',
      'NoAddressable',
      `Addressable could not be extracted from destination: ${resolved.reason}`,
    );
  } else {
    status.sinkUri = resolved.sink.uri;
    if (resolved.sink.CACerts) status.sinkCACerts = resolved.sink.CACerts;
    if (resolved.sink.audience) status.sinkAudience = resolved.sink.audience;
    conds = set.markTrue(conds, 'SinkProvided');
  }
  status.conditions = conds;
  return { status, children: undefined };
}
