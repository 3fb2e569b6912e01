import {
  APISERVER_EVENT_TYPES,
  APISERVER_REFERENCE_MODE,
  APISERVER_SKIP_PERMISSIONS_ANNOTATION,
  ApiServerSourceConditionSet,
  guessResource,
  isEmptyLabelSelector,
  labelSelectorString,
  matchesLabelSelector,
  splitApiVersion,
  type ApiServerAdapterConfig,
  type ApiServerSource,
  type ApiServerSourceStatus,
  type EnvVar,
  type Resource,
} from '@eventing/api';
import { childName, ownerReference } from '../broker/cluster';
import type { OwnerContext } from '../controller/owner';
import { deploymentAvailability } from './pod-template';
import type { SourceSettings } from './settings';
import { EVENTTYPE_CHILD_KIND, sourceEventTypes } from '../eventtype/source-eventtypes';
import { resolveSink, type ResolvedSink } from './sink';

/** Labels of an ApiServerSource's adapter Deployment and its pods (upstream's). */
export const APISERVER_ADAPTER_LABEL = 'eventing.knative.dev/source';
export const APISERVER_ADAPTER_LABEL_VALUE = 'apiserver-source-controller';
export const APISERVER_SOURCE_NAME_LABEL = 'eventing.knative.dev/sourceName';

/** Kinds of an ApiServerSource's children: its adapter Deployment and its EventTypes. */
export const APISERVER_CHILD_KINDS: readonly { group: string; kind: string }[] = [
  { group: 'apps', kind: 'Deployment' },
  EVENTTYPE_CHILD_KIND,
];

/** The adapter Deployment's name, as upstream's: `apiserversource-<name>-<uid>` (shortened past 63). */
export function apiServerAdapterName(source: { metadata: { name?: string; uid?: string } }): string {
  return childName(`apiserversource-${source.metadata.name ?? ''}-`, source.metadata.uid ?? '');
}

const OIDC_DISABLED = 'authentication-oidc feature disabled';

/**
 * Reconciles an ApiServerSource (CONFORMANCE 4.2): resolves the sink and the namespaces to watch,
 * and wants one adapter Deployment running as the source's ServiceAccount, configured through
 * K_SOURCE_CONFIG. Deployed follows that Deployment's availability; ceAttributes list the mode's
 * event types from the API server's URL.
 */
export function reconcileApiServerSource(
  source: ApiServerSource,
  ctx: OwnerContext,
  settings: SourceSettings,
): { status: ApiServerSourceStatus; children: Resource[] | undefined } {
  const set = ApiServerSourceConditionSet;
  const namespace = source.metadata.namespace ?? 'default';
  const spec = source.spec;
  const mode = spec.mode ?? APISERVER_REFERENCE_MODE;
  let conds = set.initialize(source.status?.conditions ?? []);
  const status: ApiServerSourceStatus = { observedGeneration: source.metadata.generation ?? 1 };
  conds = set.markTrue(conds, 'OIDCIdentityCreated', OIDC_DISABLED);

  const resolved = resolveSink(spec.sink, namespace, ctx);
  if (!resolved.ok) {
    conds = set.markFalse(conds, 'SinkProvided', 'NotFound', resolved.reason);
    conds = set.markUnknown(conds, 'Deployed', 'SinkNotResolved', 'waiting for the sink');
    status.conditions = conds;
    // The adapter stays as it was (upstream returns before touching it): no children to apply or prune.
    return { status, children: undefined };
  }
  const sink = resolved.sink;
  status.sinkUri = sink.uri;
  if (sink.CACerts) status.sinkCACerts = sink.CACerts;
  if (sink.audience) status.sinkAudience = sink.audience;
  conds = set.markTrue(conds, 'SinkProvided');

  const allNamespaces = isEmptyLabelSelector(spec.namespaceSelector);
  const namespaces = namespacesToWatch(source, ctx);
  status.namespaces = namespaces;

  // Upstream asks the API server (SubjectAccessReview) whether the ServiceAccount may get, list and
  // watch; that check is not made here: an adapter refused by the API server is not Available.
  conds =
    source.metadata.annotations?.[APISERVER_SKIP_PERMISSIONS_ANNOTATION] === 'true'
      ? set.markTrue(conds, 'SufficientPermissions')
      : set.markTrue(
          conds,
          'SufficientPermissions',
          'NotChecked',
          'the adapter reports what it may not watch',
        );

  const deployment = adapterDeployment(source, sink, namespaces, allNamespaces, settings);
  const name = deployment.metadata.name ?? '';
  const stored = ctx.store.get('apps', 'Deployment', namespace, name);
  const availability = deploymentAvailability(stored, name);
  if (availability.status === 'True') conds = set.markTrue(conds, 'Deployed');
  else if (availability.status === 'False')
    conds = set.markFalse(conds, 'Deployed', availability.reason, availability.message);
  else conds = set.markUnknown(conds, 'Deployed', availability.reason, availability.message);

  status.ceAttributes = [...APISERVER_EVENT_TYPES[mode]].map((type) =>
    settings.apiServerUrl !== undefined ? { type, source: settings.apiServerUrl } : { type },
  );
  status.conditions = conds;
  return { status, children: [deployment, ...sourceEventTypes(source, status.ceAttributes)] };
}

