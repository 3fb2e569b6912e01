import { isDeepStrictEqual } from 'node:util';
import {
  BINDING_EXCLUDE_LABEL,
  matchesLabelSelector,
  splitApiVersion,
  type SinkBinding,
} from '@eventing/api';
import { bindPodSpec, podSpecOf, unbindPodSpec, withPodSpec, type SinkEnv } from './pod-template';

/** A PodSpecable object (Deployment, Job, CronJob, Knative Service...) as a store or the API server has it. */
export interface SubjectObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    [field: string]: unknown;
  };
  spec?: unknown;
  [field: string]: unknown;
}

/** The environment a binding injects, once its sink is resolved (`status.sinkUri`); undefined before. */
export function sinkEnvOf(binding: SinkBinding): SinkEnv | undefined {
  const uri = binding.status?.sinkUri;
  if (!uri) return undefined;
  const env: SinkEnv = { sinkUri: uri };
  if (binding.spec.ceOverrides !== undefined) env.ceOverrides = binding.spec.ceOverrides;
  if (binding.status?.sinkCACerts) env.caCerts = binding.status.sinkCACerts;
  return env;
}

/**
 * Whether a binding names this object (of API group `group`): same kind and namespace, then the
 * name or the label selector; an object labelled `bindings.knative.dev/exclude=true` never.
 */
export function bindingSelects(binding: SinkBinding, group: string, object: SubjectObject): boolean {
  const subject = binding.spec.subject;
  if (splitApiVersion(subject.apiVersion).group !== group || subject.kind !== object.kind) return false;
  const namespace = object.metadata?.namespace ?? '';
  if ((subject.namespace ?? binding.metadata.namespace) !== namespace) return false;
  if (object.metadata?.labels?.[BINDING_EXCLUDE_LABEL] === 'true') return false;
  if (subject.name) return subject.name === object.metadata?.name;
  return matchesLabelSelector(subject.selector, object.metadata?.labels);
}

/**
 * What a set of bindings makes of an object (upstream's Do and Undo): each binding that selects it,
 * in the order given, sets its environment (one being deleted takes it away; one whose sink is not
 * resolved yet changes nothing). Undefined when nothing changes or the object has no pod template.
 */
export function applyBindings<O extends SubjectObject>(
  bindings: readonly SinkBinding[],
  group: string,
  object: O,
): O | undefined {
  const kind = object.kind ?? '';
  const original = podSpecOf(object, kind);
  if (original === undefined) return undefined;
  let spec = original;
  for (const b of bindings) {
    if (!bindingSelects(b, group, object)) continue;
    if (b.metadata.deletionTimestamp) spec = unbindPodSpec(spec);
    else {
      const env = sinkEnvOf(b);
      if (env !== undefined) spec = bindPodSpec(spec, env);
    }
  }
  return isDeepStrictEqual(spec, original) ? undefined : withPodSpec(object, kind, spec);
}
