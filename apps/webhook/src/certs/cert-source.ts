import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { V1Secret } from '@kubernetes/client-node';
import { ListWatch, type KubeClient, type WatchedKind } from '@eventing/kube';
import type { Logger } from '@eventing/runtime';
import { errorText } from '../kube/errors';
import {
  certificateOf,
  ensureCertificateSecret,
  unusableReason,
  type CertSecretOptions,
} from './cert-secret';
import { certificateExpiry } from './issue';

/** What the server presents, and the CA bundle the API server should trust (when this process knows it). */
export interface ServingIdentity {
  key: string;
  cert: string;
  /** Undefined when someone else manages the webhook configurations' CA bundle (cert-manager's injector). */
  caBundle: string | undefined;
  notAfter: Date | undefined;
}

/** Where the serving certificate comes from; `onChange` hears of every new one after `start`. */
export interface CertificateSource {
  start(): Promise<ServingIdentity>;
  current(): ServingIdentity;
  stop(): Promise<void> | void;
}

/**
 * Certificates kept in a Secret of the system namespace, made and renewed by the webhook itself:
 * read (or issued) on start, followed with a watch (another replica's renewal, a deleted or
 * damaged Secret), and checked every `checkIntervalMs` for expiry.
 */
export class SecretCertificateSource implements CertificateSource {
  private identity: ServingIdentity | undefined;
  private watch: ListWatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly options: CertSecretOptions & {
      kubeClient: KubeClient;
      checkIntervalMs: number;
      log: Logger;
      onChange: (identity: ServingIdentity) => void;
    },
  ) {}

  async start(): Promise<ServingIdentity> {
    await this.refresh();
    const secrets: WatchedKind = {
      group: '',
      version: 'v1',
      kind: 'Secret',
      plural: 'secrets',
      namespaced: true,
      namespace: this.options.namespace,
      fieldSelector: `metadata.name=${this.options.name}`,
    };
    this.watch = new ListWatch(
      this.options.kubeClient,
      secrets,
      (event) => this.secretChanged(event.type === 'delete' ? undefined : (event.object as V1Secret)),
      { logger: this.options.log },
    ).start();
    await this.watch.synced();
    this.timer = setInterval(() => this.queueRefresh(), this.options.checkIntervalMs);
    this.timer.unref();
    return this.current();
  }

  current(): ServingIdentity {
    if (this.identity === undefined) throw new Error('the serving certificate is not loaded yet');
    return this.identity;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.watch?.stop();
  }

  private secretChanged(secret: V1Secret | undefined): void {
    const renewBefore = new Date(Date.now() + this.options.renewBeforeDays * 86_400_000);
    const reason = unusableReason(secret, this.options.hosts, renewBefore);
    if (reason !== undefined) {
      this.options.log.warn(
        { secret: this.options.name, reason },
        'certificate Secret unusable: issuing a new one',
      );
      this.queueRefresh();
      return;
    }
    const read = certificateOf(secret!);
    this.use({ key: read.key, cert: read.cert, caBundle: read.caBundle, notAfter: read.notAfter });
  }

  /** Runs one refresh after those already queued (never two at once). */
  private queueRefresh(): void {
    this.refreshing = this.refreshing.then(() =>
      this.refresh().catch((err: unknown) =>
        this.options.log.error(
          { secret: this.options.name, error: errorText(err) },
          'certificate check failed',
        ),
      ),
    );
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    const state = await ensureCertificateSecret(this.options);
    if (state.issued)
      this.options.log.info(
        { secret: this.options.name, notAfter: state.notAfter.toISOString(), reason: state.reason },
        'serving certificate issued',
      );
    this.use({ key: state.key, cert: state.cert, caBundle: state.caBundle, notAfter: state.notAfter });
  }

  private use(next: ServingIdentity): void {
    const before = this.identity;
    if (
      before !== undefined &&
      before.cert === next.cert &&
      before.key === next.key &&
      before.caBundle === next.caBundle
    )
      return;
    this.identity = next;
    if (before !== undefined) this.options.onChange(next);
  }
}

/** Files of a mounted certificate Secret, as cert-manager writes them. */
export const TLS_CERT_FILE = 'tls.crt';
export const TLS_KEY_FILE = 'tls.key';
export const CA_FILE = 'ca.crt';

/**
 * Certificates from a mounted directory (`tls.crt`, `tls.key`, optional `ca.crt`), e.g. a
 * cert-manager Certificate's Secret: nothing is issued; the files are re-read every
 * `checkIntervalMs` and a new pair is taken once both files match.
 */
export class DirectoryCertificateSource implements CertificateSource {
  private identity: ServingIdentity | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: {
      dir: string;
      checkIntervalMs: number;
      log: Logger;
      onChange: (identity: ServingIdentity) => void;
    },
  ) {}

  async start(): Promise<ServingIdentity> {
    const first = this.read();
    if (typeof first === 'string') throw new Error(first);
    this.identity = first;
    this.timer = setInterval(() => this.poll(), this.options.checkIntervalMs);
    this.timer.unref();
    return first;
  }

  current(): ServingIdentity {
    if (this.identity === undefined) throw new Error('the serving certificate is not loaded yet');
    return this.identity;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  private poll(): void {
    const next = this.read();
    if (typeof next === 'string') {
      // A Secret volume is updated file by file: a mismatched pair is usually the moment between two.
      this.options.log.warn({ dir: this.options.dir, reason: next }, 'mounted certificate not usable yet');
      return;
    }
    const before = this.identity;
    if (before?.cert === next.cert && before.key === next.key && before.caBundle === next.caBundle) return;
    this.identity = next;
    this.options.onChange(next);
  }

  /** The identity in the directory, or why there is none. */
  private read(): ServingIdentity | string {
    const file = (name: string, optional = false): string | undefined => {
      try {
        return readFileSync(join(this.options.dir, name), 'utf8');
      } catch (err) {
        if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    };
    try {
      const cert = file(TLS_CERT_FILE)!;
      const key = file(TLS_KEY_FILE)!;
      const ca = file(CA_FILE, true);
      createSecureContext({ key, cert });
      return { key, cert, caBundle: ca || undefined, notAfter: certificateExpiry(cert) };
    } catch (err) {
      return `${this.options.dir}: ${(err as Error).message} (expected ${TLS_CERT_FILE} and ${TLS_KEY_FILE}, optionally ${CA_FILE})`;
    }
  }
}