/** The namespaces an ApiServerSource watches, sorted: its own without a selector, else those selected. */
function namespacesToWatch(source: ApiServerSource, ctx: OwnerContext): string[] {
  const selector = source.spec.namespaceSelector;
  if (selector === undefined) return [source.metadata.namespace ?? 'default'];
  return ctx.store
    .list('Namespace', '')
    .filter((ns) => matchesLabelSelector(selector, ns.metadata.labels))
    .map((ns) => ns.metadata.name ?? '')
    .sort();
}

/** What the adapter is told to watch and how to report it (K_SOURCE_CONFIG). */
export function adapterConfig(
  source: ApiServerSource,
  namespaces: string[],
  allNamespaces: boolean,
): ApiServerAdapterConfig {
  const spec = source.spec;
  const config: ApiServerAdapterConfig = {
    namespaces,
    allNamespaces,
    resources: spec.resources.map((r) => {
      const { group, version } = splitApiVersion(r.apiVersion);
      const watch: ApiServerAdapterConfig['resources'][number] = {
        gvr: { Group: group, Version: version, Resource: guessResource(r.kind) },
        kind: r.kind,
      };
      if (r.selector !== undefined) watch.selector = labelSelectorString(r.selector);
      return watch;
    }),
    mode: spec.mode ?? APISERVER_REFERENCE_MODE,
  };
  if (spec.owner !== undefined) config.owner = { apiVersion: spec.owner.apiVersion, kind: spec.owner.kind };
  if (spec.filters !== undefined && spec.filters.length > 0) config.filters = spec.filters;
  if (source.metadata.annotations?.[APISERVER_SKIP_PERMISSIONS_ANNOTATION] === 'true') config.failFast = true;
  return config;
}

function adapterDeployment(
  source: ApiServerSource,
  sink: ResolvedSink,
  namespaces: string[],
  allNamespaces: boolean,
  settings: SourceSettings,
): Resource {
  const name = source.metadata.name ?? '';
  const namespace = source.metadata.namespace ?? 'default';
  const labels = {
    [APISERVER_ADAPTER_LABEL]: APISERVER_ADAPTER_LABEL_VALUE,
    [APISERVER_SOURCE_NAME_LABEL]: name,
  };
  const env: EnvVar[] = [
    { name: 'K_SINK', value: sink.uri },
    { name: 'K_SOURCE_CONFIG', value: JSON.stringify(adapterConfig(source, namespaces, allNamespaces)) },
    { name: 'SYSTEM_NAMESPACE', value: settings.systemNamespace },
    { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'NAME', value: name },
    { name: 'K_COMPONENT', value: 'apiserversource' },
  ];
  if (sink.CACerts) env.push({ name: 'K_CA_CERTS', value: sink.CACerts });
  if (sink.audience) env.push({ name: 'K_AUDIENCE', value: sink.audience });
  if (source.spec.ceOverrides !== undefined)
    env.push({ name: 'K_CE_OVERRIDES', value: JSON.stringify(source.spec.ceOverrides) });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: apiServerAdapterName(source),
      namespace,
      labels,
      ownerReferences: [ownerReference(source)],
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: source.spec.serviceAccountName ?? 'default',
          enableServiceLinks: false,
          containers: [
            {
              name: 'receive-adapter',
              image: settings.apiServerSourceImage,
              command: settings.apiServerSourceCommand,
              env,
              // One port: /healthz, /readyz and /metrics (the adapter's PORT, 8080 by default).
              ports: [{ name: 'metrics', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/readyz', port: 8080 } },
              livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
            },
          ],
        },
      },
    },
  };
}
