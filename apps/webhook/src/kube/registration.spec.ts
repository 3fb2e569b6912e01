import type { V1MutatingWebhook } from '@kubernetes/client-node';
import { allKinds } from '@eventing/api';
import {
  EXCLUDE_LABEL,
  MUTATING_WEBHOOK_NAME,
  admissionRules,
  mutatingConfiguration,
  mutatingWebhook,
  reconcileWebhooks,
  validatingConfiguration,
} from './registration';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('webhook configurations', () => {
  it('has one CREATE/UPDATE rule per registered kind, covering every served version', () => {
    const rules = admissionRules(allKinds);
    expect(rules).toHaveLength(allKinds.length);
    for (const k of allKinds)
      expect(rules).toContainEqual({
        apiGroups: [k.group],
        apiVersions: k.versions,
        resources: [k.plural],
        operations: ['CREATE', 'UPDATE'],
        scope: 'Namespaced',
      });
  });

  it('points at the Service, or at a URL for a process outside the cluster', () => {
    const svc = mutatingConfiguration(
      allKinds,
      { service: { name: 'eventing-webhook', namespace: 'knative-eventing' } },
      CA,
    );
    expect(svc.webhooks![0]!.clientConfig).toEqual({
      service: { name: 'eventing-webhook', namespace: 'knative-eventing', path: '/defaulting', port: 443 },
      caBundle: Buffer.from(CA).toString('base64'),
    });
    const local = validatingConfiguration(allKinds, { url: 'https://127.0.0.1:8443/' }, CA);
    expect(local.webhooks![0]!.clientConfig.url).toBe('https://127.0.0.1:8443/validation');
    expect(local.webhooks![0]).toMatchObject({
      sideEffects: 'None',
      failurePolicy: 'Fail',
      admissionReviewVersions: ['v1'],
    });
  });

  it('updates an installed webhook: our rules, path and CA; their Service and selector terms kept', () => {
    const installed: V1MutatingWebhook[] = [
      {
        name: MUTATING_WEBHOOK_NAME,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        clientConfig: { service: { name: 'my-webhook', namespace: 'eventing', port: 9443 } },
        namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] },
      },
      {
        name: 'someone.else',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        clientConfig: { url: 'https://x' },
      },
    ];
    const wanted = mutatingWebhook(
      allKinds,
      { service: { name: 'eventing-webhook', namespace: 'knative-eventing' } },
      CA,
    );
    const next = reconcileWebhooks(installed, wanted, undefined)!;
    expect(next[0]!.clientConfig).toEqual({
      service: { name: 'my-webhook', namespace: 'eventing', port: 9443, path: '/defaulting' },
      caBundle: Buffer.from(CA).toString('base64'),
    });
    expect(next[0]!.rules).toEqual(admissionRules(allKinds));
    expect(next[0]!.namespaceSelector!.matchExpressions).toEqual([
      { key: EXCLUDE_LABEL, operator: 'DoesNotExist' },
      { key: 'team', operator: 'In', values: ['a'] },
    ]);
    expect(next[1]).toEqual(installed[1]);
    // Applied once, nothing is left to change.
    expect(reconcileWebhooks(next, wanted, undefined)).toBeUndefined();
  });
});
