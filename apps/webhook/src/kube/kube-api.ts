import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import type { KindDefinition } from '@eventing/api';
import type { Logger } from '@eventing/runtime';
import { ConflictError, type SecretClient } from '../certs/cert-secret';
import { statusOf } from './errors';
import {
  MUTATING_WEBHOOK_NAME,
  VALIDATING_WEBHOOK_NAME,
  mutatingConfiguration,
  mutatingWebhook,
  reconcileWebhooks,
  validatingConfiguration,
  validatingWebhook,
  type WebhookTarget,
} from './registration';

/** The Secret operations of {@link SecretClient} over the Kubernetes API. */
export function kubeSecretClient(core: CoreV1Api): SecretClient {
  const conflict = (err: unknown) => {
    if (statusOf(err) === 409) throw new ConflictError(`Secret changed meanwhile: ${String(err)}`);
    throw err;
  };
  return {
    async read(namespace, name) {
      try {
        return await core.readNamespacedSecret({ namespace, name });
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    },
    create: (namespace, body) => core.createNamespacedSecret({ namespace, body }).catch(conflict),
    replace: (namespace, body) =>
      core.replaceNamespacedSecret({ namespace, name: body.metadata!.name!, body }).catch(conflict),
  };
}

export interface WebhookConfigurationsOptions {
  kinds: readonly KindDefinition[];
  caBundle: string;
  /** Where the API server calls us. Without `create`, only used for the CA bundle, rules and path. */
  target: WebhookTarget;
  /** Create the configurations when they are absent and point them at `target` (`--register`). */
  create: boolean;
  log: Logger;
}

/**
 * Brings our MutatingWebhookConfiguration and ValidatingWebhookConfiguration up to date: the CA
 * bundle, the rules derived from the kinds and the paths; created when absent with `create`. An
 * absent configuration without `create` is logged (the chart installs it) and skipped. Updates are
 * made at the read resourceVersion and retried on conflict.
 */
export async function applyWebhookConfigurations(
  admission: AdmissionregistrationV1Api,
  options: WebhookConfigurationsOptions,
): Promise<void> {
  const { kinds, caBundle, target, create, log } = options;
  const pointAt = create ? target : undefined;
  await upsert<V1MutatingWebhookConfiguration>({
    kind: 'MutatingWebhookConfiguration',
    name: MUTATING_WEBHOOK_NAME,
    read: (name) => admission.readMutatingWebhookConfiguration({ name }),
    create: create
      ? () =>
          admission.createMutatingWebhookConfiguration({
            body: mutatingConfiguration(kinds, target, caBundle),
          })
      : undefined,
    update: (current) => {
      const webhooks = reconcileWebhooks(current.webhooks, mutatingWebhook(kinds, target, caBundle), pointAt);
      return webhooks === undefined
        ? undefined
        : admission.replaceMutatingWebhookConfiguration({
            name: MUTATING_WEBHOOK_NAME,
            body: { ...current, webhooks },
          });
    },
    log,
  });
  await upsert<V1ValidatingWebhookConfiguration>({
    kind: 'ValidatingWebhookConfiguration',
    name: VALIDATING_WEBHOOK_NAME,
    read: (name) => admission.readValidatingWebhookConfiguration({ name }),
    create: create
      ? () =>
          admission.createValidatingWebhookConfiguration({
            body: validatingConfiguration(kinds, target, caBundle),
          })
      : undefined,
    update: (current) => {
      const webhooks = reconcileWebhooks(
        current.webhooks,
        validatingWebhook(kinds, target, caBundle),
        pointAt,
      );
      return webhooks === undefined
        ? undefined
        : admission.replaceValidatingWebhookConfiguration({
            name: VALIDATING_WEBHOOK_NAME,
            body: { ...current, webhooks },
          });
    },
    log,
  });
}

async function upsert<T>(step: {
  kind: string;
  name: string;
  read(name: string): Promise<T>;
  create: (() => Promise<T>) | undefined;
  update(current: T): Promise<T> | undefined;
  log: Logger;
}): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    let current: T | undefined;
    try {
      current = await step.read(step.name);
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    try {
      if (current === undefined) {
        if (step.create === undefined) {
          step.log.warn(
            { kind: step.kind, name: step.name },
            'webhook configuration not installed: install the chart, or run with --register',
          );
          return;
        }
        await step.create();
        step.log.info({ kind: step.kind, name: step.name }, 'webhook configuration created');
        return;
      }
      const updating = step.update(current);
      if (updating === undefined) return;
      await updating;
      step.log.info({ kind: step.kind, name: step.name }, 'webhook configuration updated');
      return;
    } catch (err) {
      // 409: created or changed by someone else meanwhile; read again and decide again.
      if (statusOf(err) !== 409 || attempt >= 5) throw err;
    }
  }
}

/** API clients of one kubeconfig. */
export function kubeClients(kubeConfig: KubeConfig): {
  core: CoreV1Api;
  admission: AdmissionregistrationV1Api;
} {
  return {
    core: kubeConfig.makeApiClient(CoreV1Api),
    admission: kubeConfig.makeApiClient(AdmissionregistrationV1Api),
  };
}
