import {
  ContainerSourceConditionSet,
  setDefaultsSinkBinding,
  type Condition,
  type ContainerSource,
  type ContainerSourceStatus,
  type Resource,
  type SinkBinding,
  type SinkBindingStatus,
} from '@eventing/api';
import { childName, ownerReference } from '../broker/cluster';
import type { OwnerContext } from '../controller/owner';
import { bindPodSpec, deploymentAvailability, type PodSpecLike } from './pod-template';
import { resolveSink } from './sink';

/** Labels of a ContainerSource's Deployment and pods (upstream's). */
export const CONTAINER_SOURCE_LABEL = 'sources.knative.dev/source';
export const CONTAINER_SOURCE_LABEL_VALUE = 'container-source-controller';
export const CONTAINER_SOURCE_NAME_LABEL = 'sources.knative.dev/containerSource';

/** Kinds of a ContainerSource's children: its Deployment and its SinkBinding. */
export const CONTAINER_SOURCE_CHILD_KINDS: readonly { group: string; kind: string }[] = [
  { group: 'apps', kind: 'Deployment' },
  { group: 'sources.knative.dev', kind: 'SinkBinding' },
];

/** Names of a ContainerSource's children, as upstream's: `<name>-deployment`, `<name>-sinkbinding`. */
export function containerSourceChildNames(name: string): { deployment: string; sinkBinding: string } {
  return { deployment: childName(name, '-deployment'), sinkBinding: childName(name, '-sinkbinding') };
}

/**
 * Reconciles a ContainerSource (CONFORMANCE 4.3): a Deployment from its template whose containers
 * carry K_SINK and K_CE_OVERRIDES (K_CA_CERTS for a sink with CA certificates), and a SinkBinding
 * naming that Deployment, as upstream creates. SinkBindingReady and the sink fields mirror the
 * SinkBinding's status; ReceiveAdapterReady follows the Deployment's availability.
 */
export function reconcileContainerSource(
  source: ContainerSource,
  ctx: OwnerContext,
): { status: ContainerSourceStatus; children: Resource[] | undefined } {
  const set = ContainerSourceConditionSet;
  const namespace = source.metadata.namespace ?? 'default';
  const name = source.metadata.name ?? '';
  const names = containerSourceChildNames(name);
  let conds = set.initialize(source.status?.conditions ?? []);
  const status: ContainerSourceStatus = { observedGeneration: source.metadata.generation ?? 1 };

  const resolved = resolveSink(source.spec.sink, namespace, ctx);
  if (!resolved.ok) {
    conds = set.markFalse(conds, 'SinkBindingReady', 'NotFound', resolved.reason);
    conds = set.markUnknown(conds, 'ReceiveAdapterReady', 'SinkNotResolved', 'waiting for the sink');
    status.conditions = conds;
    // Children stay as they are until the sink resolves again.
    return { status, children: undefined };
  }

  const binding = sinkBindingChild(source, names);
  const storedBinding = ctx.store.get('sources.knative.dev', 'SinkBinding', namespace, names.sinkBinding) as
    SinkBinding | undefined;
  const bindingStatus = storedBinding?.status as SinkBindingStatus | undefined;
  // The sink as the SinkBinding reports it (upstream copies its source status).
  if (bindingStatus?.sinkUri !== undefined) status.sinkUri = bindingStatus.sinkUri;
  if (bindingStatus?.sinkCACerts !== undefined) status.sinkCACerts = bindingStatus.sinkCACerts;
  if (bindingStatus?.sinkAudience !== undefined) status.sinkAudience = bindingStatus.sinkAudience;
  if (bindingStatus?.auth !== undefined) status.auth = bindingStatus.auth;
  const ready = bindingStatus?.conditions?.find((c: Condition) => c.type === 'Ready');
  if (ready === undefined)
    conds = set.markUnknown(
      conds,
      'SinkBindingReady',
      'SinkBindingPending',
      `SinkBinding ${names.sinkBinding} has no status yet`,
    );
  else if (ready.status === 'True') conds = set.markTrue(conds, 'SinkBindingReady');
  else if (ready.status === 'False')
    conds = set.markFalse(conds, 'SinkBindingReady', ready.reason ?? '', ready.message ?? '');
  else conds = set.markUnknown(conds, 'SinkBindingReady', ready.reason ?? '', ready.message ?? '');

  const deployment = deploymentChild(source, names.deployment, resolved.sink);
  const availability = deploymentAvailability(
    ctx.store.get('apps', 'Deployment', namespace, names.deployment),
    names.deployment,
  );
  if (availability.status === 'True') conds = set.markTrue(conds, 'ReceiveAdapterReady');
  else if (availability.status === 'False')
    conds = set.markFalse(conds, 'ReceiveAdapterReady', availability.reason, availability.message);
  else conds = set.markUnknown(conds, 'ReceiveAdapterReady', availability.reason, availability.message);
  status.conditions = conds;
  return { status, children: [deployment, binding] };
}

function sinkBindingChild(
  source: ContainerSource,
  names: { deployment: string; sinkBinding: string },
): Resource {
  const namespace = source.metadata.namespace ?? 'default';
  const binding: SinkBinding = {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'SinkBinding',
    metadata: { name: names.sinkBinding, namespace, ownerReferences: [ownerReference(source)] },
    spec: {
      sink: source.spec.sink,
      ...(source.spec.ceOverrides !== undefined ? { ceOverrides: source.spec.ceOverrides } : {}),
      subject: { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: names.deployment },
    },
  };
  // Stored as the webhook would store it, so an unchanged child compares equal.
  return setDefaultsSinkBinding(binding) as Resource;
}

function deploymentChild(
  source: ContainerSource,
  name: string,
  sink: { uri: string; CACerts?: string },
): Resource {
  const template = source.spec.template;
  const labels: Record<string, string> = {
    ...template.metadata?.labels,
    [CONTAINER_SOURCE_LABEL]: CONTAINER_SOURCE_LABEL_VALUE,
    [CONTAINER_SOURCE_NAME_LABEL]: source.metadata.name ?? '',
  };
  const podSpec = bindPodSpec((template.spec ?? {}) as PodSpecLike, {
    sinkUri: sink.uri,
    ...(source.spec.ceOverrides !== undefined ? { ceOverrides: source.spec.ceOverrides } : {}),
    ...(sink.CACerts !== undefined ? { caCerts: sink.CACerts } : {}),
  });
  const annotations = template.metadata?.annotations;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: source.metadata.namespace ?? 'default',
      labels,
      ...(annotations !== undefined ? { annotations } : {}),
      ownerReferences: [ownerReference(source)],
    },
    spec: {
      selector: { matchLabels: labels },
      template: { ...template, metadata: { ...template.metadata, labels }, spec: podSpec },
    },
  };
}
