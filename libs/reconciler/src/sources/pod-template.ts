import {
  K_CA_CERTS,
  K_CE_OVERRIDES,
  K_SINK,
  SINK_BINDING_ENV,
  type CloudEventOverrides,
  type Condition,
  type EnvVar,
} from '@eventing/api';

/** A container as it appears in any pod template: only `env` is read or written here. */
export interface PodContainer {
  name?: string;
  env?: EnvVar[];
  [field: string]: unknown;
}

/** A pod spec: the containers and init containers whose environment a binding sets. */
export interface PodSpecLike {
  containers?: PodContainer[];
  initContainers?: PodContainer[];
  [field: string]: unknown;
}

/** Where a sink binding points: the values of K_SINK, K_CE_OVERRIDES and K_CA_CERTS. */
export interface SinkEnv {
  sinkUri: string;
  ceOverrides?: CloudEventOverrides;
  caCerts?: string;
}

/**
 * The environment a sink binding adds to a container, in upstream's order: K_SINK, K_CA_CERTS (when
 * the sink has CA certificates), K_CE_OVERRIDES (the overrides as JSON; empty when there are none,
 * written without a value as the API server stores it, so a stored object compares equal).
 */
export function sinkEnvVars(sink: SinkEnv): EnvVar[] {
  const out: EnvVar[] = [{ name: K_SINK, value: sink.sinkUri }];
  if (sink.caCerts) out.push({ name: K_CA_CERTS, value: sink.caCerts });
  // No overrides: an empty value, which Kubernetes stores as no value at all (the container sees "").
  out.push(
    sink.ceOverrides
      ? { name: K_CE_OVERRIDES, value: JSON.stringify(sink.ceOverrides) }
      : { name: K_CE_OVERRIDES },
  );
  return out;
}

const BOUND = new Set<string>(SINK_BINDING_ENV);

function withoutBinding(c: PodContainer): PodContainer {
  if (c.env === undefined || !c.env.some((e) => BOUND.has(e.name))) return c;
  return { ...c, env: c.env.filter((e) => !BOUND.has(e.name)) };
}

function withBinding(c: PodContainer, env: EnvVar[]): PodContainer {
  const kept = withoutBinding(c).env ?? [];
  return { ...c, env: [...kept, ...env] };
}

/**
 * The pod spec with the binding's environment on every container and init container: what was
 * there under those names is replaced (so applying twice changes nothing). Returns a new object.
 */
export function bindPodSpec<T extends PodSpecLike>(spec: T, sink: SinkEnv): T {
  const env = sinkEnvVars(sink);
  const out: T = { ...spec };
  if (spec.containers !== undefined) out.containers = spec.containers.map((c) => withBinding(c, env));
  if (spec.initContainers !== undefined)
    out.initContainers = spec.initContainers.map((c) => withBinding(c, env));
  return out;
}

/** The pod spec without K_SINK, K_CE_OVERRIDES and K_CA_CERTS anywhere (a binding undone). */
export function unbindPodSpec<T extends PodSpecLike>(spec: T): T {
  const out: T = { ...spec };
  if (spec.containers !== undefined) out.containers = spec.containers.map(withoutBinding);
  if (spec.initContainers !== undefined) out.initContainers = spec.initContainers.map(withoutBinding);
  return out;
}

/**
 * Where the pod template of a PodSpecable kind lives: `spec.jobTemplate.spec.template` for a
 * CronJob, `spec.template` for Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and
 * Knative Services.
 */
export function podTemplatePath(kind: string): readonly string[] {
  return kind === 'CronJob' ? ['spec', 'jobTemplate', 'spec', 'template'] : ['spec', 'template'];
}

/** The pod spec of a PodSpecable object, or undefined when it has none. */
export function podSpecOf(object: { spec?: unknown }, kind: string): PodSpecLike | undefined {
  let at: unknown = object;
  for (const key of podTemplatePath(kind)) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  if (at === null || typeof at !== 'object') return undefined;
  const spec = (at as { spec?: unknown }).spec;
  return spec !== null && typeof spec === 'object' ? (spec as PodSpecLike) : undefined;
}

/** The object with its pod spec replaced by `spec`; the rest shared with the original. */
export function withPodSpec<O extends { spec?: unknown }>(object: O, kind: string, spec: PodSpecLike): O {
  const path = [...podTemplatePath(kind), 'spec'];
  const set = (node: unknown, i: number): unknown => {
    if (i === path.length) return spec;
    const here = (node !== null && typeof node === 'object' ? node : {}) as Record<string, unknown>;
    const key = path[i] as string;
    return { ...here, [key]: set(here[key], i + 1) };
  };
  return set(object, 0) as O;
}

/** What a Deployment's `Available` condition says, as upstream's sources read it. */
export interface DeploymentAvailability {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * Reads a Deployment's availability: its `Available` condition (True only with no unavailable
 * replica), or Unknown `DeploymentUnavailable` when it has none yet.
 */
export function deploymentAvailability(
  deployment: { metadata: { name?: string }; status?: unknown } | undefined,
  name: string,
): DeploymentAvailability {
  const status = deployment?.status as { conditions?: Condition[]; unavailableReplicas?: number } | undefined;
  const available = status?.conditions?.find((c) => c.type === 'Available');
  if (available === undefined)
    return {
      status: 'Unknown',
      reason: 'DeploymentUnavailable',
      message: `The Deployment '${name}' is unavailable.`,
    };
  if (available.status === 'True' && (status?.unavailableReplicas ?? 0) > 0)
    return {
      status: 'Unknown',
      reason: 'DeploymentUpdating',
      message: `Deployment has ${status?.unavailableReplicas ?? 0} unavailable replica(s).`,
    };
  return {
    status: available.status,
    reason: available.reason ?? '',
    message: available.message ?? '',
  };
}
