import { BINDING_EXCLUDE_LABEL } from '@eventing/api';
import { KubeApiError, type KubeClient } from '@eventing/kube';
import type { Logger } from '@eventing/runtime';
import { jsonEqual } from '../admission/json-patch';
import type { WebhookTarget } from '../kube/registration';
import { SINK_BINDING_PATH } from './admission';
import type { SubjectKind } from './binding-index';

/** Name of the MutatingWebhookConfiguration (and of its one webhook) for SinkBinding subjects, as upstream's. */
export const SINK_BINDING_WEBHOOK_NAME = 'sinkbindings.webhook.sources.knative.dev';

const PATH = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations`;
const EXCLUDED = { matchExpressions: [{ key: BINDING_EXCLUDE_LABEL, operator: 'NotIn', values: ['true'] }] };

/**
 * The webhook as upstream's binding webhook programs it: one rule per kind some SinkBinding names
 * (so workloads no binding could select never wait on it; none at all without bindings), objects and
 * namespaces labelled `bindings.knative.dev/exclude=true` left out, called again when other webhooks
 * change the object.
 */
export function sinkBindingWebhook(
  kinds: readonly SubjectKind[],
  target: WebhookTarget,
  caBundle: string,
): Record<string, unknown> {
  const ca = Buffer.from(caBundle).toString('base64');
  const clientConfig =
    'url' in target
      ? { url: target.url.replace(/\/+$/, '') + SINK_BINDING_PATH, caBundle: ca }
      : {
          service: { ...target.service, port: target.service.port ?? 443, path: SINK_BINDING_PATH },
          caBundle: ca,
        };
  const byGroupResource = new Map<string, { group: string; plural: string; versions: Set<string> }>();
  for (const k of kinds) {
    const key = `${k.group}/${k.plural}`;
    const entry = byGroupResource.get(key) ?? {
      group: k.group,
      plural: k.plural,
      versions: new Set<string>(),
    };
    entry.versions.add(k.version);
    byGroupResource.set(key, entry);
  }
  const rules = [...byGroupResource.values()].map((e) => ({
    apiGroups: [e.group],
    apiVersions: [...e.versions].sort(),
    resources: [e.plural],
    operations: ['CREATE', 'UPDATE'],
    scope: 'Namespaced',
  }));
  return {
    name: SINK_BINDING_WEBHOOK_NAME,
    admissionReviewVersions: ['v1'],
    clientConfig,
    rules,
    sideEffects: 'None',
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    timeoutSeconds: 10,
    namespaceSelector: EXCLUDED,
    objectSelector: EXCLUDED,
    reinvocationPolicy: 'IfNeeded',
  };
}

interface Configuration {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string> };
  webhooks?: Record<string, unknown>[];
}

/**
 * Brings the SinkBinding MutatingWebhookConfiguration up to date (rules, CA bundle, path; the Service
 * it points at is kept unless `create`, which also creates it when absent). Writes carry the
 * resourceVersion read; a conflict is read and decided again.
 */
export async function applySinkBindingConfiguration(
  client: KubeClient,
  options: {
    kinds: readonly SubjectKind[];
    target: WebhookTarget;
    caBundle: string;
    create: boolean;
    log: Logger;
  },
): Promise<void> {
  const wanted = sinkBindingWebhook(options.kinds, options.target, options.caBundle);
  const path = `${PATH}/${SINK_BINDING_WEBHOOK_NAME}`;
  for (let attempt = 1; attempt <= 5; attempt++) {
    const read = await client.request('GET', path, { purpose: 'get' });
    if (read.status === 404) {
      if (!options.create) {
        options.log.warn(
          { name: SINK_BINDING_WEBHOOK_NAME },
          'SinkBinding webhook configuration not installed: install the chart, or run with --register',
        );
        return;
      }
      const body: Configuration = {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: {
          name: SINK_BINDING_WEBHOOK_NAME,
          labels: { 'app.kubernetes.io/name': 'knative-eventing', 'app.kubernetes.io/component': 'webhook' },
        },
        webhooks: [wanted],
      };
      const created = await client.request('POST', PATH, { purpose: 'write', body });
      if (created.status === 409) continue;
      if (created.status !== 201 && created.status !== 200) throw KubeApiError.of('POST', PATH, created);
      options.log.info({ name: SINK_BINDING_WEBHOOK_NAME }, 'webhook configuration created');
      return;
    }
    if (read.status !== 200) throw KubeApiError.of('GET', path, read);
    const current = read.body as Configuration;
    const webhooks = structuredClone(current.webhooks ?? []);
    const i = webhooks.findIndex((w) => w['name'] === SINK_BINDING_WEBHOOK_NAME);
    const next = { ...(i >= 0 ? webhooks[i] : {}), ...wanted };
    if (i >= 0 && !options.create) {
      // Installed by the chart: keep the Service it names, take our path and CA bundle.
      const installed = (webhooks[i]?.['clientConfig'] ?? {}) as { service?: Record<string, unknown> };
      if (installed.service !== undefined)
        next['clientConfig'] = {
          service: { ...installed.service, path: SINK_BINDING_PATH },
          caBundle: (wanted['clientConfig'] as { caBundle: string }).caBundle,
        };
    }
    if (i >= 0 && jsonEqual(JSON.parse(JSON.stringify(webhooks[i])), JSON.parse(JSON.stringify(next))))
      return;
    if (i >= 0) webhooks[i] = next;
    else webhooks.push(next);
    const updated = await client.request('PUT', path, { purpose: 'write', body: { ...current, webhooks } });
    if (updated.status === 409) continue;
    if (updated.status !== 200) throw KubeApiError.of('PUT', path, updated);
    options.log.info(
      { name: SINK_BINDING_WEBHOOK_NAME, rules: options.kinds.length },
      'webhook configuration updated',
    );
    return;
  }
}
