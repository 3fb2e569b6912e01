import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import { createLogger } from '@eventing/runtime';
import { CA_CERT, SERVER_CERT, SERVER_KEY, unusableReason } from './cert-secret';
import { DirectoryCertificateSource, type ServingIdentity } from './cert-source';
import { certificateExpiry, issueServingCertificate, type ServingCertificate } from './issue';

const HOSTS = ['eventing-webhook.knative-eventing.svc', '127.0.0.1'];
const DAY = 86_400_000;

function secretOf(c: Partial<ServingCertificate>): V1Secret {
  const data: Record<string, string> = {};
  if (c.key) data[SERVER_KEY] = Buffer.from(c.key).toString('base64');
  if (c.cert) data[SERVER_CERT] = Buffer.from(c.cert).toString('base64');
  if (c.caBundle) data[CA_CERT] = Buffer.from(c.caBundle).toString('base64');
  return { metadata: { name: 'eventing-webhook-certs' }, data };
}

describe('issued certificates', () => {
  let good: ServingCertificate;
  let other: ServingCertificate;
  beforeAll(async () => {
    [good, other] = await Promise.all([
      issueServingCertificate({ hosts: HOSTS, validityDays: 30 }),
      issueServingCertificate({ hosts: ['elsewhere.svc'], validityDays: 30 }),
    ]);
  });

  it('are valid for the days asked', () => {
    const days = (certificateExpiry(good.cert)!.getTime() - Date.now()) / DAY;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
  });

  it('a Secret is used only when complete, a pair, valid for every host and not expiring soon', () => {
    const soon = new Date(Date.now() + 7 * DAY);
    expect(unusableReason(secretOf(good), HOSTS, soon)).toBeUndefined();
    expect(unusableReason(undefined, HOSTS, soon)).toBe('the Secret does not exist');
    expect(unusableReason(secretOf({ cert: good.cert }), HOSTS, soon)).toBe(
      `the Secret lacks ${SERVER_KEY}, ${CA_CERT}`,
    );
    expect(unusableReason(secretOf({ ...good, cert: 'garbage' }), HOSTS, soon)).toBe(
      `${SERVER_CERT} is not a PEM certificate`,
    );
    expect(unusableReason(secretOf({ ...good, key: other.key }), HOSTS, soon)).toMatch(/are not a pair/);
    expect(unusableReason(secretOf(good), [...HOSTS, 'localhost'], soon)).toMatch(/not valid for all of/);
    expect(unusableReason(secretOf(good), HOSTS, new Date(Date.now() + 31 * DAY))).toMatch(
      /^the certificate expires at/,
    );
  });

  it('from a mounted directory (cert-manager): served as found, reloaded when both files change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-certs-'));
    const changes: ServingIdentity[] = [];
    const source = new DirectoryCertificateSource({
      dir,
      checkIntervalMs: 20,
      log: createLogger({ service: 'webhook', level: 'error' }),
      onChange: (identity) => changes.push(identity),
    });
    try {
      await expect(source.start()).rejects.toThrow(/expected tls.crt and tls.key, optionally ca.crt/);
      writeFileSync(join(dir, 'tls.crt'), good.cert);
      writeFileSync(join(dir, 'tls.key'), good.key);
      const first = await source.start();
      expect(first).toMatchObject({ cert: good.cert, key: good.key, caBundle: undefined });
      // Half-written (a new certificate with the old key): not taken.
      writeFileSync(join(dir, 'tls.crt'), other.cert);
      await new Promise((r) => setTimeout(r, 100));
      expect(changes).toEqual([]);
      writeFileSync(join(dir, 'tls.key'), other.key);
      writeFileSync(join(dir, 'ca.crt'), other.caBundle);
      for (let i = 0; i < 100 && changes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(changes).toHaveLength(1);
      expect(changes[0]).toMatchObject({ cert: other.cert, key: other.key, caBundle: other.caBundle });
      expect(source.current()).toBe(changes[0]);
    } finally {
      source.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
