import type {
  AdmissionregistrationV1WebhookClientConfig,
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
  V1RuleWithOperations,
  V1ValidatingWebhook,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import type { KindDefinition } from '@eventing/api';
import { jsonEqual } from '../admission/json-patch';

/** Names of the two webhook configurations (and of their one webhook each), as upstream's. */
export const MUTATING_WEBHOOK_NAME = 'webhook.eventing.knative.dev';
export const VALIDATING_WEBHOOK_NAME = 'validation.webhook.eventing.knative.dev';
export const DEFAULTING_PATH = '/defaulting';
export const VALIDATION_PATH = '/validation';
/** Namespaces labelled with this key are never sent to the webhook (upstream's escape hatch). */
export const EXCLUDE_LABEL = 'webhooks.knative.dev/exclude';

/** Where the API server reaches the webhook: the in-cluster Service, or a URL (a process run locally). */
export type WebhookTarget = { service: { name: string; namespace: string; port?: number } } | { url: string };

/**
 * One rule per kind, CREATE and UPDATE of every served version, sorted by group then resource:
 * derived from the kind registry, so a registered kind is always sent to the webhook.
 */
export function admissionRules(kinds: readonly KindDefinition[]): V1RuleWithOperations[] {
  return kinds
    .map((k) => ({
      apiGroups: [k.group],
      apiVersions: [...k.versions],
      resources: [k.plural],
      operations: ['CREATE', 'UPDATE'],
      scope: 'Namespaced',
    }))
    .sort((a, b) =>
      a.apiGroups[0] !== b.apiGroups[0]
        ? a.apiGroups[0]! < b.apiGroups[0]!
          ? -1
          : 1
        : a.resources[0]! < b.resources[0]!
          ? -1
          : 1,
    );
}

function clientConfig(
  target: WebhookTarget,
  path: string,
  caBundle: string,
): AdmissionregistrationV1WebhookClientConfig {
  const ca = Buffer.from(caBundle).toString('base64');
  if ('url' in target) return { url: target.url.replace(/\/+$/, '') + path, caBundle: ca };
  return {
    service: {
      name: target.service.name,
      namespace: target.service.namespace,
      path,
      port: target.service.port ?? 443,
    },
    caBundle: ca,
  };
}

function common() {
  return {
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    timeoutSeconds: 10,
    namespaceSelector: { matchExpressions: [{ key: EXCLUDE_LABEL, operator: 'DoesNotExist' }] },
  };
}

const LABELS = { 'app.kubernetes.io/name': 'knative-eventing', 'app.kubernetes.io/component': 'webhook' };

/** The mutating webhook (defaulting) as this process wants it. */
export function mutatingWebhook(
  kinds: readonly KindDefinition[],
  target: WebhookTarget,
  caBundle: string,
): V1MutatingWebhook {
  return {
    ...common(),
    name: MUTATING_WEBHOOK_NAME,
    clientConfig: clientConfig(target, DEFAULTING_PATH, caBundle),
    rules: admissionRules(kinds),
    // Defaults depend on what other webhooks set (a namespace, an annotation): run again if they change it.
    reinvocationPolicy: 'IfNeeded',
  };
}

/** The validating webhook as this process wants it. */
export function validatingWebhook(
  kinds: readonly KindDefinition[],
  target: WebhookTarget,
  caBundle: string,
): V1ValidatingWebhook {
  return {
    ...common(),
    name: VALIDATING_WEBHOOK_NAME,
    clientConfig: clientConfig(target, VALIDATION_PATH, caBundle),
    rules: admissionRules(kinds),
  };
}

/** A whole MutatingWebhookConfiguration, for `--register`. */
export function mutatingConfiguration(
  kinds: readonly KindDefinition[],
  target: WebhookTarget,
  caBundle: string,
): V1MutatingWebhookConfiguration {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: MUTATING_WEBHOOK_NAME, labels: LABELS },
    webhooks: [mutatingWebhook(kinds, target, caBundle)],
  };
}

/** A whole ValidatingWebhookConfiguration, for `--register`. */
export function validatingConfiguration(
  kinds: readonly KindDefinition[],
  target: WebhookTarget,
  caBundle: string,
): V1ValidatingWebhookConfiguration {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: VALIDATING_WEBHOOK_NAME, labels: LABELS },
    webhooks: [validatingWebhook(kinds, target, caBundle)],
  };
}

/**
 * Brings an installed configuration's webhook of our name up to date as upstream's webhook does:
 * rules, path and CA bundle are ours; the Service it points at and any selector terms of others are
 * kept. Returns the updated copy, or undefined when nothing changes.
 */
export function reconcileWebhooks<W extends V1MutatingWebhook | V1ValidatingWebhook>(
  installed: W[] | undefined,
  wanted: W,
  target: WebhookTarget | undefined,
): W[] | undefined {
  const webhooks = structuredClone(installed ?? []);
  let changed = false;
  let found = false;
  for (const [i, current] of webhooks.entries()) {
    if (current.name !== wanted.name) continue;
    found = true;
    const next = structuredClone(current);
    next.rules = wanted.rules;
    next.clientConfig = { ...next.clientConfig, caBundle: wanted.clientConfig.caBundle };
    if (target !== undefined) next.clientConfig = wanted.clientConfig;
    else if (next.clientConfig.service) next.clientConfig.service.path = wanted.clientConfig.service?.path;
    const others = (current.namespaceSelector?.matchExpressions ?? []).filter((e) => e.key !== EXCLUDE_LABEL);
    next.namespaceSelector = {
      ...current.namespaceSelector,
      matchExpressions: [...(wanted.namespaceSelector?.matchExpressions ?? []), ...others],
    };
    if ('reinvocationPolicy' in wanted)
      (next as V1MutatingWebhook).reinvocationPolicy = wanted.reinvocationPolicy;
    if (!jsonEqual(JSON.parse(JSON.stringify(next)), JSON.parse(JSON.stringify(current)))) {
      webhooks[i] = next;
      changed = true;
    }
  }
  if (!found) {
    webhooks.push(wanted);
    changed = true;
  }
  return changed ? webhooks : undefined;
}
