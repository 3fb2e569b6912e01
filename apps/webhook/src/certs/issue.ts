import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 services through tsyringe, which needs it.
import { X509Certificate as NodeX509Certificate, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** A serving certificate, its key and the CA bundle clients verify it with (all PEM). */
export interface ServingCertificate {
  /** PKCS#8 private key of the serving certificate. */
  key: string;
  cert: string;
  /** The CA that signed `cert`, possibly followed by the previous CA while clients still trust it. */
  caBundle: string;
}

export interface IssueOptions {
  /** DNS names and IP addresses the serving certificate is valid for; the first is its common name. */
  hosts: string[];
  validityDays: number;
  now?: Date;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const ORGANIZATION = 'knative.dev';

function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f; // a positive INTEGER
  return Buffer.from(bytes).toString('hex');
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

/**
 * Issues a fresh CA (ECDSA P-256) and a serving certificate it signs for `hosts`, both valid for
 * `validityDays` (as upstream's webhook does, the CA key is not kept: a renewal makes a new CA).
 */
export async function issueServingCertificate(options: IssueOptions): Promise<ServingCertificate> {
  if (options.hosts.length === 0) throw new Error('a serving certificate needs at least one host');
  const notBefore = new Date((options.now ?? new Date()).getTime() - 60_000); // tolerate clock skew
  const notAfter = new Date(notBefore.getTime() + 60_000 + options.validityDays * 86_400_000);
  const commonName = options.hosts[0]!;
  const subject = `CN=${commonName.replace(/[,+="\\<>;#]/g, '\\$&')}, O=${ORGANIZATION}`;
  const caKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${ORGANIZATION} webhook CA ${commonName.replace(/[,+="\\<>;#]/g, '\\$&')}, O=${ORGANIZATION}`,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const names = options.hosts.map((h) =>
    isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h },
  );
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const key = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { key, cert: cert.toString('pem') + '\n', caBundle: ca.toString('pem') + '\n' };
}

/** When the (first) certificate of a PEM text stops being valid, or undefined when it does not parse. */
export function certificateExpiry(certPem: string): Date | undefined {
  try {
    return new Date(new NodeX509Certificate(certPem).validTo);
  } catch {
    return undefined;
  }
}

/** Whether `cert` is valid for every one of `hosts` (DNS names or IP addresses). */
export function certificateCovers(certPem: string, hosts: readonly string[]): boolean {
  try {
    const cert = new NodeX509Certificate(certPem);
    return hosts.every((h) => (isIP(h) ? cert.checkIP(h) !== undefined : cert.checkHost(h) !== undefined));
  } catch {
    return false;
  }
}

/** The certificates of a PEM bundle, each as its own PEM block. */
export function splitPemCertificates(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}
