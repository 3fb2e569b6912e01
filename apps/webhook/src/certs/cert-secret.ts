import { createSecureContext } from 'node:tls';
import type { V1Secret } from '@kubernetes/client-node';
import {
  certificateCovers,
  certificateExpiry,
  issueServingCertificate,
  splitPemCertificates,
  type ServingCertificate,
} from './issue';

/** Keys of the certificate Secret, as upstream's webhook names them. */
export const SERVER_KEY = 'server-key.pem';
export const SERVER_CERT = 'server-cert.pem';
export const CA_CERT = 'ca-cert.pem';

/** The Secret operations the certificate keeper needs (a thin layer over CoreV1Api, real in every test). */
export interface SecretClient {
  /** The Secret, or undefined when it does not exist. */
  read(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** Creates it; rejects with a {@link ConflictError} when it exists already. */
  create(namespace: string, secret: V1Secret): Promise<V1Secret>;
  /** Replaces it at `metadata.resourceVersion`; rejects with a {@link ConflictError} when it changed meanwhile. */
  replace(namespace: string, secret: V1Secret): Promise<V1Secret>;
}

/** Another writer got there first (409): read again and decide again. */
export class ConflictError extends Error {}

export interface CertSecretOptions {
  client: SecretClient;
  namespace: string;
  name: string;
  /** Names the serving certificate must be valid for (service DNS names, and local addresses). */
  hosts: string[];
  /** Lifetime of an issued certificate. */
  validityDays: number;
  /** A certificate expiring within this many days is replaced. */
  renewBeforeDays: number;
  now?: () => Date;
}

/** The certificate in use and where it came from. */
export interface CertState extends ServingCertificate {
  notAfter: Date;
  /** resourceVersion of the Secret it was read from or written to. */
  resourceVersion: string | undefined;
  /** True when this call issued it (and wrote the Secret). */
  issued: boolean;
  /** Why the Secret's certificate was replaced, when it was. */
  reason?: string;
}

function decode(secret: V1Secret | undefined, key: string): string | undefined {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

/**
 * Why the certificate in `secret` cannot be used (missing keys, unparsable, key and certificate
 * not a pair, not valid for every host, expiring within the renewal window), or undefined when
 * it is good.
 */
export function unusableReason(
  secret: V1Secret | undefined,
  hosts: readonly string[],
  renewBefore: Date,
): string | undefined {
  if (secret === undefined) return 'the Secret does not exist';
  const key = decode(secret, SERVER_KEY);
  const cert = decode(secret, SERVER_CERT);
  const ca = decode(secret, CA_CERT);
  const missing = [
    [SERVER_KEY, key],
    [SERVER_CERT, cert],
    [CA_CERT, ca],
  ]
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length > 0) return `the Secret lacks ${missing.join(', ')}`;
  const notAfter = certificateExpiry(cert!);
  if (notAfter === undefined) return `${SERVER_CERT} is not a PEM certificate`;
  if (notAfter <= renewBefore) return `the certificate expires at ${notAfter.toISOString()}`;
  if (!certificateCovers(cert!, hosts)) return `the certificate is not valid for all of ${hosts.join(', ')}`;
  try {
    createSecureContext({ key: key!, cert: cert! });
  } catch (err) {
    return `${SERVER_KEY} and ${SERVER_CERT} are not a pair: ${(err as Error).message}`;
  }
  return undefined;
}

/** Reads the certificate of a Secret already checked with {@link unusableReason}. */
export function certificateOf(secret: V1Secret): ServingCertificate & { notAfter: Date } {
  const cert = decode(secret, SERVER_CERT)!;
  return {
    key: decode(secret, SERVER_KEY)!,
    cert,
    caBundle: decode(secret, CA_CERT)!,
    notAfter: certificateExpiry(cert)!,
  };
}

/**
 * Makes sure the Secret holds a usable serving certificate and returns it: reads it, and when it is
 * absent, incomplete, not valid for every host or expiring within `renewBeforeDays`, issues a new
 * CA and certificate and writes them (create, or replace at the read resourceVersion). A write that
 * loses to another replica's (409) reads again, so every replica ends up with the one certificate
 * that was written first. The new CA bundle keeps the previous CA while it is valid, so clients
 * still holding the old bundle keep trusting this webhook until they get the new one.
 */
export async function ensureCertificateSecret(options: CertSecretOptions): Promise<CertState> {
  const now = options.now ?? (() => new Date());
  for (let attempt = 1; ; attempt++) {
    const secret = await options.client.read(options.namespace, options.name);
    const renewBefore = new Date(now().getTime() + options.renewBeforeDays * 86_400_000);
    const reason = unusableReason(secret, options.hosts, renewBefore);
    if (reason === undefined)
      return { ...certificateOf(secret!), resourceVersion: secret!.metadata?.resourceVersion, issued: false };
    const issued = await issueServingCertificate({
      hosts: options.hosts,
      validityDays: options.validityDays,
      now: now(),
    });
    const previous = splitPemCertificates(decode(secret, CA_CERT) ?? '').filter((pem) => {
      const expiry = certificateExpiry(pem);
      return expiry !== undefined && expiry > now();
    });
    const caBundle = [issued.caBundle, ...previous.slice(0, 1)].join('');
    const data = {
      [SERVER_KEY]: Buffer.from(issued.key).toString('base64'),
      [SERVER_CERT]: Buffer.from(issued.cert).toString('base64'),
      [CA_CERT]: Buffer.from(caBundle).toString('base64'),
    };
    try {
      const written =
        secret === undefined
          ? await options.client.create(options.namespace, {
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: {
                name: options.name,
                namespace: options.namespace,
                labels: {
                  'app.kubernetes.io/name': 'knative-eventing',
                  'app.kubernetes.io/component': 'webhook',
                },
              },
              type: 'Opaque',
              data,
            })
          : await options.client.replace(options.namespace, { ...secret, data: { ...secret.data, ...data } });
      return {
        ...issued,
        caBundle,
        notAfter: certificateExpiry(issued.cert)!,
        resourceVersion: written.metadata?.resourceVersion,
        issued: true,
        reason,
      };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= 5) throw err;
    }
  }
}
